"""A profile whose record cannot be built or read never stalls its dataflow.

Each poison profile is excluded with its reason (counted, listed on the run),
every other profile of the chunk is delivered, and the position moves on. The
bad values are put in the store directly, as a legacy row would hold them
(the entrances refuse them today), or, for values the database itself cannot
hold, into the state the run reads.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.db.models import Max

from activation.export import runner
from activation.export.records import (
    ExportContext,
    ProfileSnapshot,
    SegmentInfo,
    UnbuildableRecord,
    build_record,
)
from activation.models import Backfill, BackfillStatus, RunIssue, RunIssueKind
from profiles.models import ProfileChange
from tests.activation.export.conftest import (
    dataflow_for,
    documents_by_key,
    export,
    upsert,
    vip_segment,
)
from tests.support.world import store_raw_attributes

GOLD = {"loyalty": {"tier": "gold"}}
HUGE_NUMBER = "1" + "0" * 5000  # more digits than Python reads (4,300)


def gold(n: int, first: Any = None) -> dict[str, Any]:
    return {**GOLD, "person": {"name": {"firstName": first or f"First{n}", "lastName": f"L{n}"}}}


def email(n: int) -> str:
    return f"p{n}@example.com"


def raw_with_first_name(n: int, first_name_json: str) -> str:
    return (
        '{"loyalty": {"tier": "gold"}, "person": {"name": {"firstName": '
        f'{first_name_json}, "lastName": "L{n}"}}}}}}'
    )


# In the store: (raw JSON of firstName, error code, words of the reason). Lone
# surrogates and NUL only on SQLite: PostgreSQL's jsonb cannot hold them at all.
STORED: dict[str, tuple[str, str, str]] = {
    "huge number": (
        HUGE_NUMBER,
        "UnbuildableRecord",
        "stored data cannot be read (a number in it has more than 4,300 digits)",
    ),
    "over 1 MiB": (json.dumps("x" * (1024 * 1024 + 10)), "RecordTooLarge", "1,048,576"),
}
if connection.vendor == "sqlite":
    STORED["lone surrogate"] = (
        '"bad\\ud800name"',
        "UnbuildableRecord",
        "person.name.firstName holds text that is not valid Unicode (a lone surrogate, U+D800)",
    )
    STORED["NUL"] = (
        '"bad\\u0000name"',
        "UnbuildableRecord",
        "person.name.firstName holds a NUL character",
    )


def _first_name(value: Any) -> Callable[[ProfileSnapshot], ProfileSnapshot]:
    def change(snapshot: ProfileSnapshot) -> ProfileSnapshot:
        attributes = {**snapshot.attributes, "person": {"name": {"firstName": value}}}
        return dataclasses.replace(snapshot, attributes=attributes)

    return change


def _email_identity(value: str) -> Callable[[ProfileSnapshot], ProfileSnapshot]:
    return lambda snapshot: dataclasses.replace(snapshot, identities=[("email", value)])


def _broken_membership(snapshot: ProfileSnapshot) -> ProfileSnapshot:
    memberships = {sid: (status, "not a time") for sid, (status, _) in snapshot.memberships.items()}
    return dataclasses.replace(snapshot, memberships=memberships)


# In the state the run reads: (change, error code, words of the reason).
INJECTED: dict[str, tuple[Callable[[ProfileSnapshot], ProfileSnapshot], str, str]] = {
    "lone surrogate in the state read": (
        _first_name("bad\ud800name"),
        "UnbuildableRecord",
        "person.name.firstName holds text that is not valid Unicode",
    ),
    "NUL in the state read": (
        _first_name("bad\x00name"),
        "UnbuildableRecord",
        "holds a NUL character",
    ),
    "NaN": (_first_name(float("nan")), "UnbuildableRecord", "holds nan, which is not a JSON"),
    "Infinity": (_first_name(float("inf")), "UnbuildableRecord", "holds inf, which is not a JSON"),
    "not JSON": (_first_name({1, 2}), "UnbuildableRecord", "JSON cannot represent"),
    "surrogate key": (
        _email_identity("bad\udc00@example.com"),
        "UnbuildableRecord",
        "its email identity holds text that is not valid Unicode (a lone surrogate, U+DC00)",
    ),
    "broken snapshot": (_broken_membership, "UnbuildableRecord", "AttributeError"),
}
# Keys Kinesis would refuse are never built: these profiles arrive, keyed otherwise.
EMPTY_KEY = _email_identity("")
LONG_KEY = _email_identity("a" * 300 + "@example.com")


def poison_the_run(
    monkeypatch: pytest.MonkeyPatch,
    changes: dict[int, Callable[[ProfileSnapshot], ProfileSnapshot]],
) -> None:
    real = runner.snapshots_for

    def snapshots_for(context: ExportContext, ids: list[int]) -> dict[int, ProfileSnapshot]:
        found = real(context, ids)
        for profile_id, change in changes.items():
            if profile_id in found:
                found[profile_id] = change(found[profile_id])
        return found

    monkeypatch.setattr(runner, "snapshots_for", snapshots_for)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", ["backfill", "backfill read ahead", "changes"])
def test_poison_profiles_are_excluded_with_their_reason_and_the_rest_arrives(
    path: str, sink: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    if path == "backfill read ahead":
        # Chunks of three: on PostgreSQL each after the first is read (and fails) in the
        # run's reader thread, then read again by the run, which isolates the poison.
        monkeypatch.setattr(runner, "BACKFILL_CHUNK", 3)
        monkeypatch.setattr(runner, "BACKFILL_MAX_CHUNK", 3)
    segment = vip_segment()
    dataflow = None if path.startswith("backfill") else dataflow_for([segment])
    if dataflow is not None:
        export(dataflow, sink)  # nothing yet: the changes come next
    count = len(STORED) + len(INJECTED) + 6
    ids = [upsert(email(n), gold(n)) for n in range(count)]
    stored = dict(zip(STORED, ids, strict=False))
    injected = dict(zip(INJECTED, ids[len(STORED) :], strict=False))
    empty_key, long_key = ids[-2], ids[-1]
    for kind, profile_id in stored.items():
        store_raw_attributes(
            profile_id, raw_with_first_name(ids.index(profile_id), STORED[kind][0])
        )
    changes = {profile_id: INJECTED[kind][0] for kind, profile_id in injected.items()}
    poison_the_run(monkeypatch, {**changes, empty_key: EMPTY_KEY, long_key: LONG_KEY})
    if dataflow is None:
        dataflow = dataflow_for([segment])  # activation backfills the members

    report = export(dataflow, sink)

    assert report.state == "caught_up"
    poison = {**stored, **injected}
    issues = {
        issue.profile_id: issue
        for issue in RunIssue.objects.filter(run__dataflow=dataflow, kind=RunIssueKind.EXCLUDED)
    }
    assert set(issues) == set(poison.values())
    for kind, profile_id in poison.items():
        _, code, words = {**STORED, **INJECTED}[kind]
        assert issues[profile_id].error_code == code, kind
        assert words in issues[profile_id].reason, (kind, issues[profile_id].reason)
    assert report.excluded == len(poison)
    good = [n for n, profile_id in enumerate(ids) if profile_id not in poison.values()]
    delivered = documents_by_key(sink)
    expected_keys = {email(n) for n in good if ids[n] not in (empty_key, long_key)}
    expected_keys |= {
        str(empty_key),
        hashlib.sha256(("a" * 300 + "@example.com").encode()).hexdigest(),
    }
    assert set(delivered) == expected_keys
    # The position moved past the poison: nothing is left to send.
    dataflow.refresh_from_db()
    if path == "changes":
        newest = ProfileChange.objects.aggregate(Max("id"))["id__max"]
        assert dataflow.cursor_change_id == newest
    else:
        assert Backfill.objects.get(dataflow=dataflow).status == BackfillStatus.DONE
    # ... and the dataflow goes on: a later change arrives, a corrected profile too.
    sink.clear()
    fixed = ids.index(stored["over 1 MiB"])
    upsert("later@example.com", gold(999))
    upsert(email(fixed), gold(fixed, first="Short again"))
    report = export(dataflow, sink)
    assert report.state == "caught_up" and report.excluded == 0
    assert set(documents_by_key(sink)) == {"later@example.com", email(fixed)}


@pytest.mark.django_db(transaction=True)
def test_a_poison_profile_does_not_delay_the_dataflow(sink: Any, monkeypatch: pytest.MonkeyPatch):
    """The run ends caught up: no "Delivery delayed", no failed run, no retry time."""
    dataflow = dataflow_for([vip_segment()])
    poison_id = upsert("bad@example.com", gold(1))
    upsert("good@example.com", gold(2))
    poison_the_run(monkeypatch, {poison_id: _first_name("bad\ud800name")})

    report = export(dataflow, sink)

    dataflow.refresh_from_db()
    assert report.state == "caught_up"
    assert (dataflow.status, dataflow.status_message, dataflow.failure_count) == ("enabled", "", 0)
    assert dataflow.retry_at is None
    assert set(documents_by_key(sink)) == {"good@example.com"}


# --- the builder itself -----------------------------------------------------------------


def context() -> ExportContext:
    return ExportContext(
        dataflow_id=1,
        attributes=((("person", "name", "firstName"),) * 2,),
        namespaces=(("email", False),),
        segments={"s1": SegmentInfo("S", 0, 0, 0, 0)},
        partition_key_source="email",
    )


def snapshot(first_name: Any = "Ann", email_value: str = "ann@example.com") -> ProfileSnapshot:
    import datetime as dt

    return ProfileSnapshot(
        7,
        {"person": {"name": {"firstName": first_name}}},
        [("email", email_value)],
        {"s1": ("existing", dt.datetime(2024, 1, 1, tzinfo=dt.UTC))},
    )


@pytest.mark.parametrize(
    ("first_name", "email_value", "words"),
    [
        ("bad\ud800", "ann@example.com", "person.name.firstName holds text that is not valid"),
        ("bad\x00", "ann@example.com", "person.name.firstName holds a NUL character"),
        (float("-inf"), "ann@example.com", "holds -inf, which is not a JSON number"),
        ("Ann", "ann\x00@example.com", "holds a NUL character"),
        ("Ann", "ann\ud800@example.com", "its email identity holds text that is not valid"),
    ],
)
def test_the_builder_names_the_value_it_cannot_build(
    first_name: Any, email_value: str, words: str
) -> None:
    with pytest.raises(UnbuildableRecord) as caught:
        build_record(context(), snapshot(first_name, email_value), record_id="r")

    assert words in caught.value.reason
    assert "its next change exports it" in caught.value.reason
    caught.value.reason.encode("utf-8")  # the reason itself is storable text


def test_a_backslash_that_only_looks_like_nul_is_built() -> None:
    record = build_record(context(), snapshot("C:\\u0000dir"), record_id="r")

    assert json.loads(record.data)["person"]["name"]["firstName"] == "C:\\u0000dir"
