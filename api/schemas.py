"""Request and response shapes of the REST API v1 (camelCase on the wire).

Inputs forbid unknown fields, so a typo ("secretkey") is a clear 400 naming
it instead of being silently ignored.
"""

import datetime as dt
import uuid
from typing import Any, Literal

from ninja import Field, Schema
from pydantic import ConfigDict
from pydantic.alias_generators import to_camel

from activation.services import MAX_ATTRIBUTES
from profiles.attributes import MAX_PATH_LENGTH


class ApiIn(Schema):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=False, extra="forbid")


class ApiOut(Schema):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class PageOut(ApiOut):
    count: int = Field(description="Items matching the filters, over all pages.")
    limit: int
    offset: int


# --- connectionSpecs ---------------------------------------------------------------


class AuthSpecOut(ApiOut):
    name: str = Field(description="The value of auth.specName that selects this method.")
    type: str
    spec: dict[str, Any] = Field(description="JSON Schema of auth.params.")


class TargetSpecOut(ApiOut):
    name: str
    spec: dict[str, Any] = Field(description="JSON Schema of the connection's params.")


class ConnectionSpecOut(ApiOut):
    id: str
    name: str
    description: str
    beta: bool
    docs_url: str
    version: str
    auth_spec: list[AuthSpecOut]
    target_spec: TargetSpecOut


class ConnectionSpecListOut(ApiOut):
    items: list[ConnectionSpecOut]


# --- connections ---------------------------------------------------------------------

AUTH_SPEC_NAMES = Literal["Access Key", "IAM Role"]


class ConnectionSpecRef(ApiIn):
    id: Literal["kinesis"] = "kinesis"
    version: str | None = Field(None, max_length=20)


class AuthParamsIn(ApiIn):
    access_key_id: str | None = Field(None, max_length=128)
    secret_key: str | None = Field(
        None,
        max_length=256,
        description="Write-only: encrypted at rest and never returned.",
        json_schema_extra={"writeOnly": True},
    )
    region: str | None = Field(None, max_length=32)
    role_arn: str | None = Field(None, max_length=2048)
    external_id: str | None = Field(None, max_length=1224)


class AuthIn(ApiIn):
    spec_name: AUTH_SPEC_NAMES = "Access Key"
    params: AuthParamsIn


class TargetParamsIn(ApiIn):
    stream: str = Field(max_length=128)
    include_segment_names: bool = False
    include_segment_timestamps: bool = False
    alerts_enabled: bool = True


class ConnectionCreateIn(ApiIn):
    name: str = Field(max_length=200)
    description: str = Field("", max_length=5000)
    connection_spec: ConnectionSpecRef = Field(default_factory=ConnectionSpecRef)
    auth: AuthIn
    params: TargetParamsIn
    marketing_actions: list[str] | None = Field(
        None, max_length=20, description="Marketing action codes (default: export_to_third_party)"
    )


class AuthPatchIn(ApiIn):
    spec_name: AUTH_SPEC_NAMES | None = None
    params: AuthParamsIn


class TargetParamsPatchIn(ApiIn):
    stream: str | None = Field(None, max_length=128)
    include_segment_names: bool | None = None
    include_segment_timestamps: bool | None = None
    alerts_enabled: bool | None = None


class ConnectionPatchIn(ApiIn):
    name: str | None = Field(None, max_length=200)
    description: str | None = Field(None, max_length=5000)
    auth: AuthPatchIn | None = None
    params: TargetParamsPatchIn | None = None
    marketing_actions: list[str] | None = Field(
        None, max_length=20, description="Marketing action codes (default: export_to_third_party)"
    )


class AuthParamsOut(ApiOut):
    access_key_id: str = Field(description="Masked: the first and last four characters.")
    region: str
    role_arn: str
    external_id: str


class AuthOut(ApiOut):
    spec_name: str
    params: AuthParamsOut
    secret_updated_at: dt.datetime | None


