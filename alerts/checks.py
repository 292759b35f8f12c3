"""Scheduled checks that raise and resolve alerts.

- every 15 minutes: each connection's stream (DescribeStreamSummary with the
  stored credentials) — revoked keys, a deleted stream, a disabled KMS key;
- every 5 minutes: excluded rate above 1 % in a run window, and dataflows in
  Error without an open alert (or alerts whose dataflow recovered);
- daily: access keys older than 90 days.
"""

import datetime as dt
import logging

from django.db.models import Count, Q
from django.utils import timezone

from activation.models import Dataflow, DataflowStatus, ExportRun, RunIssue
from activation.monitoring.selectors import EXCLUDED_RATE_THRESHOLD
from alerts.models import Alert, AlertKind
from alerts.services import (
    access_key_age_key,
    alert_raise,
    alert_resolve,
    dataflow_error_key,
    excluded_rate_key,
)
from core.stored_text import StoredText
from destinations.models import AuthMethod, Connection, Health

logger = logging.getLogger(__name__)

ACCESS_KEY_MAX_AGE = dt.timedelta(days=90)
# Run windows looked at by the excluded-rate check: the current and the last hour.
EXCLUDED_RATE_LOOKBACK = dt.timedelta(hours=2)
STREAM_USABLE = ("ACTIVE", "UPDATING")

# Alert texts: stored in English, shown in the reader's language (core.stored_text).
KEY_AGE_TITLE = StoredText("Access key of “%(name)s” is %(days)s days old")
KEY_AGE_MESSAGE = StoredText(
    "The access key %(key)s was last set on %(date)s. AWS recommends rotating access keys "
    "every 90 days: create a new key for the IAM user, enter it in the connection's "
    "settings, then deactivate the old key. Or switch the connection to an IAM role."
)
EXCLUDED_TITLE = StoredText("“%(name)s” excluded %(percent)s%% of profiles")
EXCLUDED_MESSAGE = StoredText(
    "In the run window %(window)s UTC, %(excluded)s of %(received)s profiles were "
    "excluded (more than 1 %%).%(why)s Open the run to see each profile and reason."
)
MOST_COMMON_REASON = StoredText(" Most common reason: %(reason)s")
CANNOT_DELIVER = StoredText("Dataflow “%(name)s” cannot deliver")
STOPPED_EXPORTING = StoredText("The dataflow stopped exporting.")


# --- connection health --------------------------------------------------------------


def connections_to_check() -> list[int]:
    return list(Connection.objects.order_by("pk").values_list("pk", flat=True))


def connection_health_check(*, connection_id: int) -> str:
    """Describe the connection's stream and record what it proves (health, its alert,
    and on recovery a retry of its failed dataflows: `connection_set_health`).

    Returns the resulting health. A transient error (throttling, a timeout)
    says nothing about the credentials or the stream, so it changes nothing.
    """
    from destinations.kinesis import aws as kinesis
    from destinations.services import connection_set_health

    connection = Connection.objects.select_related("owner").filter(pk=connection_id).first()
    if connection is None:
        return Health.UNKNOWN
    try:
        summary = kinesis.describe_stream_summary(
            kinesis.credentials_for(connection), connection.stream_name
        )
    except kinesis.KinesisError as error:
        if not error.permanent:
            logger.info("health check of connection %s inconclusive: %s", connection_id, error.code)
            return connection.health
        connection_set_health(connection=connection, error=error)
        return connection.health
    if summary.status not in STREAM_USABLE:
        problem = kinesis.KinesisError(
            f"The stream {connection.stream_name} is {summary.status}, not ACTIVE: records "
            "cannot be written to it.",
            code=f"Stream{summary.status.capitalize()}",
        )
        connection_set_health(connection=connection, error=problem)
        return connection.health
    connection_set_health(connection=connection, error=None)
    return Health.OK


# --- access keys --------------------------------------------------------------------------


