"""/api/v1/governance: labels, marketing actions, policies, consent policies, the labels of
each path and namespace, and policy evaluation (shaped after the reference's Policy
Service). Everyone signed in reads; only Admins change governance."""

from __future__ import annotations

from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.http import HttpRequest, JsonResponse
from ninja import Field, Router, Schema, Status

from activation.models import Dataflow
from api.common import validation_error
from core.api_errors import ApiError, ErrorOut, error_body
from core.roles import user_is_admin
from governance import services
from governance.evaluation import DataUse, SegmentUse, evaluate
from governance.models import (
    AssignmentTarget,
    ConsentPolicy,
    DataUsageLabel,
    DataUsagePolicy,
    LabelAssignment,
    MarketingAction,
)
from governance.services import PolicyViolationError
from profiles.models import Segment

router = Router(tags=["governance"])
ERRORS = {200: dict[str, Any], 201: dict[str, Any], 400: ErrorOut, 403: ErrorOut, 404: ErrorOut}
ADMINS_ONLY = "Only Admins change data governance."
CHAIN_FIELDS = {
    "attribute": "profileSelectors",
    "identity": "identitySelectors",
    "segment": "segmentSelectors",
}


class PolicyViolationApiError(ApiError):
    """422 with the violations (and their chains) next to the usual error keys."""

    def __init__(self, error: PolicyViolationError) -> None:
        fields: dict[str, str] = {}
        for violation in error.violations:
            for chain in violation.chains:
                key = CHAIN_FIELDS[chain.source_kind]
                text = violation.describe(chain)
                fields[key] = f"{fields[key]}; {text}" if key in fields else text
        super().__init__(422, "policy_violation", str(error), fields)
        self.violations = [v.as_dict() for v in error.violations]


def register(api: Any) -> None:
    """Mount the router and the 422 handler on the project's NinjaAPI (config/api.py)."""
    api.add_router("/governance", router)

    @api.exception_handler(PolicyViolationApiError)
    def _violation(request: HttpRequest, exc: PolicyViolationApiError) -> JsonResponse:
        # The error keeps its one shape; the violations go next to it.
        body = error_body(exc.code, exc.message, exc.fields)
        body["detail"] = {"violations": exc.violations}
        return JsonResponse(body, status=422)


def _require_admin(request: HttpRequest) -> None:
    if not user_is_admin(request.user):
        raise ApiError(403, "forbidden", ADMINS_ONLY)


def _invalid(exc: ValidationError) -> ApiError:
    return validation_error(exc, field="body")


# --- labels and marketing actions ------------------------------------------------------


def label_out(label: DataUsageLabel) -> dict[str, Any]:
    return {
        "code": label.code,
        "name": label.name,
        "family": label.family,
        "description": label.description,
        "core": label.core,
    }


class LabelIn(Schema):
    code: str = Field(max_length=32)
    name: str = Field(max_length=200)
    family: Literal["contract", "identity", "sensitive"]
    description: str = ""


@router.get("/labels", response=dict[str, Any], summary="List data-usage labels")
def labels_list(request: HttpRequest) -> dict:
    return {"items": [label_out(label) for label in DataUsageLabel.objects.all()]}


@router.post("/labels", response=ERRORS, summary="Create a custom label (Admins)")
def labels_create(request: HttpRequest, payload: LabelIn):
    return _create(request, services.label_create, payload, label_out)


def action_out(action: MarketingAction) -> dict[str, Any]:
    return {
        "code": action.code,
        "name": action.name,
        "description": action.description,
        "core": action.core,
    }


class ActionIn(Schema):
    code: str = Field(max_length=64)
    name: str = Field(max_length=200)
    description: str = ""


@router.get("/marketingActions", response=dict[str, Any], summary="List marketing actions")
def actions_list(request: HttpRequest) -> dict:
    return {"items": [action_out(a) for a in MarketingAction.objects.all()]}


@router.post("/marketingActions", response=ERRORS, summary="Create a custom marketing action")
def actions_create(request: HttpRequest, payload: ActionIn):
    return _create(request, services.marketing_action_create, payload, action_out)


def _create(request: HttpRequest, create: Any, payload: Schema, out: Any) -> Status:
    _require_admin(request)
    try:
        created = create(**payload.dict())
    except ValidationError as exc:
        raise _invalid(exc) from exc
    return Status(201, out(created))


# --- labels of paths and namespaces ----------------------------------------------------


class LabelsIn(Schema):
    labels: list[str] = Field(max_length=100)


def _labels(codes: list[str]) -> list[DataUsageLabel]:
    labels = list(DataUsageLabel.objects.filter(code__in=codes))
    unknown = sorted(set(codes) - {label.code for label in labels})
    if unknown:
        raise ApiError(
            400, "invalid_input", f"labels: unknown label {unknown[0]}.", {"labels": unknown[0]}
        )
    return labels


