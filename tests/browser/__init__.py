"""Helpers of the end-to-end browser test: the example site as a server, Chromium, screenshots."""

from __future__ import annotations
