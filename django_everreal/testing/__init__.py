"""A faithful fake of EverReal for tests and demos."""

from __future__ import annotations
