"""Two saves of one wizard step at once (the autosave and the submit, as a browser sends
them) are serialised on the draft's row: the second replaces the first's rows instead
of clashing with them on the unique keys (which answered 500)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections, transaction

from activation import services
from activation.services import AttributeSpec
from tests.factories import ConnectionFactory, UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture(autouse=True)
def _postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locks are a PostgreSQL matter (SQLite runs one writer at a time)")


class Saver(threading.Thread):
    """Runs `steps` in one transaction on its own connection; keeps any error."""

    def __init__(self, *steps: Callable[[], Any]) -> None:
        super().__init__(daemon=True)
        self.steps = steps
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with transaction.atomic():
                for step in self.steps:
                    step()
        except BaseException as exc:  # surfaced by the test
            self.error = exc
        finally:
            connections.close_all()


def waiting_on_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return int(cursor.fetchone()[0])


def save(draft: Any, *paths: str) -> Callable[[], Any]:
    return lambda: services.dataflow_set_mapping(
        dataflow=draft,
        attributes=[AttributeSpec(path) for path in paths],
        identities=[],
        partition_key_source="profile_id",
    )


def test_a_second_save_waits_for_the_first_and_replaces_its_rows() -> None:
    draft = services.dataflow_draft_create(user=UserFactory(), connection=ConnectionFactory())
    first_saved, first_may_commit = threading.Event(), threading.Event()
    first = Saver(
        save(draft, "person.name.firstName"), first_saved.set, lambda: first_may_commit.wait(30)
    )
    first.start()
    assert first_saved.wait(30)
    second = Saver(save(draft, "person.name.firstName", "person.birthDate"))
    second.start()
    for _ in range(3000):  # until the second save waits on the first one's lock
        if waiting_on_a_lock() or not second.is_alive():
            break
        threading.Event().wait(0.01)
    first_may_commit.set()
    first.join(30)
    second.join(30)

    assert first.error is None and second.error is None, (first.error, second.error)
    paths = list(draft.attribute_mappings.values_list("source_path", flat=True))
    assert paths == ["person.name.firstName", "person.birthDate"]
