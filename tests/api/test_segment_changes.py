"""PATCH/DELETE /api/v1/segments/{id}: the same preview as the segment page, as a dry run."""

import pytest

from profiles.models import ProfileChange, Segment
from tests.audit.trail import described_changes
from tests.profiles.test_segment_exporters import SILVER, export, gold, people  # noqa: F401
from tests.profiles.test_views import GOLD

pytestmark = pytest.mark.django_db


def test_a_dry_run_answers_the_preview_and_changes_nothing(api, gold, monkeypatch):  # noqa: F811
    monkeypatch.setattr("profiles.tasks.segment_evaluate_task.delay", lambda *a: None)
    flow = export(gold, "A flow").dataflow
    changes = ProfileChange.objects.count()
    answer = api.call("PATCH", f"/api/v1/segments/{gold.pk}?dryRun=true", {"rule": SILVER})
    assert answer.status == 200, answer.body
    assert answer.body["dryRun"] is True
    assert answer.body["preview"] == {
        "leave": 3,
        "join": 6,
        "records": 9,
        "dataflows": [{"id": flow.pk, "name": "A flow", "state": "enabled"}],
        "summary": "3 member(s) leave, 6 join; 9 record(s) go to dataflow “A flow”.",
    }
    assert Segment.objects.get(pk=gold.pk).rule == GOLD
    assert ProfileChange.objects.count() == changes

    applied = api.call("PATCH", f"/api/v1/segments/{gold.pk}", {"rule": SILVER})
    assert applied.status == 200 and applied.body["dryRun"] is False
    assert applied.body["segment"]["rule"] == SILVER
    assert Segment.objects.get(pk=gold.pk).rule == SILVER


def test_a_bad_rule_is_a_400_on_the_rule(api, gold):  # noqa: F811
    answer = api.call("PATCH", f"/api/v1/segments/{gold.pk}?dryRun=true", {"rule": {"op": "?"}})
    assert answer.status == 400
    assert "rule" in answer.error["fields"]


def test_read_names_the_dataflows(api, gold):  # noqa: F811
    flow = export(gold, "A flow").dataflow
    body = api.get(f"/api/v1/segments/{gold.pk}").body
    assert body["dataflows"] == [{"id": flow.pk, "name": "A flow", "state": "enabled"}]
    assert api.get("/api/v1/segments/00000000-0000-0000-0000-000000000000").status == 404


def test_delete_dry_run_then_delete(api, gold):  # noqa: F811
    flow = export(gold, "A flow").dataflow
    dry = api.call("DELETE", f"/api/v1/segments/{gold.pk}?dryRun=true")
    assert dry.body == {
        "dryRun": True,
        "dataflows": [{"id": flow.pk, "name": "A flow", "state": "enabled"}],
    }
    assert Segment.objects.filter(pk=gold.pk).exists()
    done = api.call("DELETE", f"/api/v1/segments/{gold.pk}")
    assert done.status == 200 and done.body["dryRun"] is False
    assert not Segment.objects.filter(pk=gold.pk).exists()
    assert described_changes(flow).count() == 1