def access_keys_age_check(*, now: dt.datetime | None = None) -> int:
    """Alert on access keys older than 90 days (resolve once rotated); returns how many."""
    now = now or timezone.now()
    old = 0
    connections = Connection.objects.filter(auth_method=AuthMethod.ACCESS_KEYS).exclude(
        access_key_id=""
    )
    for connection in connections.select_related("owner"):
        since = connection.secret_updated_at or connection.created_at
        age = now - since
        key = access_key_age_key(connection.pk)
        if age <= ACCESS_KEY_MAX_AGE:
            alert_resolve(dedupe_key=key)
            continue
        old += 1
        alert_raise(
            kind=AlertKind.ACCESS_KEY_AGE,
            title=KEY_AGE_TITLE(name=connection.name, days=age.days),
            message=KEY_AGE_MESSAGE(key=connection.masked_access_key_id, date=f"{since:%Y-%m-%d}"),
            dedupe_key=key,
            connection=connection,
        )
    return old


# --- runs and dataflows ------------------------------------------------------------------


def runs_excluded_rate_check(*, now: dt.datetime | None = None) -> int:
    """Alert when a recent run window excluded more than 1 % of the profiles it received.

    The newest window with data decides: above the threshold raises (once per
    ongoing problem), at or below it resolves.
    """
    now = now or timezone.now()
    since = now.replace(minute=0, second=0, microsecond=0) - EXCLUDED_RATE_LOOKBACK
    dataflows = {d.pk: d for d in Dataflow.objects.runnable().select_related("connection")}
    runs = ExportRun.objects.filter(
        dataflow_id__in=list(dataflows), window_start__gte=since, profiles_received__gt=0
    ).order_by("dataflow_id", "-window_start")
    latest: dict[int, ExportRun] = {}
    for run in runs:
        latest.setdefault(run.dataflow_id, run)
    raised = 0
    for dataflow_id, run in latest.items():
        key = excluded_rate_key(dataflow_id)
        rate = run.identities_excluded / run.profiles_received
        if rate <= EXCLUDED_RATE_THRESHOLD:
            alert_resolve(dedupe_key=key)
            continue
        raised += 1
        dataflow = dataflows[dataflow_id]
        top = (
            RunIssue.objects.filter(run=run, kind="excluded")
            .values("reason")
            .annotate(profiles=Count("id"))
            .order_by("-profiles")
            .values_list("reason", flat=True)
            .first()
        )
        why = MOST_COMMON_REASON(reason=top) if top else ""
        alert_raise(
            kind=AlertKind.EXCLUDED_RATE,
            title=EXCLUDED_TITLE(name=dataflow.name, percent=f"{rate * 100:.1f}"),
            message=EXCLUDED_MESSAGE(
                window=f"{run.window_start:%Y-%m-%d %H:00}",
                excluded=run.identities_excluded,
                received=run.profiles_received,
                why=why,
            ),
            dedupe_key=key,
            dataflow=dataflow,
        )
    return raised


def dataflows_error_reconcile() -> None:
    """Alert for dataflows in Error that have no open alert (e.g. set in admin), and
    resolve dataflow alerts whose dataflow is running cleanly again."""
    open_keys = set(
        Alert.objects.filter(kind=AlertKind.DATAFLOW_ERROR, resolved_at__isnull=True).values_list(
            "dedupe_key", flat=True
        )
    )
    in_error = (
        Dataflow.objects.live().filter(status=DataflowStatus.ERROR).select_related("connection")
    )
    # A failing connection has its own alert: one alert per cause, not one per dataflow.
    for dataflow in in_error.exclude(connection__health=Health.FAILING):
        if dataflow_error_key(dataflow.pk) in open_keys:
            continue
        alert_raise(
            kind=AlertKind.DATAFLOW_ERROR,
            title=CANNOT_DELIVER(name=dataflow.name),
            message=dataflow.status_message or STOPPED_EXPORTING(),
            dedupe_key=dataflow_error_key(dataflow.pk),
            dataflow=dataflow,
        )
    recovered = Alert.objects.filter(
        kind=AlertKind.DATAFLOW_ERROR, resolved_at__isnull=True, dataflow__isnull=False
    ).exclude(Q(dataflow__status=DataflowStatus.ERROR) | Q(dataflow__failure_count__gt=0))
    for key in list(recovered.values_list("dedupe_key", flat=True)):
        alert_resolve(dedupe_key=key)
