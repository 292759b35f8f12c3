"""Writes for connections and connect-wizard drafts.

Every function that talks to AWS does it through destinations.kinesis.aws
and lets its KinesisError reach the caller, whose message is shown as is.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils import timezone
from django.utils.translation import gettext

from core import crypto
from core.service_errors import ServiceError
from core.stored_text import StoredText
from destinations.kinesis import aws as kinesis
from destinations.kinesis.permissions import CheckReport, record_test_write, run_permission_check
from destinations.kinesis.problems import Problem, problem_of
from destinations.models import AuthMethod, Connection, ConnectionDraft, Health
from destinations.selectors import connection_draft_latest

logger = logging.getLogger(__name__)

DRAFT_LIFETIME = dt.timedelta(hours=24)
TEST_RECORD_PARTITION_KEY = "streamline-test-record"


# A failing connection's health message and alert: stored in English, shown translated
# (core.stored_text).
CHECK_FAILED = StoredText("the permission check “%(label)s” failed")
CHECK_TODO = StoredText("Needs you: %(detail)s %(fix)s")
CHECK_TODO_NO_FIX = StoredText("Needs you: %(detail)s")
IMPACT = StoredText.ngettext(
    "%(count)s active dataflow cannot deliver until then; nothing is lost.",
    "%(count)s active dataflows cannot deliver until then; nothing is lost.",
)
NO_IMPACT = StoredText("No active dataflow uses this connection.")
UNHEALTHY_TITLE = StoredText("Connection “%(name)s” is unhealthy: %(headline)s")


class ConnectionInUse(ServiceError):  # noqa: N818 - reads as a sentence at the call site
    """The connection still feeds dataflows, so it cannot be deleted."""

    code = "conflict"

    def __init__(self, connection: Connection, dataflow_names: list[str]) -> None:
        self.dataflow_names = dataflow_names
        count = len(dataflow_names)
        listed = ", ".join(f"“{name}”" for name in dataflow_names[:5])
        if count > 5:
            listed = gettext("%(names)s and %(count)s more") % {"names": listed, "count": count - 5}
        super().__init__(
            gettext(
                "“%(name)s” cannot be deleted: %(count)s dataflow(s) send to it (%(names)s). "
                "Delete those dataflows first, then delete the destination."
            )
            % {"name": connection.name, "count": count, "names": listed}
        )


@dataclass(frozen=True)
class CredentialInput:
    """What the marketer typed in step 1 (or when rotating credentials)."""

    auth_method: str
    region: str
    access_key_id: str = ""
    secret_access_key: str = ""
    role_arn: str = ""
    external_id: str = ""

    def __repr__(self) -> str:  # the secret never reaches a log line or traceback
        return (
            f"CredentialInput(auth_method={self.auth_method!r}, region={self.region!r}, "
            f"access_key_id={kinesis.mask_key_id(self.access_key_id)!r})"
        )

    def aws(self) -> kinesis.AwsCredentials:
        role = self.auth_method == AuthMethod.IAM_ROLE
        return kinesis.AwsCredentials(
            region=self.region,
            access_key_id=self.access_key_id,
            secret_access_key=self.secret_access_key,
            role_arn=self.role_arn if role else "",
            external_id=self.external_id if role else "",
        )


def new_external_id() -> str:
    """An unguessable external id for a role's trust policy (confused-deputy guard)."""
    return f"streamline-{secrets.token_hex(12)}"


def _apply_credentials(target: Any, credentials: CredentialInput) -> None:
    role = credentials.auth_method == AuthMethod.IAM_ROLE
    target.auth_method = credentials.auth_method
    target.region = credentials.region
    target.access_key_id = credentials.access_key_id
    target.set_secret(credentials.secret_access_key)
    target.secret_updated_at = timezone.now() if credentials.secret_access_key else None
    target.role_arn = credentials.role_arn if role else ""
    target.external_id = credentials.external_id if role else ""


def connection_draft_current(*, owner: Any) -> ConnectionDraft:
    """The owner's wizard in progress, started when missing (one per user).

    Its external id is generated once, here, and kept until the draft is saved
    or discarded: a role's trust policy written with it keeps working after a
    reload or when the wizard is resumed later.
    """
    draft = connection_draft_latest(owner=owner)
    if draft is None:
        draft = ConnectionDraft.objects.create(owner=owner, external_id=new_external_id())
    elif not draft.external_id:
        draft.external_id = new_external_id()
        draft.save(update_fields=["external_id", "updated_at"])
    return draft


