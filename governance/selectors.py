"""Governance reads for pages and the API."""

from __future__ import annotations

from dataclasses import dataclass, field

from activation.models import AttributeMapping, Dataflow, IdentitySelection
from activation.selectors import identity_namespaces, profile_schema
from governance.consent import consent_policies_for, members_without_consent
from governance.evaluation import LabelIndex, policies_evaluated
from governance.models import AssignmentTarget, DataUsageLabel, LabelAssignment
from governance.services import dataflow_violations
from profiles.attributes import paths_overlap


def dataflow_governance(dataflow: Dataflow, *, count_consent: bool = False) -> dict:
    """What the review step and the dataflow page show: violations with their chains,
    the policies evaluated, the consent policies that apply (and, at review, how many
    members consent excludes). One query when the connection declares no action."""
    actions = list(dataflow.connection.marketing_actions.all()) if dataflow.connection else []
    codes = frozenset(action.code for action in actions)
    context: dict = {
        "governance_actions": actions,
        "governance_violations": [],
        "governance_policies": [],
        "governance_consent_policies": [],
    }
    if count_consent:
        context["governance_consent_excluded"] = 0
    if not codes:
        return context
    context |= {
        "governance_violations": dataflow_violations(dataflow, actions=codes),
        "governance_policies": policies_evaluated(codes),
        "governance_consent_policies": consent_policies_for(codes),
    }
    if count_consent:
        context["governance_consent_excluded"] = members_without_consent(dataflow=dataflow)
    return context


@dataclass
class PathRow:
    path: str
    labels: list[str] = field(default_factory=list)
    inherited: list[str] = field(default_factory=list)
    known: bool = True


def path_rows() -> list[PathRow]:
    """Every path of the schema sample (and every labelled path), with its own labels and
    those it inherits from a parent."""
    index = LabelIndex.load()
    paths = {entry.path for entry in profile_schema()}
    labelled = set(index.attributes)
    rows = []
    for path in sorted(paths | labelled):
        own = sorted(index.attributes.get(path, ()))
        inherited = sorted(
            {
                code
                for parent, codes in index.attributes.items()
                if path.startswith(parent + ".")
                for code in codes
            }
        )
        rows.append(PathRow(path, own, inherited, known=path in paths))
    return rows


def namespace_rows() -> list[tuple[str, list[str]]]:
    from profiles.models import IdentityNamespace

    index = LabelIndex.load()
    names = set(IdentityNamespace.objects.values_list("code", flat=True))
    names |= set(identity_namespaces())
    names |= set(index.namespaces)
    return [(ns, sorted(index.namespaces.get(ns, ()))) for ns in sorted(names)]


@dataclass
class LabelUsage:
    label: DataUsageLabel
    paths: list[str]
    namespaces: list[str]
    dataflows: list[Dataflow]


def label_usage() -> list[LabelUsage]:
    """Per label: the fields carrying it and the live dataflows that export them."""
    live = Dataflow.objects.live()
    mappings = list(
        AttributeMapping.objects.filter(dataflow__in=live).values_list("dataflow_id", "source_path")
    )
    selections = list(
        IdentitySelection.objects.filter(dataflow__in=live).values_list("dataflow_id", "namespace")
    )
    by_id = {d.pk: d for d in live}
    usages = []
    assignments = LabelAssignment.objects.select_related("label")
    for label in DataUsageLabel.objects.all():
        mine = [a for a in assignments if a.label_id == label.pk]
        paths = sorted(a.target for a in mine if a.target_type == AssignmentTarget.ATTRIBUTE)
        namespaces = sorted(a.target for a in mine if a.target_type == AssignmentTarget.NAMESPACE)
        flows = set()
        for dataflow_id, source in mappings:
            if any(paths_overlap(source, p) for p in paths):
                flows.add(dataflow_id)
        flows |= {dataflow_id for dataflow_id, ns in selections if ns in namespaces}
        usages.append(
            LabelUsage(label, paths, namespaces, sorted((by_id[i] for i in flows), key=str))
        )
    return usages
