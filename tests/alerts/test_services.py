import pytest
from django.core import mail

from alerts.models import Alert
from alerts.services import (
    alert_dismiss,
    alert_email_send,
    alert_raise,
    alert_resolve,
    alerts_mark_read,
)
from tests.factories import ConnectionFactory, DataflowFactory, UserFactory

pytestmark = pytest.mark.django_db


def raise_error(dataflow, key="dataflow_error:1"):
    return alert_raise(
        kind="dataflow_error",
        title=f"Dataflow “{dataflow.name}” stopped",
        message="The stream was deleted.",
        dedupe_key=key,
        dataflow=dataflow,
    )


def test_it_opens_an_alert_for_the_connection_owner():
    dataflow = DataflowFactory()
    alert = raise_error(dataflow)
    assert alert is not None and alert.is_open
    assert alert.recipient == dataflow.connection.owner
    assert alert.connection == dataflow.connection and alert.dataflow == dataflow


def test_the_same_ongoing_problem_alerts_once():
    dataflow = DataflowFactory()
    first = raise_error(dataflow)
    assert raise_error(dataflow) is None
    assert raise_error(dataflow) is None
    assert Alert.objects.count() == 1
    first.refresh_from_db()
    assert first.occurrences == 3


def test_after_resolving_the_problem_can_alert_again():
    dataflow = DataflowFactory()
    first = raise_error(dataflow)
    alert_resolve(dedupe_key="dataflow_error:1")
    first.refresh_from_db()
    assert not first.is_open
    second = raise_error(dataflow)
    assert second is not None and second.pk != first.pk


def test_resolving_an_unknown_problem_does_nothing():
    alert_resolve(dedupe_key="nothing:here")
    assert not Alert.objects.exists()


def test_no_alert_when_the_connection_has_alerts_off():
    dataflow = DataflowFactory(connection__alerts_enabled=False)
    assert raise_error(dataflow) is None
    assert not Alert.objects.exists()


def test_unknown_kinds_are_refused():
    with pytest.raises(ValueError, match="unknown alert kind"):
        alert_raise(kind="oops", title="t", message="m", dedupe_key="k")


def test_the_email_is_sent_after_commit(django_capture_on_commit_callbacks, monkeypatch):
    sent = []
    monkeypatch.setattr(
        "alerts.tasks.alert_email_send_task.delay", lambda alert_id: sent.append(alert_id)
    )
    dataflow = DataflowFactory()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        alert = raise_error(dataflow)
        assert sent == []
    assert len(callbacks) == 1 and sent == [alert.pk]
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        raise_error(dataflow)
    assert callbacks == []  # a repeat of an open problem emails nobody


def test_alert_email_goes_to_the_owner_once():
    owner = UserFactory(email="owner@example.com")
    dataflow = DataflowFactory(connection=ConnectionFactory(owner=owner), name="Newsletter")
    alert = raise_error(dataflow)
    assert alert_email_send(alert_id=alert.pk) is True
    assert alert_email_send(alert_id=alert.pk) is False
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == ["owner@example.com"]
    assert email.subject == "[Streamline] Dataflow “Newsletter” stopped"
    assert "The stream was deleted." in email.body
    assert f"http://127.0.0.1:8000/dataflows/{dataflow.pk}/" in email.body


def test_no_email_without_an_address():
    owner = UserFactory(email="")
    alert = raise_error(DataflowFactory(connection=ConnectionFactory(owner=owner)))
    assert alert_email_send(alert_id=alert.pk) is False
    assert mail.outbox == []


def test_a_failed_send_can_be_retried(monkeypatch):
    alert = raise_error(DataflowFactory())

    def broken(**kwargs):
        raise OSError("SMTP server down")

    monkeypatch.setattr("alerts.services.send_mail", broken)
    with pytest.raises(OSError):
        alert_email_send(alert_id=alert.pk)
    alert.refresh_from_db()
    assert alert.emailed_at is None
    monkeypatch.undo()
    assert alert_email_send(alert_id=alert.pk) is True


def test_the_email_task_sends_it():
    from alerts.tasks import alert_email_send_task

    alert = raise_error(DataflowFactory())
    alert_email_send_task(alert.pk)
    assert len(mail.outbox) == 1


def test_dismiss_and_mark_read():
    dataflow = DataflowFactory()
    alert = raise_error(dataflow)
    owner = dataflow.connection.owner
    assert alerts_mark_read(user=owner) == 1
    alert_dismiss(alert=alert, user=owner)
    alert.refresh_from_db()
    assert alert.resolved_by == owner and alert.read_at is not None


def test_the_email_is_in_the_language_the_recipient_chose():
    from core.models import UserPreference
    from destinations.services import IMPACT, UNHEALTHY_TITLE

    owner = UserFactory(email="agnes@example.com")
    UserPreference.objects.create(user=owner, language="sv")
    connection = ConnectionFactory(owner=owner, name="Orders")
    alert = alert_raise(
        kind="connection_unhealthy",
        title=UNHEALTHY_TITLE(name="Orders", headline="Kinesis cannot be reached"),
        message=IMPACT(count=2),
        dedupe_key="connection_unhealthy:x",
        connection=connection,
    )
    assert alert.title == "Connection “Orders” is unhealthy: Kinesis cannot be reached"
    assert alert_email_send(alert_id=alert.pk) is True
    email = mail.outbox[0]
    assert email.subject == "[Streamline] Anslutningen ”Orders” fungerar inte: Kinesis kan inte nås"
    assert "2 aktiva dataflöden kan inte leverera fram till dess" in email.body
    assert "Öppna den i Streamline: http://127.0.0.1:8000/alerts/" in email.body
