from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        # Deploy checks; Celery signal receivers (task log context and durations,
        # graceful shutdown).
        from django.contrib.auth.signals import user_logged_in

        import core.observability.checks
        import core.observability.worker  # noqa: F401
        from core.i18n import remember_language_at_login
        from core.roles import sync_roles

        # Models added after the roles migration still get their permissions.
        post_migrate.connect(sync_roles, sender=self, dispatch_uid="core.sync_roles")
        user_logged_in.connect(remember_language_at_login, dispatch_uid="core.user_language")
