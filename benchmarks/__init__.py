"""Benchmarks of django-everreal; run them with ``python3 dev.py bench``."""
