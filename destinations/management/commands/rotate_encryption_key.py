"""Re-encrypt every stored secret under the first key of FIELD_ENCRYPTION_KEY.

Rotation: put the new key first (FIELD_ENCRYPTION_KEY=new,old), restart,
run this command, then drop the old key.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from core.crypto import DecryptionError
from destinations.services import secrets_reencrypt


class Command(BaseCommand):
    help = "Re-encrypt all stored secrets under the first FIELD_ENCRYPTION_KEY key."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            count = secrets_reencrypt()
        except DecryptionError as exc:
            raise CommandError(
                f"{exc}. Keep the old key in FIELD_ENCRYPTION_KEY (after the new one) until "
                "this command has finished. Nothing was changed for the table that failed."
            ) from exc
        self.stdout.write(
            self.style.SUCCESS(f"Re-encrypted {count} secret(s) under the first key.")
        )
