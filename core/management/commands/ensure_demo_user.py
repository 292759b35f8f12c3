from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-kinesis-2026"


class Command(BaseCommand):
    help = "Create (or reset) the local demo login. Refused outside the local setup."

    def handle(self, *args: object, **options: object) -> None:
        if not getattr(settings, "DEMO_USER_ALLOWED", False):
            raise CommandError("The demo user exists only in the local setup.")
        user_model = get_user_model()
        user, _ = user_model.objects.get_or_create(
            username=DEMO_USERNAME, defaults={"email": "demo@example.com"}
        )
        user.is_staff = True
        user.is_superuser = True
        # A new hash (new salt) would log every open browser out on each `make run`.
        if not user.check_password(DEMO_PASSWORD):
            user.set_password(DEMO_PASSWORD)
        user.save()
        self.stdout.write(f"Demo login: {DEMO_USERNAME} / {DEMO_PASSWORD}")
