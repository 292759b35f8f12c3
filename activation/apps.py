from django.apps import AppConfig


class ActivationConfig(AppConfig):
    name = "activation"
    verbose_name = "Activation and export"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from activation.export.triggers import on_connection_saved, on_profiles_changed
        from destinations.models import Connection
        from profiles.signals import profiles_changed

        profiles_changed.connect(on_profiles_changed, dispatch_uid="export_on_profiles_changed")
        post_save.connect(
            on_connection_saved, sender=Connection, dispatch_uid="export_on_connection_saved"
        )