def _assignments(kind: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for target, code in LabelAssignment.objects.filter(target_type=kind).values_list(
        "target", "label__code"
    ):
        found.setdefault(target, []).append(code)
    return {target: sorted(codes) for target, codes in sorted(found.items())}


@router.get("/paths", response=dict[str, Any], summary="Labels of attribute paths")
def paths_list(request: HttpRequest) -> dict:
    return {"items": _assignments(AssignmentTarget.ATTRIBUTE)}


@router.put("/paths/{path}", response=ERRORS, summary="Set the labels of an attribute path")
def paths_set(request: HttpRequest, path: str, payload: LabelsIn):
    return _set(request, AssignmentTarget.ATTRIBUTE, path, payload)


@router.get("/namespaces", response=dict[str, Any], summary="Labels of identity namespaces")
def namespaces_list(request: HttpRequest) -> dict:
    return {"items": _assignments(AssignmentTarget.NAMESPACE)}


@router.put("/namespaces/{namespace}", response=ERRORS, summary="Set a namespace's labels")
def namespaces_set(request: HttpRequest, namespace: str, payload: LabelsIn):
    return _set(request, AssignmentTarget.NAMESPACE, namespace, payload)


def _set(request: HttpRequest, kind: str, target: str, payload: LabelsIn) -> dict:
    _require_admin(request)
    if len(target) > 500:
        raise ApiError(400, "invalid_input", "path: at most 500 characters.", {"path": "too long"})
    try:
        services.labels_set(target_type=kind, target=target, labels=_labels(payload.labels))
    except ValidationError as exc:
        raise _invalid(exc) from exc
    return {"target": target, "labels": sorted(payload.labels)}


# --- data-usage policies ---------------------------------------------------------------


def policy_out(policy: DataUsagePolicy) -> dict[str, Any]:
    return {
        "id": policy.pk,
        "name": policy.name,
        "description": policy.description,
        "marketingAction": policy.marketing_action.code,
        "operator": policy.operator,
        "labels": sorted(label.code for label in policy.labels.all()),
        "expression": policy.expression(),
        "enabled": policy.enabled,
        "core": policy.core,
    }


class PolicyIn(Schema):
    name: str = Field(max_length=200)
    description: str = ""
    marketing_action: str = Field(alias="marketingAction")
    operator: Literal["and", "or"] = "or"
    labels: list[str] = Field(min_length=1, max_length=50)
    enabled: bool = True


class PolicyPatch(Schema):
    name: str | None = Field(None, max_length=200)
    description: str | None = None
    marketing_action: str | None = Field(None, alias="marketingAction")
    operator: Literal["and", "or"] | None = None
    labels: list[str] | None = Field(None, min_length=1, max_length=50)
    enabled: bool | None = None


def _action(code: str) -> MarketingAction:
    action = MarketingAction.objects.filter(code=code).first()
    if action is None:
        raise ApiError(
            400,
            "invalid_input",
            f"marketingAction: unknown marketing action {code}.",
            {"marketingAction": "unknown"},
        )
    return action


def _policy(policy_id: int) -> DataUsagePolicy:
    policy = DataUsagePolicy.objects.filter(pk=policy_id).first()
    if policy is None:
        raise ApiError(404, "not_found", f"There is no policy {policy_id}.")
    return policy


@router.get("/policies", response=dict[str, Any], summary="List data-usage policies")
def policies_list(request: HttpRequest) -> dict:
    policies = DataUsagePolicy.objects.select_related("marketing_action").prefetch_related("labels")
    return {"items": [policy_out(p) for p in policies]}


@router.get("/policies/{int:policy_id}", response=ERRORS, summary="Read a policy")
def policies_detail(request: HttpRequest, policy_id: int):
    return policy_out(_policy(policy_id))


@router.post("/policies", response=ERRORS, summary="Create a policy (Admins)")
def policies_create(request: HttpRequest, payload: PolicyIn):
    _require_admin(request)
    try:
        policy = services.policy_save(
            policy=None,
            name=payload.name,
            description=payload.description,
            marketing_action=_action(payload.marketing_action),
            operator=payload.operator,
            labels=_labels(payload.labels),
            enabled=payload.enabled,
        )
    except ValidationError as exc:
        raise _invalid(exc) from exc
    return Status(201, policy_out(policy))


@router.patch(
    "/policies/{int:policy_id}",
    response=ERRORS,
    summary="Edit, enable or disable a policy (core policies: only enabled)",
)
def policies_update(request: HttpRequest, policy_id: int, payload: PolicyPatch):
    _require_admin(request)
    policy = _policy(policy_id)
    current = policy_out(policy)
    try:
        policy = services.policy_save(
            policy=policy,
            name=payload.name if payload.name is not None else policy.name,
            description=payload.description
            if payload.description is not None
            else policy.description,
            marketing_action=_action(payload.marketing_action or current["marketingAction"]),
            operator=payload.operator or policy.operator,
            labels=_labels(payload.labels if payload.labels is not None else current["labels"]),
            enabled=payload.enabled if payload.enabled is not None else policy.enabled,
        )
    except ValidationError as exc:
        raise _invalid(exc) from exc
    return policy_out(policy)


# --- consent policies ------------------------------------------------------------------


def consent_out(policy: ConsentPolicy) -> dict[str, Any]:
    return {
        "id": policy.pk,
        "name": policy.name,
        "description": policy.description,
        "marketingActions": sorted(a.code for a in policy.marketing_actions.all()),
        "condition": policy.condition,
        "enabled": policy.enabled,
    }


class ConsentIn(Schema):
    name: str = Field(max_length=200)
    description: str = ""
    marketing_actions: list[str] = Field(alias="marketingActions", min_length=1)
    condition: dict[str, Any]
    enabled: bool = True


class ConsentPatch(Schema):
    name: str | None = Field(None, max_length=200)
    description: str | None = None
    marketing_actions: list[str] | None = Field(None, alias="marketingActions", min_length=1)
    condition: dict[str, Any] | None = None
    enabled: bool | None = None


@router.get("/consentPolicies", response=dict[str, Any], summary="List consent policies")
def consent_list(request: HttpRequest) -> dict:
    policies = ConsentPolicy.objects.prefetch_related("marketing_actions")
    return {"items": [consent_out(p) for p in policies]}


@router.post("/consentPolicies", response=ERRORS, summary="Create a consent policy (Admins)")
def consent_create(request: HttpRequest, payload: ConsentIn):
    _require_admin(request)
    return Status(201, consent_out(_consent_save(None, payload)))


@router.patch("/consentPolicies/{int:policy_id}", response=ERRORS, summary="Edit or enable/disable")
def consent_update(request: HttpRequest, policy_id: int, payload: ConsentPatch):
    _require_admin(request)
    policy = ConsentPolicy.objects.filter(pk=policy_id).first()
    if policy is None:
        raise ApiError(404, "not_found", f"There is no consent policy {policy_id}.")
    return consent_out(_consent_save(policy, payload))


def _consent_save(policy: ConsentPolicy | None, payload: ConsentIn | ConsentPatch) -> ConsentPolicy:
    current = consent_out(policy) if policy else {}
    codes = payload.marketing_actions or current.get("marketingActions", [])
    actions = [_action(code) for code in codes]
    try:
        return services.consent_policy_save(
            policy=policy,
            name=payload.name if payload.name is not None else current["name"],
            description=payload.description
            if payload.description is not None
            else current.get("description", ""),
            marketing_actions=actions,
            condition=payload.condition if payload.condition is not None else current["condition"],
            enabled=payload.enabled if payload.enabled is not None else current["enabled"],
        )
    except ValidationError as exc:
        raise _invalid(exc) from exc


# --- evaluation ------------------------------------------------------------------------


class EvaluateIn(Schema):
    dataflow_id: int | None = Field(None, alias="dataflowId", ge=1, le=2**63 - 1)
    marketing_actions: list[str] = Field(default_factory=list, alias="marketingActions")
    paths: list[str] = Field(default_factory=list, max_length=1000)
    namespaces: list[str] = Field(default_factory=list, max_length=100)
    segment_ids: list[str] = Field(default_factory=list, alias="segmentIds", max_length=100)


@router.post(
    "/evaluate",
    response=ERRORS,
    summary="Evaluate the policies for marketing actions and paths, or for a dataflow",
)
def policies_evaluate(request: HttpRequest, payload: EvaluateIn):
    if payload.dataflow_id is not None:
        dataflow = Dataflow.objects.filter(pk=payload.dataflow_id).first()
        if dataflow is None:
            raise ApiError(
                400, "invalid_input", "dataflowId: no such dataflow.", {"dataflowId": "unknown"}
            )
        use = services.data_use_for_dataflow(dataflow)
    else:
        if not payload.marketing_actions:
            raise ApiError(
                400,
                "invalid_input",
                "marketingActions: name at least one (or send dataflowId).",
                {"marketingActions": "required"},
            )
        for code in payload.marketing_actions:
            _action(code)
        segments = Segment.objects.filter(pk__in=_uuids(payload.segment_ids))
        use = DataUse(
            marketing_actions=frozenset(payload.marketing_actions),
            attributes=tuple(payload.paths),
            identities=tuple((ns, False) for ns in payload.namespaces),
            segments=tuple(SegmentUse(str(s.pk), s.name, s.rule or {}) for s in segments),
        )
    violations = evaluate(use)
    return {
        "marketingActions": sorted(use.marketing_actions),
        "violations": [v.as_dict() for v in violations],
    }


def _uuids(values: list[str]) -> list[str]:
    import uuid

    found = []
    for index, value in enumerate(values):
        try:
            found.append(str(uuid.UUID(value)))
        except ValueError as exc:
            raise ApiError(
                400,
                "invalid_input",
                f"segmentIds[{index}]: not a segment id.",
                {f"segmentIds[{index}]": "not a UUID"},
            ) from exc
    return found
