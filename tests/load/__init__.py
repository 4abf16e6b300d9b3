"""The concurrent-login load test's helpers: users, the site under gunicorn, the clients."""
