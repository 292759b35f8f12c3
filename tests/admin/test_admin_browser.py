"""Django admin pages we customised work in a real browser under the CSP."""

import pytest
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def watch(page, problems):
    """Collect script errors (CSP refusals included) and failed page resources.

    Chromium's own /favicon.ico probe (the admin declares no icon) is no page resource.
    """
    page.on(
        "console",
        lambda m: (
            problems.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on(
        "response",
        lambda r: (
            problems.append(r.url)
            if r.status >= 400 and not r.url.endswith("/favicon.ico")
            else None
        ),
    )


def log_in(page, live_server, user):
    page.goto(f"{live_server.url}/login/?next=/admin/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/admin/")


def test_the_periodic_task_form_translates_crontabs_without_inline_script(
    page, live_server, admin_user
):
    crontab = CrontabSchedule.objects.create(minute="0", hour="4")
    task = PeriodicTask.objects.create(
        name="Nightly", task="core.tasks.expired_sessions_clear_task", crontab=crontab
    )
    problems = []
    watch(page, problems)
    log_in(page, live_server, admin_user)
    page.goto(f"{live_server.url}/admin/django_celery_beat/periodictask/{task.pk}/change/")
    page.select_option("#id_crontab", str(crontab.pk))
    page.locator(".field-crontab .help", has_text="Translation:").wait_for()
    assert not problems, problems


def test_rotating_a_secret_in_the_admin_page(page, live_server, admin_user):
    from tests.factories import ConnectionFactory

    connection = ConnectionFactory(name="Orders")
    problems = []
    watch(page, problems)
    log_in(page, live_server, admin_user)
    page.goto(f"{live_server.url}/admin/destinations/connection/{connection.pk}/change/")
    page.get_by_role("link", name="Rotate secret").click()
    page.get_by_role("button", name="Verify and save").click()
    page.get_by_text("Enter the new secret access key.").wait_for()
    assert page.locator("#id_secret_access_key").input_value() == ""
    assert not problems, problems
