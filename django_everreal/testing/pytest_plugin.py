"""pytest fixtures for the fake EverReal."""

from __future__ import annotations