@dataclass(frozen=True)
class Verified:
    draft: ConnectionDraft
    # Which optional lookup could not run (e.g. STS on a Kinesis-only endpoint), "" if none.
    note: str = ""


def connection_draft_verify(
    *, owner: Any, credentials: CredentialInput, draft: ConnectionDraft | None = None
) -> Verified:
    """Step 1: verify live (AssumeRole, then ListStreams), then keep the credentials in a draft.

    The wizard passes its `draft`, whose external id is used whatever was posted
    (it is fixed once generated). The account id comes from STS, or from the
    streams' ARNs where STS is not available. Raises KinesisError (with the
    message to show) when AWS refuses ListStreams; nothing is saved then.
    """
    kept_external_id = draft.external_id if draft is not None else ""
    if kept_external_id and credentials.auth_method == AuthMethod.IAM_ROLE:
        credentials = replace(credentials, external_id=kept_external_id)
    aws = credentials.aws()
    listing = kinesis.verify(aws)
    account = kinesis.account_lookup(aws, listing.arns.values())
    draft = draft or ConnectionDraft(owner=owner)
    _apply_credentials(draft, credentials)
    draft.external_id = kept_external_id or draft.external_id
    draft.stream_names = sorted(listing.names)
    draft.aws_account_id = account.account_id
    draft.verified_at = timezone.now()
    with transaction.atomic():
        draft.save()
        # One wizard in progress per user: fewer stored copies of secrets.
        ConnectionDraft.objects.filter(owner=owner).exclude(pk=draft.pk).delete()
    return Verified(draft=draft, note=account.note)


def connection_draft_discard(*, draft: ConnectionDraft) -> None:
    """Drop an unfinished connection (and the secret it holds)."""
    draft.delete()


def connection_draft_refresh_streams(*, draft: ConnectionDraft) -> list[str]:
    """List the draft's streams again (a stream was created meanwhile)."""
    draft.stream_names = sorted(kinesis.list_streams(kinesis.credentials_for(draft)))
    draft.save(update_fields=["stream_names", "updated_at"])
    return draft.stream_names


@transaction.atomic
def refused_field(exc: kinesis.KinesisError) -> str | None:
    """The credential input an AWS refusal is about (form field names), so the UI puts
    the message next to it and the API names it; None: no one input."""
    if isinstance(exc, kinesis.BadCredentials):
        return {"unknown_key": "access_key_id", "wrong_secret": "secret_access_key"}.get(exc.kind)
    if isinstance(exc, kinesis.InvalidRegion):
        return "region"
    if isinstance(exc, kinesis.AccessDenied) and exc.action == "sts:AssumeRole":
        return "role_arn"
    return None


def _name_taken() -> ServiceError:
    return ServiceError(
        gettext("You already have a destination with this name."), field="name", code="conflict"
    )


def connection_create(*, owner: Any, credentials: CredentialInput, **details: Any) -> Connection:
    """A connection in one call (the REST API): verify the credentials live, save the
    connection with `details` (as `connection_create_from_draft` takes them), then run
    its permission check.

    It passes through a draft as the wizard does, so the secret is kept exactly as
    the wizard keeps it. Raises KinesisError when AWS refuses (nothing is saved) and
    a ServiceError on `name` when the name is taken.
    """
    draft = connection_draft_verify(owner=owner, credentials=credentials).draft
    connection = connection_create_from_draft(draft=draft, **details)
    connection_run_check(connection=connection)
    return connection


def connection_create_from_draft(
    *,
    draft: ConnectionDraft,
    name: str,
    description: str,
    stream_name: str,
    include_segment_names: bool,
    include_segment_timestamps: bool,
    alerts_enabled: bool,
    marketing_actions: Iterable[Any] | None = None,
) -> Connection:
    """Step 2: the draft becomes a Connection (the secret moves as ciphertext).

    `marketing_actions`: what its data is used for (None: the default, export to third
    party). Raises a ServiceError on `name` when the owner already has that name.
    """
    try:
        with transaction.atomic():
            connection = Connection.objects.create(
                owner=draft.owner,
                destination_type=draft.destination_type,
                name=name,
                description=description,
                stream_name=stream_name,
                include_segment_names=include_segment_names,
                include_segment_timestamps=include_segment_timestamps,
                alerts_enabled=alerts_enabled,
                auth_method=draft.auth_method,
                access_key_id=draft.access_key_id,
                secret_access_key_encrypted=draft.secret_access_key_encrypted,
                secret_updated_at=draft.secret_updated_at,
                role_arn=draft.role_arn,
                external_id=draft.external_id if draft.uses_role else "",
                region=draft.region,
                aws_account_id=draft.aws_account_id,
                # Browser Back to the finished wizard's address finds the connection.
                created_from_draft=draft.pk,
            )
    except IntegrityError as exc:
        raise _name_taken() from exc
    if marketing_actions is None:
        from governance.services import connection_default_marketing_actions

        connection_default_marketing_actions(connection)
    else:
        connection.marketing_actions.set(marketing_actions)
    draft.delete()
    return connection


