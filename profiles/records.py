"""Incoming profile records: parse and validate one JSON record.

The API, the import command, the demo data and the UI all send records in
one shape::

    {"identityMap": {"email": [{"id": "ann@example.com"}], "crmid": [{"id": "C-1"}]},
     "attributes": {"person": {"name": {"firstName": "Ann"}}, "loyalty": null}}

``identityMap`` entries follow XDM: ``primary`` and ``authenticatedState`` are
accepted (and not stored); ``"remove": true`` detaches that identity from the
matched profile. ``attributes`` is a partial update (see profiles.attributes).
Every problem is reported with its location so the caller can name the field.
"""

import re
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from core.input_policy import printable, text_problem
from profiles.attributes import validate_document

MAX_IDENTITIES = 50
MAX_IDENTITY_LENGTH = 512
RECORD_KEYS = {"identityMap", "attributes"}
IDENTITY_KEYS = {"id", "primary", "authenticatedState", "remove"}

IdentityKey = tuple[str, str]


@dataclass
class RecordError:
    """Why a record was not written, in the API's error shape."""

    code: str
    message: str
    fields: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "fields": self.fields}


@dataclass
class ProfileRecord:
    """A valid record: identities to match (and add), identities to remove, a patch."""

    identities: list[IdentityKey]
    removals: list[IdentityKey]
    attributes: dict


def normalize_identity(namespace: str, value: str) -> str:
    """Stored form of an identity value: trimmed; e-mail addresses lower-cased."""
    value = value.strip()
    return value.lower() if namespace == "email" else value


# The common e-mail address in one compiled regex: a subset of what Django's
# validate_email accepts (its dot-atom local part, an ASCII host name), so only the
# unusual ones (quoted local parts, IDN domains, address literals) pay for Django's.
_PLAIN_EMAIL = re.compile(
    r"[-!#$%&'*+/=?^_`{}|~0-9a-z]+(\.[-!#$%&'*+/=?^_`{}|~0-9a-z]+)*"
    r"@([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}",
    re.IGNORECASE,
)


def identity_value_problem(namespace: str, value: str) -> str | None:
    """Why a (normalized) identity value is refused for namespace, or None."""
    if namespace == "email" and not (len(value) <= 320 and _PLAIN_EMAIL.fullmatch(value)):
        try:
            validate_email(value)
        except ValidationError:
            return f"'{value}' is not an e-mail address"
    return None


def parse_record(data: Any, *, namespaces: set[str]) -> ProfileRecord | RecordError:
    """A ProfileRecord, or a RecordError naming every bad field."""
    if not isinstance(data, dict):
        return RecordError("invalid_record", "A profile record must be a JSON object.")
    # The input policy (core/input_policy.py) is checked field by field below: every
    # value is type-checked, identity ids as text, attributes by validate_document.
    errors: dict[str, str] = {}
    if data.keys() - RECORD_KEYS:
        for key in sorted(map(str, data.keys() - RECORD_KEYS)):
            errors[printable(key)] = "unknown field: a record has identityMap and attributes"
    identities, removals = _parse_identity_map(data.get("identityMap"), namespaces, errors)
    attributes = data.get("attributes", {})
    if attributes is None:
        attributes = {}
    errors.update(validate_document(attributes))
    if errors:
        first = next(iter(errors.items()))
        return RecordError("invalid_record", f"{first[0]}: {first[1]}", errors)
    return ProfileRecord(identities=identities, removals=removals, attributes=attributes)


def _parse_identity_map(
    identity_map: Any, namespaces: set[str], errors: dict[str, str]
) -> tuple[list[IdentityKey], list[IdentityKey]]:
    identities: list[IdentityKey] = []
    removals: list[IdentityKey] = []
    if identity_map is None:
        errors["identityMap"] = "is required: at least one identity matches or creates the profile"
        return identities, removals
    if not isinstance(identity_map, dict) or not identity_map:
        errors["identityMap"] = 'must be an object such as {"email": [{"id": "..."}]}'
        return identities, removals
    for namespace, items in identity_map.items():
        where = f"identityMap.{printable(namespace)}"
        if namespace not in namespaces:
            known = ", ".join(sorted(namespaces))
            errors[where] = (
                f"unknown identity namespace '{printable(namespace)}' (registered: {known})"
            )
            continue
        if not isinstance(items, list) or not items:
            errors[where] = 'must be a non-empty list such as [{"id": "..."}]'
            continue
        for i, item in enumerate(items):
            key = _parse_identity(namespace, item, f"{where}[{i}]", errors)
            if key is None:
                continue
            target = removals if item.get("remove") is True else identities
            if key not in target:
                target.append(key)
    both = [k for k in removals if k in identities]
    if both:
        errors["identityMap"] = f"{both[0][0]}:{both[0][1]} is both matched and removed"
    elif len(identities) + len(removals) > MAX_IDENTITIES:
        errors["identityMap"] = f"has more than {MAX_IDENTITIES} identities"
    elif not identities and not any(k.startswith("identityMap") for k in errors):
        errors["identityMap"] = "needs at least one identity that is not being removed"
    return identities, removals


def _parse_identity(
    namespace: str, item: Any, where: str, errors: dict[str, str]
) -> IdentityKey | None:
    if not isinstance(item, dict):
        errors[where] = 'must be an object such as {"id": "..."}'
        return None
    if not item.keys() <= IDENTITY_KEYS:
        unknown = sorted(map(printable, item.keys() - IDENTITY_KEYS))
        errors[f"{where}.{unknown[0]}"] = (
            "unknown field: use id, primary, authenticatedState, remove"
        )
        return None
    value = item.get("id")
    if not isinstance(value, str):
        errors[f"{where}.id"] = "is required and must be a string"
        return None
    if problem := text_problem(value):
        errors[f"{where}.id"] = problem
        return None
    value = normalize_identity(namespace, value)
    if not value:
        errors[f"{where}.id"] = "must not be empty"
        return None
    if len(value) > MAX_IDENTITY_LENGTH:
        errors[f"{where}.id"] = f"is longer than {MAX_IDENTITY_LENGTH} characters"
        return None
    for flag in ("primary", "remove"):
        if flag in item and not isinstance(item[flag], bool):
            errors[f"{where}.{flag}"] = "must be true or false"
            return None
    # A removal may name a value stored before the syntax check existed.
    if item.get("remove") is not True and (problem := identity_value_problem(namespace, value)):
        errors[f"{where}.id"] = problem
        return None
    return namespace, value
