"""Log Django users in with EverReal and call EverReal's API on their behalf."""

from __future__ import annotations

__version__ = "0.1.0.dev0"
