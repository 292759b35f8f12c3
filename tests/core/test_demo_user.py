"""`ensure_demo_user`: the printed login works, and restarting `make run` keeps sessions."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import override_settings

from core.management.commands.ensure_demo_user import DEMO_PASSWORD, DEMO_USERNAME

pytestmark = pytest.mark.django_db


def ensure() -> None:
    with override_settings(DEMO_USER_ALLOWED=True):
        call_command("ensure_demo_user", stdout=StringIO())


def test_it_creates_the_printed_login() -> None:
    ensure()
    user = get_user_model().objects.get(username=DEMO_USERNAME)
    assert user.check_password(DEMO_PASSWORD) and user.is_superuser and user.is_staff


def test_a_second_run_keeps_the_hash_so_open_sessions_stay_logged_in() -> None:
    ensure()
    first = get_user_model().objects.get(username=DEMO_USERNAME).password
    ensure()
    assert get_user_model().objects.get(username=DEMO_USERNAME).password == first


def test_it_resets_a_changed_password() -> None:
    ensure()
    user = get_user_model().objects.get(username=DEMO_USERNAME)
    user.set_password("something-else")
    user.save()
    ensure()
    assert get_user_model().objects.get(username=DEMO_USERNAME).check_password(DEMO_PASSWORD)