class TargetParamsOut(ApiOut):
    stream: str
    include_segment_names: bool
    include_segment_timestamps: bool
    alerts_enabled: bool


class HealthOut(ApiOut):
    status: str = Field(description="unknown, ok or failing")
    message: str
    checked_at: dt.datetime | None


class CheckItemOut(ApiOut):
    key: str
    label: str = Field(description="e.g. kinesis:PutRecords, or what was checked")
    status: str
    detail: str
    fix: str


class PermissionCheckOut(ApiOut):
    ok: bool | None = Field(description="null until the check has run")
    account_id: str
    items: list[CheckItemOut]
    stream: dict[str, Any] | None = Field(description="status, mode, shard count, ARN…")
    required_policy: dict[str, Any] = Field(
        description="The minimal IAM policy for this stream, ready to copy."
    )


class ConnectionSpecRefOut(ApiOut):
    id: str
    version: str


class ConnectionOut(ApiOut):
    id: int
    name: str
    description: str
    connection_spec: ConnectionSpecRefOut
    auth: AuthOut
    params: TargetParamsOut
    health: HealthOut
    permission_check: PermissionCheckOut
    marketing_actions: list[str]
    owner: str
    dataflow_count: int
    created_at: dt.datetime
    updated_at: dt.datetime
    etag: str


class ConnectionListOut(ApiOut):
    items: list[ConnectionOut]
    page: PageOut = Field(alias="_page")


# --- dataflows -----------------------------------------------------------------------


class SegmentValueIn(ApiIn):
    id: uuid.UUID
    name: str | None = Field(None, max_length=200, description="Ignored (read-only).")


class SegmentSelectorIn(ApiIn):
    type: Literal["PLATFORM_SEGMENT"] = "PLATFORM_SEGMENT"
    value: SegmentValueIn


class SegmentSelectorsIn(ApiIn):
    selectors: list[SegmentSelectorIn] = Field(min_length=1, max_length=500)


class ProfileValueIn(ApiIn):
    path: str = Field(
        max_length=MAX_PATH_LENGTH, description="Dotted attribute path, e.g. person.name.firstName"
    )
    target_path: str | None = Field(
        None, max_length=MAX_PATH_LENGTH, description="Exported under this path"
    )
    operator: Literal["EXISTS"] = "EXISTS"


class ProfileSelectorIn(ApiIn):
    type: Literal["JSON_PATH"] = "JSON_PATH"
    value: ProfileValueIn


class ProfileSelectorsIn(ApiIn):
    selectors: list[ProfileSelectorIn] = Field(default_factory=list, max_length=MAX_ATTRIBUTES)


class IdentitySelectorIn(ApiIn):
    namespace: str = Field(max_length=64)
    hashed: bool = Field(False, description="Lower-case + SHA-256, exported as <ns>_lc_sha256")


class IdentitySelectorsIn(ApiIn):
    selectors: list[IdentitySelectorIn] = Field(default_factory=list, max_length=100)


class PartitionKeyIn(ApiIn):
    source: str = Field(max_length=64, description="profile_id or an identity namespace")


class OptionsIn(ApiIn):
    export_only_on_value_change: bool = False


DATAFLOW_STATES = Literal["enabled", "disabled"]


class DataflowCreateIn(ApiIn):
    name: str = Field(max_length=200)
    connection_id: int = Field(ge=1, le=2**63 - 1)
    state: DATAFLOW_STATES = "enabled"
    segment_selectors: SegmentSelectorsIn
    profile_selectors: ProfileSelectorsIn = Field(default_factory=ProfileSelectorsIn)
    identity_selectors: IdentitySelectorsIn | None = Field(
        None, description="Default: every identity namespace found in the profile store."
    )
    partition_key: PartitionKeyIn | None = Field(None, description="Default: the wizard's choice.")
    options: OptionsIn = Field(default_factory=OptionsIn)


