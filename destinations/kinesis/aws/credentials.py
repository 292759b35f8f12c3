"""What a connection authenticates with; the secret never shows in repr() or logs."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from destinations.models import Connection


@dataclass(frozen=True)
class AwsCredentials:
    """What a connection authenticates with. The secret never shows in repr().

    Equality and hashing use `fingerprint` (a digest of the secret) instead of the
    secret itself, so the client cache, keyed on these credentials, tells secrets
    apart without comparing or keeping the secret as a key.
    """

    region: str
    access_key_id: str = ""
    secret_access_key: str = field(default="", repr=False, compare=False)
    role_arn: str = ""
    external_id: str = field(default="", repr=False)
    fingerprint: str = field(init=False, repr=False)

    def __post_init__(self) -> None:
        digest = hashlib.sha256(self.secret_access_key.encode()).hexdigest()[:16]
        object.__setattr__(self, "fingerprint", digest)

    @property
    def uses_role(self) -> bool:
        return bool(self.role_arn)

    @property
    def masked_access_key_id(self) -> str:
        return mask_key_id(self.access_key_id)


def mask_key_id(key: str) -> str:
    """AKIA…WXYZ: enough to recognise a key, not enough to use it."""
    if len(key) <= 8:
        return "…" if key else ""
    return f"{key[:4]}…{key[-4:]}"


def credentials_for(connection: Connection) -> AwsCredentials:
    """The credentials stored on a connection, secret decrypted (never logged)."""
    from destinations.models import AuthMethod

    uses_role = connection.auth_method == AuthMethod.IAM_ROLE
    return AwsCredentials(
        region=connection.region,
        access_key_id=connection.access_key_id,
        secret_access_key=connection.get_secret() if connection.access_key_id else "",
        role_arn=connection.role_arn if uses_role else "",
        external_id=connection.external_id if uses_role else "",
    )
