from __future__ import annotations

from django.apps import AppConfig


class ExampleConfig(AppConfig):
    name = "example"

    def ready(self) -> None:
        # Connects the example's EverReal webhook handlers.
        from example import webhook_handlers  # noqa: F401