class OptionsPatchIn(ApiIn):
    export_only_on_value_change: bool | None = None


class DataflowPatchIn(ApiIn):
    name: str | None = Field(None, max_length=200)
    connection_id: int | None = Field(None, description="Read-only once created.")
    state: DATAFLOW_STATES | None = None
    segment_selectors: SegmentSelectorsIn | None = None
    profile_selectors: ProfileSelectorsIn | None = None
    identity_selectors: IdentitySelectorsIn | None = None
    partition_key: PartitionKeyIn | None = None
    options: OptionsPatchIn | None = None
    take_over: bool = Field(
        False,
        description="Discard an unfinished edit someone is making in the activation wizard "
        "(they are told) instead of answering 409 edit_in_progress.",
    )


class SegmentValueOut(ApiOut):
    id: uuid.UUID
    name: str
    mapping_created_at: dt.datetime
    mapping_updated_at: dt.datetime


class SegmentSelectorOut(ApiOut):
    type: str
    value: SegmentValueOut


class SegmentSelectorsOut(ApiOut):
    selectors: list[SegmentSelectorOut]


class ProfileValueOut(ApiOut):
    path: str
    target_path: str
    operator: str


class ProfileSelectorOut(ApiOut):
    type: str
    value: ProfileValueOut


class ProfileSelectorsOut(ApiOut):
    selectors: list[ProfileSelectorOut]


class IdentitySelectorOut(ApiOut):
    namespace: str
    hashed: bool
    exported_as: str


class IdentitySelectorsOut(ApiOut):
    selectors: list[IdentitySelectorOut]


class PartitionKeyOut(ApiOut):
    source: str


class OptionsOut(ApiOut):
    export_only_on_value_change: bool


class LinksOut(ApiOut):
    runs: str
    connection: str


class DataflowOut(ApiOut):
    id: int
    name: str
    state: str = Field(description="enabled, disabled or error")
    state_message: str
    connection_id: int | None
    segment_selectors: SegmentSelectorsOut
    profile_selectors: ProfileSelectorsOut
    identity_selectors: IdentitySelectorsOut
    partition_key: PartitionKeyOut
    options: OptionsOut
    last_activity_at: dt.datetime | None
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime
    etag: str
    warnings: list[str] = Field(default_factory=list)
    links: LinksOut = Field(alias="_links")


class DataflowListOut(ApiOut):
    items: list[DataflowOut]
    page: PageOut = Field(alias="_page")


# --- runs and segments ------------------------------------------------------------------


class RunMetricsOut(ApiOut):
    """Distinct profiles of the run window, each once in its final outcome:
    received = activated + excluded + failed."""

    profiles_received: int
    identities_activated: int = Field(description="delivered, whatever the attempts")
    identities_excluded: int = Field(description="deliberately not sent (see the run's issues)")
    identities_failed: int = Field(
        description="not delivered: the last attempt failed and nothing delivered it since"
    )
    delivered_after_retries: int = Field(
        description="of the activated, those that needed more than one attempt"
    )
    activation_rate: float | None = Field(
        description="(activated + excluded) / received, as the monitoring pages show it"
    )


class RunOut(ApiOut):
    id: int
    dataflow_id: int
    window_start: dt.datetime
    started_at: dt.datetime | None
    last_activity_at: dt.datetime | None
    duration_ms: int
    status: str = Field(description="processing, success, partial or failed")
    metrics: RunMetricsOut


class RunListOut(ApiOut):
    items: list[RunOut]
    page: PageOut = Field(alias="_page")


class SegmentOut(ApiOut):
    id: uuid.UUID
    name: str
    description: str
    status: str = Field(description="active or inactive")
    size: int = Field(description="Current members (realized or existing)")
    created_at: dt.datetime
    updated_at: dt.datetime


class SegmentListOut(ApiOut):
    items: list[SegmentOut]
    page: PageOut = Field(alias="_page")