def connection_run_check(*, connection: Connection) -> CheckReport:
    """Run the permission check, store the report and set the connection's health."""
    report = run_permission_check(kinesis.credentials_for(connection), connection.stream_name)
    failure = report.first_failure
    connection.check_report = report.as_dict()
    connection.aws_account_id = report.account_id or connection.aws_account_id
    connection.save(update_fields=["check_report", "aws_account_id", "updated_at"])
    if failure is None:
        _health_record(connection, None)
    else:
        _health_record(
            connection,
            Problem(
                headline=CHECK_FAILED(label=failure.label),
                todo=(
                    CHECK_TODO(detail=failure.detail, fix=failure.fix)
                    if failure.fix
                    else CHECK_TODO_NO_FIX(detail=failure.detail)
                ),
                action_needed=True,
                connection_fault=True,
            ),
        )
    return report


def connection_set_health(*, connection: Connection, error: kinesis.KinesisError | None) -> None:
    """Record what talking to the stream proved (an export, the scheduled check).

    A problem of the connection itself (credentials, permissions, the stream, its
    key) marks it Failing with that reason and raises one "connection unhealthy"
    alert; success marks it Healthy, resolves the alert and retries its failed
    dataflows. Other errors (throttling, an unreachable endpoint) prove nothing
    about the connection and change nothing.
    """
    if error is None:
        _health_record(connection, None)
        return
    problem = problem_of(error, stream=connection.stream_name)
    if problem.connection_fault:
        _health_record(connection, problem)


def _health_record(connection: Connection, problem: Problem | None) -> None:
    from activation.export.services import dataflows_retry_for_connection
    from alerts.services import alert_resolve, connection_unhealthy_key

    was_failing = connection.health == Health.FAILING
    connection.health = Health.OK if problem is None else Health.FAILING
    connection.health_message = "" if problem is None else problem.sentence
    connection.health_checked_at = timezone.now()
    Connection.objects.filter(pk=connection.pk).update(
        health=connection.health,
        health_message=connection.health_message,
        health_checked_at=connection.health_checked_at,
    )
    if problem is not None:
        connection_unhealthy_alert(connection, problem)
        return
    alert_resolve(dedupe_key=connection_unhealthy_key(connection.pk))
    if was_failing:
        # Usable again: its failed dataflows need not wait for their backoff.
        dataflows_retry_for_connection(connection_id=connection.pk)


def connection_unhealthy_alert(connection: Connection, problem: Problem) -> None:
    """The one alert of a failing connection (a repeat only counts an occurrence)."""
    from alerts.models import AlertKind
    from alerts.services import alert_raise, connection_unhealthy_key

    affected = connection.dataflows.runnable().count()
    impact = IMPACT(count=affected) if affected else NO_IMPACT()
    alert_raise(
        kind=AlertKind.CONNECTION_UNHEALTHY,
        title=UNHEALTHY_TITLE(name=connection.name, headline=problem.headline),
        message=f"{problem.todo} {impact}",  # two sentences: translated one by one
        dedupe_key=connection_unhealthy_key(connection.pk),
        connection=connection,
    )


