"""A ready export setup: a marketer, a segment, connections and dataflows, and
profiles ingested through the real write service (change capture included).

Person `n` always has the identities `ecid-<n>` and `person<n>@example.com`
(the bulk store generator in benchmarks/store.py uses the same), so a test
or benchmark can write any person again with a new `version` of its mapped
attributes and expect that state in the stream.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tests.support.local_kinesis import ANY_KEY

MAPPED_PATHS = ("person.name.firstName", "person.name.lastName", "personalEmail.address")
WRITE_BATCH = 1000


def person(n: int, version: str = "v1") -> dict[str, Any]:
    """The ingestion record of person n (a member of the world's segment)."""
    return {
        "identityMap": {
            "ecid": [{"id": f"ecid-{n}"}],
            "email": [{"id": f"person{n}@example.com"}],
        },
        "attributes": {
            "person": {"name": {"firstName": f"First{n}-{version}", "lastName": f"Last{n}"}},
            "personalEmail": {"address": f"person{n}@example.com"},
        },
    }


def upsert(records: Iterable[dict[str, Any]]) -> list[int]:
    """Write records through profiles_upsert, 1,000 per batch; the profile ids, in order."""
    from profiles.services import profiles_upsert

    ids: list[int] = []
    batch: list[dict[str, Any]] = []
    for record in records:
        batch.append(record)
        if len(batch) == WRITE_BATCH:
            ids += _write(profiles_upsert, batch)
            batch = []
    if batch:
        ids += _write(profiles_upsert, batch)
    return ids


def _write(profiles_upsert: Any, batch: list[dict[str, Any]]) -> list[int]:
    results = profiles_upsert(records=batch, source="import")
    rejected = [r.error for r in results if not r.ok]
    if rejected:
        raise AssertionError(f"records rejected: {rejected[:3]}")
    return [r.profile_id for r in results]


def store_raw_attributes(profile_id: int, document_json: str) -> None:
    """Overwrite a profile's attributes in SQL, as a legacy row may hold them (values the
    write path refuses today, such as a number of 5,000 digits), without a change row."""
    from django.db import connection

    from profiles.models import Profile

    cast = "::jsonb" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Profile._meta.db_table} SET attributes = %s{cast} WHERE id = %s",
            [document_json, profile_id],
        )


@dataclass
class ExportWorld:
    user: Any
    segment: Any

    @classmethod
    def create(cls, *, username: str = "exporter") -> ExportWorld:
        from django.contrib.auth import get_user_model

        from profiles.models import IdentityNamespace, Segment

        # Data migrations create these; a flushed test database may have lost them.
        for code in ("ecid", "email"):
            IdentityNamespace.objects.get_or_create(
                code=code, defaults={"name": code, "builtin": True}
            )
        user = get_user_model().objects.create_user(username, f"{username}@example.com", "pw")
        segment = Segment.objects.create(
            name="Everyone with an email", rule={"op": "exists", "path": "personalEmail.address"}
        )
        return cls(user=user, segment=segment)

    def connection(self, *, stream: str, key: tuple[str, str] = ANY_KEY) -> Any:
        from destinations.models import Connection

        connection = Connection(
            owner=self.user,
            name=f"{stream} {Connection.objects.count() + 1}",
            access_key_id=key[0],
            region="us-east-1",
            stream_name=stream,
            include_segment_names=True,
        )
        connection.set_secret(key[1])
        connection.save()
        return connection

    def dataflow(self, *, stream: str = "", connection: Any = None, backfill: bool = True) -> Any:
        """An enabled dataflow of the segment, activated: three mapped attributes, ecid and
        hashed email, partitioned by ecid. Its current members are backfilled unless
        `backfill` is False (then it exports only changes from now on)."""
        from activation.export.services import dataflow_activate
        from activation.models import (
            AttributeMapping,
            Backfill,
            BackfillStatus,
            Dataflow,
            DataflowSegment,
            DataflowStatus,
            IdentitySelection,
        )

        connection = connection or self.connection(stream=stream)
        dataflow = Dataflow.objects.create(
            connection=connection,
            name=f"to {connection.stream_name} #{Dataflow.objects.count() + 1}",
            status=DataflowStatus.ENABLED,
            created_by=self.user,
            partition_key_source="ecid",
        )
        DataflowSegment.objects.create(dataflow=dataflow, segment=self.segment)
        for position, path in enumerate(MAPPED_PATHS):
            AttributeMapping.objects.create(dataflow=dataflow, source_path=path, position=position)
        IdentitySelection.objects.create(dataflow=dataflow, namespace="ecid")
        IdentitySelection.objects.create(dataflow=dataflow, namespace="email", hashed=True)
        dataflow_activate(dataflow=dataflow)
        if not backfill:
            Backfill.objects.filter(dataflow=dataflow).update(status=BackfillStatus.CANCELLED)
        return dataflow

    def ingest(self, numbers: Iterable[int], *, version: str = "v1") -> list[int]:
        """Ingest (or write again) persons `numbers`; their profile ids."""
        return upsert(person(n, version) for n in numbers)

    def bulk_members(self, count: int) -> list[int]:
        """`count` new persons as existing members of the segment, inserted in bulk (no
        change rows: as if they had been there before any dataflow); their profile ids.

        Person n gets profile id n: bulk SQL on PostgreSQL (benchmarks/store.py),
        bulk_create elsewhere.
        """
        from django.db import connection
        from django.db.models import Max

        from profiles.models import Profile

        first = (Profile.objects.aggregate(top=Max("id"))["top"] or 0) + 1
        numbers = range(first, first + count)
        if connection.vendor == "postgresql":
            from benchmarks.store import store_grow

            store_grow(segment_id=self.segment.pk, first=first, last=first + count - 1)
            return list(numbers)
        return self._bulk_create_members(numbers)

    def _bulk_create_members(self, numbers: range) -> list[int]:
        from django.utils import timezone

        from profiles.models import Identity, Profile, SegmentMembership

        now = timezone.now()
        profiles = Profile.objects.bulk_create(
            [Profile(id=n, attributes=person(n)["attributes"]) for n in numbers], batch_size=2000
        )
        Identity.objects.bulk_create(
            [
                Identity(profile=profile, namespace=namespace, value=entries[0]["id"])
                for n, profile in zip(numbers, profiles, strict=True)
                for namespace, entries in person(n)["identityMap"].items()
            ],
            batch_size=2000,
        )
        SegmentMembership.objects.bulk_create(
            [
                SegmentMembership(
                    profile=profile,
                    segment=self.segment,
                    status="existing",
                    last_qualification_time=now,
                )
                for profile in profiles
            ],
            batch_size=2000,
        )
        return [profile.pk for profile in profiles]
