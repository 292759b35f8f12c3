"""Consent in the export: which members a dataflow may send, and who gets a suppression record.

A consent policy applies to a dataflow when its connection declares one of the
policy's marketing actions; a profile is exported only when it meets the
condition of every applying (enabled) policy. A member that does not:

- was exported by this dataflow before (a delivery is logged) and has not had
  its suppression record yet -> one suppression record (identityMap and every
  mapped segment `exited`, no attributes), so the consumer stops using it;
- otherwise -> excluded with reason "no consent" (nothing is sent).

A suppressed profile that consents again is exported normally (and may be
suppressed again later). Writing a path a condition reads exports the profile,
so withdrawing or giving consent reaches the stream with the next run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection as db_connection

from activation.export.decisions import REASON_ATTRIBUTE, Decision, path_matcher
from activation.models import Dataflow, DeliveryLog
from core.stored_text import StoredText
from governance.evaluation import rule_paths
from governance.models import ConsentPolicy, ConsentSuppression
from governance.services import connection_action_codes
from profiles.models import MEMBER_STATUSES, Profile, SegmentMembership
from profiles.rules import Predicate, RuleMatches, matcher, supports_sql

NO_CONSENT_CODE = "no_consent"
NO_CONSENT_REASON = StoredText("no consent")()


def consent_policies_for(marketing_actions: Iterable[str]) -> list[ConsentPolicy]:
    """The enabled consent policies that apply to a connection with these actions."""
    return list(
        ConsentPolicy.objects.filter(
            enabled=True, marketing_actions__code__in=list(marketing_actions)
        )
        .distinct()
        .order_by("name")
    )


def consent_policies_for_dataflow(
    dataflow: Dataflow, *, actions: frozenset[str] | None = None
) -> list[ConsentPolicy]:
    """`actions`: the connection's marketing action codes, when already read."""
    if dataflow.connection_id is None:
        return []
    if actions is None:
        actions = connection_action_codes(dataflow.connection)
    return consent_policies_for(actions)


def consent_rule(policies: list[ConsentPolicy]) -> dict | None:
    """One rule every applying policy's condition must meet (None: no policy applies)."""
    if not policies:
        return None
    return {"and": [policy.condition for policy in policies]}


@dataclass
class ConsentGate:
    """The consent check of one run: which snapshots may go, which get suppressed."""

    dataflow_id: int
    consents: Predicate
    paths: frozenset[str]

    @classmethod
    def for_dataflow(
        cls, dataflow: Dataflow, *, actions: frozenset[str] | None = None
    ) -> ConsentGate | None:
        rule = consent_rule(consent_policies_for_dataflow(dataflow, actions=actions))
        if rule is None:
            return None
        return cls(dataflow.pk, matcher(rule), frozenset(rule_paths(rule)))

    def add_consent_changes(self, decision: Decision, changes: Iterable) -> None:
        """A profile whose consent was written is exported (suppressed, or back in full)."""
        touches = path_matcher(self.paths)
        for change in changes:
            if any(touches(path) for path in change.written_paths):
                decision.add(change.profile_id, REASON_ATTRIBUTE)

    def split(self, snapshots: dict) -> tuple[set[int], set[int]]:
        """(profiles to send a suppression record, profiles excluded for no consent)."""
        refused = {pid for pid, snap in snapshots.items() if not self.consents(snap.attributes)}
        if not refused:
            return set(), set()
        exported = set(
            DeliveryLog.objects.filter(dataflow_id=self.dataflow_id, profile_id__in=refused)
            .values_list("profile_id", flat=True)
            .distinct()
        )
        suppressed = set(
            ConsentSuppression.objects.filter(
                dataflow_id=self.dataflow_id, profile_id__in=exported
            ).values_list("profile_id", flat=True)
        )
        suppress = exported - suppressed
        return suppress, refused - suppress

    def settle(self, delivered: Iterable[int], suppressions: set[int]) -> None:
        """Remember the suppressions sent; a full record sent ends a suppression."""
        delivered = set(delivered)
        sent = delivered & suppressions
        ConsentSuppression.objects.bulk_create(
            [ConsentSuppression(dataflow_id=self.dataflow_id, profile_id=pid) for pid in sent],
            ignore_conflicts=True,
        )
        back = delivered - suppressions
        if back:
            ConsentSuppression.objects.filter(
                dataflow_id=self.dataflow_id, profile_id__in=back
            ).delete()


def members_without_consent(*, dataflow: Dataflow) -> int:
    """Distinct current members of the dataflow's segments that consent would exclude."""
    rule = consent_rule(consent_policies_for_dataflow(dataflow))
    if rule is None:
        return 0
    segment_ids = list(dataflow.mapped_segments.values_list("segment_id", flat=True))
    members = SegmentMembership.objects.filter(
        segment_id__in=segment_ids, status__in=MEMBER_STATUSES
    ).values("profile_id")
    profiles = Profile.objects.filter(id__in=members)
    if supports_sql(db_connection):
        return profiles.count() - profiles.filter(RuleMatches(rule)).count()
    consents = matcher(rule)
    return sum(
        1 for attrs in profiles.values_list("attributes", flat=True) if not consents(attrs or {})
    )
