"""Policy evaluation: labels reach attributes, identities and segment rules; AND/OR."""

import pytest

from activation.services import dataflow_finish
from governance.evaluation import DataUse, SegmentUse, evaluate
from governance.models import DataUsagePolicy
from governance.services import PolicyViolationError, dataflow_violations
from tests.activation.export.conftest import dataflow_for, segment_of, vip_segment
from tests.factories import DataflowFactory, UserFactory
from tests.governance.conftest import declare, label

pytestmark = pytest.mark.django_db

THIRD_PARTY = frozenset({"export_to_third_party"})


def test_a_label_on_a_parent_covers_the_paths_under_it(catalogue):
    label("person", "S3")
    [violation] = evaluate(DataUse(THIRD_PARTY, attributes=("person.birthDate",)))
    assert violation.policy == "Sensitive data never goes to third parties"
    [chain] = violation.chains
    assert (chain.source_kind, chain.source, chain.path, chain.label) == (
        "attribute",
        "person.birthDate",
        "person",
        "S3",
    )
    assert chain.fix == "Unmap person.birthDate."
    assert violation.lines == [
        "attribute person.birthDate → S3 Sensitive personal data → policy “Sensitive data "
        "never goes to third parties” → Export to third party"
    ]


def test_mapping_a_parent_exports_a_labelled_child(catalogue):
    label("person.birthDate", "S3")
    assert evaluate(DataUse(THIRD_PARTY, attributes=("person",)))
    assert not evaluate(DataUse(THIRD_PARTY, attributes=("personalEmail.address",)))


def test_no_policy_applies_without_the_marketing_action(catalogue):
    label("person.birthDate", "S3")
    use = DataUse(frozenset({"analytics"}), attributes=("person.birthDate",))
    assert evaluate(use) == []
    assert evaluate(DataUse(frozenset(), attributes=("person.birthDate",))) == []


def test_a_disabled_policy_is_not_evaluated(catalogue):
    label("person.birthDate", "S3")
    DataUsagePolicy.objects.filter(name__startswith="Sensitive").update(enabled=False)
    assert evaluate(DataUse(THIRD_PARTY, attributes=("person.birthDate",))) == []


def test_a_segment_built_on_sensitive_data_carries_its_label(catalogue):
    label("person.birthDate", "S3")
    rule = {"and": [{"path": "person.birthDate", "op": "lt", "value": "1980-01-01"}]}
    [violation] = evaluate(DataUse(THIRD_PARTY, segments=(SegmentUse("1", "Over 45", rule),)))
    [chain] = violation.chains
    assert (chain.source_kind, chain.source, chain.path) == (
        "segment",
        "Over 45",
        "person.birthDate",
    )
    assert chain.fix == "Remove the segment Over 45."
    assert "segment Over 45 (its rule reads person.birthDate)" in violation.lines[0]


def test_an_and_policy_needs_every_label_and_hashing_drops_identity_labels(catalogue):
    label("email", "I1", namespace=True)
    label("geo.precise", "S1")
    cross_site = frozenset({"cross_site_targeting"})
    assert evaluate(DataUse(cross_site, identities=(("email", False),))) == []
    both = DataUse(cross_site, attributes=("geo.precise",), identities=(("email", False),))
    [violation] = evaluate(both)
    assert violation.expression == "I1 AND S1"
    assert {c.label for c in violation.chains} == {"I1", "S1"}
    identity = next(c for c in violation.chains if c.source_kind == "identity")
    assert identity.fix.startswith("Hash email")
    hashed = DataUse(cross_site, attributes=("geo.precise",), identities=(("email", True),))
    assert evaluate(hashed) == []


def test_every_namespace_is_exported_when_none_is_selected(catalogue):
    from tests.activation.export.conftest import ensure_namespaces

    ensure_namespaces()
    label("phone", "C1", namespace=True)
    [violation] = evaluate(DataUse(THIRD_PARTY, identities=None))
    assert violation.chains[0].source == "phone"


def test_finish_is_refused_while_a_violation_stands_and_works_once_fixed(catalogue):
    label("person.birthDate", "S3")
    draft = dataflow_for(
        [vip_segment()], attributes=["person.birthDate"], activate=False, status="draft"
    )
    declare(draft.connection, "export_to_third_party")
    user = UserFactory()
    with pytest.raises(PolicyViolationError) as refused:
        dataflow_finish(dataflow=draft, user=user, name="Flow")
    assert refused.value.violations[0].chains[0].source == "person.birthDate"
    draft.attribute_mappings.all().delete()
    draft.attribute_mappings.create(source_path="person.name.firstName")
    assert dataflow_finish(dataflow=draft, user=user, name="Flow").status == "enabled"


def test_a_dataflow_reads_its_own_mapping(catalogue):
    label("loyalty", "C1")
    flow = dataflow_for([segment_of("Gold", {"path": "loyalty.tier", "op": "equals", "value": 1})])
    declare(flow.connection, "export_to_third_party")
    [violation] = dataflow_violations(flow)
    assert violation.chains[0].source_kind == "segment"
    assert dataflow_violations(DataflowFactory()) == []
