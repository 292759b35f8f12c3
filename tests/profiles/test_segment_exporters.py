"""Segments know their dataflows: listed, previewed before a rule change, named on delete."""

import re

import pytest
from django.urls import reverse

from activation.models import DataflowSegment
from audit.models import AuditEntry
from profiles.models import ProfileChange, Segment
from profiles.segments import segment_change_preview, segment_create, segment_evaluate
from tests.audit.trail import described_changes
from tests.factories import DataflowFactory, DataflowSegmentFactory
from tests.profiles.test_views import GOLD, builder, people  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db

SILVER = {"path": "loyalty.tier", "op": "equals", "value": "silver"}


@pytest.fixture
def gold(people):  # noqa: F811
    segment = segment_create(name="Gold", rule=GOLD, evaluate=False)
    assert segment_evaluate(segment_id=segment.pk).completed
    return segment  # 3 of the 9 people are gold


def export(segment, name, status="enabled"):
    """A dataflow finished the wizard's way: mapped as a draft, then made live."""
    mapped = DataflowSegmentFactory(segment=segment, dataflow__name=name, dataflow__status="draft")
    mapped.dataflow.status = status
    mapped.dataflow.save()
    return mapped


@pytest.mark.parametrize("in_sql", [True, False], ids=["sql", "python"])
def test_the_preview_counts_who_leaves_and_joins_without_writing(gold, monkeypatch, in_sql):
    if not in_sql:
        monkeypatch.setattr("profiles.segments.supports_sql", lambda connection: False)
    export(gold, "B flow")
    export(gold, "A flow")
    export(gold, "Unfinished", status="draft")
    changes = ProfileChange.objects.count()
    preview = segment_change_preview(segment=gold, rule=SILVER, active=True)
    assert (preview.leave, preview.join, preview.records) == (3, 6, 9)
    assert preview.text == (
        "3 member(s) leave, 6 join; 9 record(s) go to dataflows “A flow” and “B flow”."
    )
    assert ProfileChange.objects.count() == changes
    assert gold.memberships.filter(status__in=["realized", "existing"]).count() == 3


def test_an_unchanged_rule_moves_nobody(gold):
    export(gold, "A flow")
    preview = segment_change_preview(segment=gold, rule=GOLD, active=True)
    assert (preview.leave, preview.join, preview.needs_confirmation) == (0, 0, False)


def silver_form(**extra):
    return builder(value=["silver"], **extra)


def test_saving_a_rule_of_an_exported_segment_asks_first(logged_in_client, gold, monkeypatch):
    monkeypatch.setattr("profiles.tasks.segment_evaluate_task.delay", lambda *a: None)
    flow = export(gold, "A flow").dataflow
    url = reverse("profiles:segment_edit", args=[gold.pk])
    response = logged_in_client.post(url, silver_form())
    html = response.content.decode()
    assert response.status_code == 200
    assert "3 member(s) leave, 6 join; 9 record(s) go to dataflow “A flow”." in html
    assert "Confirm and save" in html
    assert Segment.objects.get(pk=gold.pk).rule == GOLD
    token = re.search(r'name="confirm_change" value="([0-9a-f]+)"', html).group(1)

    # a token of another rule does not confirm this one
    other = logged_in_client.post(url, builder(value=["bronze"], confirm_change=token))
    assert other.status_code == 200 and "Confirm and save" in other.content.decode()
    assert Segment.objects.get(pk=gold.pk).rule == GOLD

    saved = logged_in_client.post(url, silver_form(confirm_change=token))
    assert saved.status_code == 302
    assert "silver" in str(Segment.objects.get(pk=gold.pk).rule)
    assert flow.pk  # still there


def test_a_segment_nobody_exports_saves_at_once(logged_in_client, gold, monkeypatch):
    monkeypatch.setattr("profiles.tasks.segment_evaluate_task.delay", lambda *a: None)
    url = reverse("profiles:segment_edit", args=[gold.pk])
    assert logged_in_client.post(url, silver_form()).status_code == 302


def test_segment_page_and_list_name_the_dataflows(logged_in_client, gold):
    flow = export(gold, "A flow").dataflow
    export(gold, "Unfinished", status="draft")
    link = reverse("activation:dataflow_detail", args=[flow.pk])
    page = logged_in_client.get(reverse("profiles:segment_edit", args=[gold.pk])).content.decode()
    listing = logged_in_client.get(reverse("profiles:segment_list")).content.decode()
    for html in (page, listing):
        assert link in html and "A flow" in html
        assert "Unfinished" not in html
    assert "stop exporting it" in page  # the delete dialog names them


@pytest.mark.django_db(transaction=True)
def test_deleting_an_exported_segment_names_and_tells_its_dataflows(logged_in_client, gold):
    flow = export(gold, "A flow").dataflow
    untouched = DataflowFactory(name="Other flow")
    response = logged_in_client.post(
        reverse("profiles:segment_delete", args=[gold.pk]), follow=True
    )
    html = response.content.decode()
    assert "Segment “Gold” deleted. “A flow” no longer exports it" in html
    assert not DataflowSegment.objects.filter(dataflow=flow).exists()
    change = described_changes(flow).get()
    assert change.summary == "Segment “Gold” was deleted; this dataflow no longer exports it."
    assert not described_changes(untouched).exists()
    audit = AuditEntry.objects.filter(object_type="dataflow", object_id=flow.pk).latest("id")
    assert "Gold" in str(audit.before) and "Gold" not in str(audit.after)
    detail = logged_in_client.get(reverse("activation:dataflow_detail", args=[flow.pk]))
    assert "Segment “Gold” was deleted" in detail.content.decode()
