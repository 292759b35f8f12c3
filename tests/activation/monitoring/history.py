"""A dataflow with a long history (runs, issues, delivery log), built in bulk.

Used by the constant-query-count test and by benchmarks/pages.py.
"""

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from activation.models import DeliveryLog, ExportRun, RunIssue


@dataclass(frozen=True)
class History:
    latest_run: ExportRun
    busy_profile_id: int


def history_create(
    *,
    dataflow,
    runs: int,
    deliveries: int,
    issues: int,
    first_profile_id: int = 1,
    profiles: int = 5_000,
) -> History:
    """`runs` hourly windows up to now, `issues` on the latest, `deliveries` spread over
    them (a fifth in the latest hour) for profile ids from `first_profile_id` on; that
    first profile gets many deliveries."""
    now_hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    rows = []
    for i in range(runs):
        received = 100 + i % 50
        excluded, failed = i % 3, 2 if i % 7 == 0 else 0
        rows.append(
            ExportRun(
                dataflow=dataflow,
                window_start=now_hour - dt.timedelta(hours=i),
                started_at=now_hour - dt.timedelta(hours=i) + dt.timedelta(seconds=3),
                processing_ms=800 + i % 900,
                profiles_received=received,
                identities_activated=received - excluded - failed,
                identities_excluded=excluded,
                identities_failed=failed,
                status="partial" if excluded or failed else "success",
            )
        )
    ExportRun.objects.bulk_create(rows, batch_size=2_000)
    latest = ExportRun.objects.get(dataflow=dataflow, window_start=now_hour)
    RunIssue.objects.bulk_create(
        [
            RunIssue(
                run=latest,
                # One issue row per profile and window (a profile counts once).
                profile_id=first_profile_id + n,
                identity=f"email:person{n}@example.com",
                kind="failed" if n % 5 == 0 else "excluded",
                error_code="InternalFailure" if n % 5 == 0 else "MissingPartitionKey",
                reason="Kinesis failed the record." if n % 5 == 0 else "No ecid identity.",
            )
            for n in range(issues)
        ],
        batch_size=5_000,
    )
    in_latest = deliveries // 5
    span = max(runs, 1) * 3600
    DeliveryLog.objects.bulk_create(
        [
            DeliveryLog(
                dataflow=dataflow,
                profile_id=first_profile_id + n % profiles,
                sent_at=(
                    now_hour + dt.timedelta(seconds=n % 3600)
                    if n < in_latest
                    else now_hour - dt.timedelta(seconds=(n * 7919) % span)
                ),
                shard_id=f"shardId-00000000000{n % 4}",
                sequence_number=f"4962{n:040d}",
                reason=("backfill", "segment", "identity", "attribute")[n % 4],
                record_id=f"rec-{n}",
            )
            for n in range(deliveries)
        ],
        batch_size=5_000,
    )
    return History(latest_run=latest, busy_profile_id=first_profile_id)
