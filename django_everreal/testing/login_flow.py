"""Deprecated module name: the login with Django's test client is ``django_everreal.testing.django_login``.

Kept because integrators' tests import ``EverRealLogin`` from here.
"""

from __future__ import annotations

from django_everreal.testing.django_login import EverRealLogin

__all__ = ["EverRealLogin"]
