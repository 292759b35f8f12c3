"""The run lock: two runs of one dataflow never overlap.

A run claims the dataflow with one conditional UPDATE (free, or its lease
expired) that writes a fresh owner token, the healthchecks "atomic claim"
pattern: if no row changed, another worker holds it. The owner renews the
lease while it works and every write of progress is conditional on the
token, so a run whose lease lapsed (a stalled or killed worker) can never
move the cursor after another run took over. A killed worker's lease simply
expires and the safety tick starts a new run.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from activation.models import Dataflow

_RELEASE = (
    f"UPDATE {Dataflow._meta.db_table} SET lock_token = '', locked_until = NULL "
    "WHERE id = %s AND lock_token = %s RETURNING run_scheduled_for IS NOT NULL"
)


class LockLost(Exception):  # noqa: N818 - a condition, named as such
    """Another run took this dataflow over (our lease expired)."""


def lease() -> dt.timedelta:
    return dt.timedelta(seconds=settings.EXPORT_LOCK_LEASE_S)


def lock_claim(dataflow_id: int) -> str | None:
    """Take the run lock of a dataflow that may run now (runnable, its retry due); the
    owner token, or None when it is held or the dataflow may not run."""
    token = uuid.uuid4().hex
    now = timezone.now()
    claimed = (
        Dataflow.objects.runnable()
        .filter(pk=dataflow_id)
        .filter(Q(retry_at__isnull=True) | Q(retry_at__lte=now))
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .update(
            lock_token=token,
            locked_until=now + lease(),
            last_run_at=now,
            # Changes committed from now on need a new run: let them schedule one.
            run_scheduled_for=None,
        )
    )
    return token if claimed else None


def lock_release(dataflow_id: int, token: str) -> bool:
    """Give the lock back; True when changes asked for a run meanwhile (a trigger set
    `run_scheduled_for` while this run held the lock), in the same statement."""
    with connection.cursor() as cursor:
        cursor.execute(_RELEASE, [dataflow_id, token])
        row = cursor.fetchone()
    return bool(row and row[0])


@dataclass
class Lease:
    """A held lock, renewed at most every quarter lease while the run works."""

    dataflow_id: int
    token: str
    renewed_at: float = field(default_factory=time.monotonic)

    def keep(self) -> None:
        """Renew when due; raise LockLost when another run owns the dataflow."""
        if time.monotonic() - self.renewed_at < settings.EXPORT_LOCK_LEASE_S / 4:
            return
        self.renew()

    def renew(self) -> None:
        renewed = Dataflow.objects.filter(pk=self.dataflow_id, lock_token=self.token).update(
            locked_until=timezone.now() + lease()
        )
        if not renewed:
            raise LockLost(f"dataflow {self.dataflow_id}: run lock lost")
        self.renewed_at = time.monotonic()
