"""Policy evaluation: what a dataflow uses, the labels that carry, and the policies it breaks.

One definition for the wizard's review, Finish, edits, the API and the runner's
re-check. What a dataflow *uses*:

- each mapped attribute path: the labels on it, on any path above it (a label on
  `person` covers `person.birthDate`) and below it (mapping `person` exports
  `person.birthDate` too);
- each exported identity namespace (every namespace when none is selected): its
  labels; a hashed namespace is no longer directly identifiable, so it drops the
  identity-family labels (contract and sensitive ones stay);
- each path that a mapped segment's rule reads: membership of a segment built on
  sensitive data reveals that data, so the segment carries those labels.

A policy applies when the connection declares its marketing action; an OR policy
is broken by any of its labels, an AND policy when all of them are used.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext

from core.stored_text import StoredText
from governance.models import (
    AssignmentTarget,
    DataUsageLabel,
    DataUsagePolicy,
    LabelAssignment,
    LabelFamily,
    LabelOperator,
)
from profiles.attributes import paths_overlap

ATTRIBUTE, IDENTITY, SEGMENT = "attribute", "identity", "segment"


# A violation's chain in words: stored in English, shown translated (core.stored_text).
CHAIN = StoredText("%(subject)s → %(label)s %(label_name)s → policy “%(policy)s” → %(action)s")
CHAIN_SUBJECTS = {
    ATTRIBUTE: StoredText("attribute %(source)s"),
    IDENTITY: StoredText("identity %(source)s"),
}
CHAIN_SEGMENT = StoredText("segment %(source)s (its rule reads %(path)s)")


@dataclass(frozen=True)
class SegmentUse:
    id: str
    name: str
    rule: dict


@dataclass(frozen=True)
class DataUse:
    """What a dataflow (or a draft, or an API question) sends, and what for."""

    marketing_actions: frozenset[str]
    attributes: tuple[str, ...] = ()
    # (namespace, hashed); None: every namespace, unhashed.
    identities: tuple[tuple[str, bool], ...] | None = ()
    segments: tuple[SegmentUse, ...] = ()


@dataclass(frozen=True)
class Chain:
    """One link from what is sent to the policy: source → label (→ policy → action)."""

    source_kind: str  # attribute | identity | segment
    source: str  # the path, the namespace, or the segment's name
    path: str  # the labelled path (for a segment: the path its rule reads)
    label: str
    label_name: str
    fix: str

    def as_dict(self) -> dict[str, str]:
        return {
            "sourceKind": self.source_kind,
            "source": self.source,
            "path": self.path,
            "label": self.label,
            "labelName": self.label_name,
            "fix": self.fix,
        }


@dataclass(frozen=True)
class Violation:
    policy_id: int
    policy: str
    expression: str
    marketing_action: str
    marketing_action_name: str
    chains: tuple[Chain, ...]

    def describe(self, chain: Chain) -> str:
        """The chain as one English line (stored in status messages; shown translated)."""
        if chain.source_kind == SEGMENT:
            subject = CHAIN_SEGMENT(source=chain.source, path=chain.path)
        else:
            subject = CHAIN_SUBJECTS[chain.source_kind](source=chain.source)
        return CHAIN(
            subject=subject,
            label=chain.label,
            label_name=chain.label_name,
            policy=self.policy,
            action=self.marketing_action_name,
        )

    @property
    def lines(self) -> list[str]:
        return [self.describe(chain) for chain in self.chains]

    def as_dict(self) -> dict[str, Any]:
        return {
            "policyId": self.policy_id,
            "policy": self.policy,
            "expression": self.expression,
            "marketingAction": self.marketing_action,
            "marketingActionName": self.marketing_action_name,
            "chains": [{**chain.as_dict(), "text": self.describe(chain)} for chain in self.chains],
        }


@dataclass
class LabelIndex:
    """Every label assignment, read once per evaluation."""

    labels: dict[str, DataUsageLabel]
    attributes: dict[str, set[str]] = field(default_factory=dict)  # path -> label codes
    namespaces: dict[str, set[str]] = field(default_factory=dict)

    @classmethod
    def load(cls) -> LabelIndex:
        index = cls(labels={label.code: label for label in DataUsageLabel.objects.all()})
        for code, target_type, target in LabelAssignment.objects.values_list(
            "label__code", "target_type", "target"
        ):
            by = index.attributes if target_type == AssignmentTarget.ATTRIBUTE else index.namespaces
            by.setdefault(target, set()).add(code)
        return index

    def path_labels(self, path: str) -> list[tuple[str, str]]:
        """(labelled path, label code) reaching `path`: on it, above it, or below it."""
        found = []
        for labelled, codes in self.attributes.items():
            if paths_overlap(path, labelled):
                found.extend((labelled, code) for code in codes)
        return sorted(found)

    def namespace_labels(self, namespace: str, *, hashed: bool) -> list[str]:
        codes = self.namespaces.get(namespace, set())
        if hashed:
            codes = {c for c in codes if self.labels[c].family != LabelFamily.IDENTITY}
        return sorted(codes)


def rule_paths(rule: Any) -> Iterator[str]:
    """Every attribute path a segment rule reads."""
    if isinstance(rule, dict):
        if isinstance(rule.get("path"), str):
            yield rule["path"]
        for key in ("and", "or"):
            for child in rule.get(key) or ():
                yield from rule_paths(child)
        if "not" in rule:
            yield from rule_paths(rule["not"])


def used_labels(use: DataUse, index: LabelIndex, namespaces: Iterable[str]) -> list[Chain]:
    """Every (source, label) the data use carries, with how to get rid of it."""
    chains: list[Chain] = []
    for path in use.attributes:
        for labelled, code in index.path_labels(path):
            fix = gettext("Unmap %(path)s.") % {"path": path}
            chains.append(_chain(index, ATTRIBUTE, path, labelled, code, fix))
    identities = use.identities
    if identities is None:
        identities = tuple((ns, False) for ns in namespaces)
    for namespace, hashed in identities:
        for code in index.namespace_labels(namespace, hashed=hashed):
            family = index.labels[code].family
            if family == LabelFamily.IDENTITY:
                fix = gettext("Hash %(namespace)s (lower-case + SHA-256), or remove it.")
            else:
                fix = gettext("Remove the identity %(namespace)s.")
            fix %= {"namespace": namespace}
            chains.append(_chain(index, IDENTITY, namespace, namespace, code, fix))
    for segment in use.segments:
        for read in sorted(set(rule_paths(segment.rule))):
            for _, code in index.path_labels(read):
                fix = gettext("Remove the segment %(name)s.") % {"name": segment.name}
                chains.append(_chain(index, SEGMENT, segment.name, read, code, fix))
    return chains


def _chain(index: LabelIndex, kind: str, source: str, path: str, code: str, fix: str) -> Chain:
    return Chain(kind, source, path, code, index.labels[code].name, fix)


def evaluate(use: DataUse, *, index: LabelIndex | None = None) -> list[Violation]:
    """The enabled policies this data use breaks, each with its chains."""
    if not use.marketing_actions:
        return []
    policies = list(
        DataUsagePolicy.objects.filter(
            enabled=True, marketing_action__code__in=use.marketing_actions
        )
        .select_related("marketing_action")
        .prefetch_related("labels")
        .order_by("name")
    )
    if not policies:
        return []
    index = index or LabelIndex.load()
    namespaces: list[str] = []
    if use.identities is None:
        from profiles.models import IdentityNamespace

        namespaces = list(IdentityNamespace.objects.values_list("code", flat=True))
    chains = used_labels(use, index, namespaces)
    carried = {chain.label for chain in chains}
    violations = []
    for policy in policies:
        codes = {label.code for label in policy.labels.all()}
        if not codes:
            continue
        hit = codes <= carried if policy.operator == LabelOperator.AND else bool(codes & carried)
        if not hit:
            continue
        violations.append(
            Violation(
                policy_id=policy.pk,
                policy=policy.name,
                expression=policy.expression(),
                marketing_action=policy.marketing_action.code,
                marketing_action_name=policy.marketing_action.name,
                chains=tuple(chain for chain in chains if chain.label in codes),
            )
        )
    return violations


def policies_evaluated(marketing_actions: Iterable[str]) -> list[DataUsagePolicy]:
    """The enabled policies that apply to a connection with these marketing actions."""
    return list(
        DataUsagePolicy.objects.filter(enabled=True, marketing_action__code__in=marketing_actions)
        .select_related("marketing_action")
        .prefetch_related("labels")
        .order_by("name")
    )
