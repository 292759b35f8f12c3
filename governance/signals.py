"""Any change of labels, policies, marketing actions or a connection's declared actions
(UI, API or Django admin) re-evaluates the live dataflows once it commits."""

from typing import Any

from django.db.models.signals import m2m_changed, post_delete, post_save


def _changed(sender: Any, **kwargs: Any) -> None:
    from governance.enforcement import dataflows_enforce_on_commit

    if kwargs.get("action", "post_").startswith("post_"):
        dataflows_enforce_on_commit()


def connect_signals() -> None:
    from destinations.models import Connection
    from governance.models import DataUsageLabel, DataUsagePolicy, LabelAssignment, MarketingAction

    for model in (DataUsageLabel, DataUsagePolicy, LabelAssignment, MarketingAction):
        post_save.connect(_changed, sender=model, dispatch_uid=f"governance-{model.__name__}-save")
        post_delete.connect(_changed, sender=model, dispatch_uid=f"governance-{model.__name__}-del")
    for through in (DataUsagePolicy.labels.through, Connection.marketing_actions.through):
        m2m_changed.connect(_changed, sender=through, dispatch_uid=f"governance-{through.__name__}")
