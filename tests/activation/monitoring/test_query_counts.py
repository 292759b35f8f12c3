"""The monitoring pages read a constant number of queries, whatever the history's size."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.activation.monitoring.history import history_create
from tests.factories import BackfillFactory, DataflowFactory, IdentityFactory

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def page_urls(dataflow, history) -> dict[str, str]:
    detail = reverse("activation:dataflow_detail", args=[dataflow.pk])
    run = reverse("activation:run_detail", args=[dataflow.pk, history.latest_run.pk])
    lookup = reverse("activation:delivery_lookup")
    return {
        "list": reverse("activation:dataflow_list"),
        "detail": detail,
        "detail 30d": f"{detail}?period=30d",
        "detail 7d failures page 2": f"{detail}?period=7d&failures=1&page=2",
        "detail activation": f"{detail}?tab=activation",
        "live": reverse("activation:dataflow_live", args=[dataflow.pk]) + "?v=stale",
        "run": run,
        "run search": f"{run}?q=person1",
        "run page 3": f"{run}?page=3&kind=excluded",
        "run deliveries": f"{run}?view=deliveries&page=2",
        "lookup identity": f"{lookup}?identity=email:busy-{dataflow.created_by_id}@example.com",
        "lookup profile": f"{lookup}?profile={history.busy_profile_id}&page=2",
    }


def query_counts(client, urls: dict[str, str]) -> dict[str, int]:
    counts = {}
    for name, url in urls.items():
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code in (200, 286), name
        counts[name] = len(queries)
    return counts


def build(user, *, runs: int, deliveries: int, issues: int, dataflows: int):
    dataflow = DataflowFactory(connection__owner=user, name="Under test")
    BackfillFactory(dataflow=dataflow, total=10, processed=3)
    for _ in range(dataflows - 1):
        DataflowFactory(connection=dataflow.connection)
    busy = IdentityFactory(namespace="email", value=f"busy-{user.pk}@example.com")
    history = history_create(
        dataflow=dataflow,
        runs=runs,
        deliveries=deliveries,
        issues=issues,
        first_profile_id=busy.profile_id,
    )
    return dataflow, history


def test_query_counts_do_not_grow_with_history(client, user):
    client.force_login(user)
    small = query_counts(
        client, page_urls(*build(user, runs=2, deliveries=3, issues=2, dataflows=1))
    )
    from tests.factories import UserFactory

    other = UserFactory()
    client.force_login(other)
    large_dataflow, large_history = build(
        other, runs=10_000, deliveries=100_000, issues=10_000, dataflows=30
    )
    large = query_counts(client, page_urls(large_dataflow, large_history))
    assert large == small
    assert max(large.values()) <= 15, large
