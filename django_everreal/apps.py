from __future__ import annotations

from django.apps import AppConfig
from django.core import checks
from django.utils.translation import gettext_lazy as _


class EverRealConfig(AppConfig):
    name = "django_everreal"
    label = "everreal"
    verbose_name = _("EverReal")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django_everreal import checks as everreal_checks
        from django_everreal import receivers  # noqa: F401
        from django_everreal.redaction import install_log_redaction

        checks.register(everreal_checks.check_settings)
        # Tagged as Django's own: it queries only when a command passes databases.
        checks.register(everreal_checks.check_registry, checks.Tags.database)
        install_log_redaction()