def test_record_payload(connection: Connection, *, sent_at: dt.datetime, call: str) -> bytes:
    """The clearly marked test record: consumers can recognise and drop it."""
    import json

    return json.dumps(
        {
            "streamlineTestRecord": True,
            "message": "Test record sent from Streamline; not a profile. Safe to ignore.",
            "destination": connection.name,
            "call": call,
            "sentAt": sent_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
    ).encode()


@dataclass(frozen=True)
class TestWrite:
    """One write of the test: the action it exercised and where the record landed, or why not."""

    __test__ = False  # not a pytest class, whatever its name

    action: str
    shard_id: str = ""
    sequence_number: str = ""
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error


def _test_write(action: str, write: Any) -> TestWrite:
    try:
        shard_id, sequence_number, error = write()
    except kinesis.KinesisError as exc:
        return TestWrite(action=action, error=exc.message)
    return TestWrite(action, shard_id or "", sequence_number or "", error)


def connection_send_test_record(*, connection: Connection) -> list[TestWrite]:
    """Write one marked test record with PutRecord and one with PutRecords (what exports use).

    Only ever on the user's explicit request. Each write that lands proves its
    permission on this stream, and the stored check says so.
    """
    creds = kinesis.credentials_for(connection)
    now = timezone.now()
    stream, key = connection.stream_name, TEST_RECORD_PARTITION_KEY

    def put_record() -> tuple[str, str, str]:
        data = test_record_payload(connection, sent_at=now, call="PutRecord")
        result = kinesis.put_record(creds, stream, data, key)
        return result.shard_id, result.sequence_number, ""

    def put_records() -> tuple[str, str, str]:
        data = test_record_payload(connection, sent_at=now, call="PutRecords")
        [entry] = kinesis.put_records(creds, stream, [(data, key)])
        refused = gettext("Kinesis refused the record: %(code)s: %(message)s") % {
            "code": entry.error_code,
            "message": entry.error_message,
        }
        return entry.shard_id or "", entry.sequence_number or "", "" if entry.ok else refused

    writes = [
        _test_write("kinesis:PutRecord", put_record),
        _test_write("kinesis:PutRecords", put_records),
    ]
    report = CheckReport.from_dict(connection.check_report)
    proven = [write.action for write in writes if write.ok]
    if report is not None and proven:
        record_test_write(report, proven)
        connection.check_report = report.as_dict()
        connection.save(update_fields=["check_report", "updated_at"])
    return writes


def connection_update(
    *,
    connection: Connection,
    name: str,
    description: str,
    include_segment_names: bool,
    include_segment_timestamps: bool,
    alerts_enabled: bool,
    credentials: CredentialInput | None = None,
    marketing_actions: Iterable[Any] | None = None,
) -> bool:
    """Save an edit; new credentials are verified live first. True when they changed.

    Raises KinesisError (nothing saved) when AWS refuses the new credentials, and a
    ServiceError on `name` when the name is taken.
    """
    if credentials is not None:
        kinesis.verify(credentials.aws())
        _apply_credentials(connection, credentials)
        connection.health = Health.UNKNOWN
        connection.health_message = ""
        connection.check_report = {}
    connection.name = name
    connection.description = description
    connection.include_segment_names = include_segment_names
    connection.include_segment_timestamps = include_segment_timestamps
    connection.alerts_enabled = alerts_enabled
    try:
        with transaction.atomic():
            connection.save()
    except IntegrityError as exc:  # the form checked the name; another save took it meanwhile
        raise _name_taken() from exc
    if marketing_actions is not None:
        # Live dataflows are re-evaluated against the new actions (governance/signals.py).
        connection.marketing_actions.set(marketing_actions)
    return credentials is not None


@transaction.atomic
def connection_delete(*, connection: Connection) -> None:
    """Delete a connection no dataflow uses; raises ConnectionInUse otherwise.

    Unfinished activation drafts don't count as use: they are discarded with it.
    """
    from activation.services import dataflow_drafts_discard_for_connection

    # Edit copies count: one may point here while its live dataflow uses another.
    in_use = connection.dataflows.live() | connection.dataflows.edit_copies()
    names = list(in_use.order_by("name").values_list("name", flat=True))
    if names:
        raise ConnectionInUse(connection, names)
    dataflow_drafts_discard_for_connection(connection=connection)
    try:
        connection.delete()
    except ProtectedError as exc:  # a dataflow was created meanwhile
        raise ConnectionInUse(connection, [str(obj) for obj in exc.protected_objects]) from exc


def connection_drafts_purge(*, owner: Any = None, older_than: dt.timedelta = DRAFT_LIFETIME) -> int:
    """Delete abandoned wizard drafts (and the secrets they hold)."""
    drafts = ConnectionDraft.objects.filter(updated_at__lt=timezone.now() - older_than)
    if owner is not None:
        drafts = drafts.filter(owner=owner)
    deleted, _ = drafts.delete()
    return deleted


def secrets_reencrypt() -> int:
    """Re-encrypt every stored secret under the first FIELD_ENCRYPTION_KEY; returns the count."""
    count = 0
    for model in (Connection, ConnectionDraft):
        with transaction.atomic():
            rows = model.objects.select_for_update().exclude(secret_access_key_encrypted="")
            for pk, ciphertext in rows.values_list("pk", "secret_access_key_encrypted"):
                model.objects.filter(pk=pk).update(
                    secret_access_key_encrypted=crypto.reencrypt(ciphertext)
                )
                count += 1
    kinesis.clear_client_cache()
    return count
