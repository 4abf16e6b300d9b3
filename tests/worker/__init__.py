"""A webhook worker in a subprocess, on the test run's database (tests/test_webhook_worker.py)."""
