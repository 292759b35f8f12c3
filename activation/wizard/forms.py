"""Forms of the activation wizard's steps.

The mapping step edits a list that grows and shrinks (rows added from the
schema picker, removed, typed): it is parsed from the POST into a working set
that re-renders with per-row errors and is only stored when valid.
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.http import QueryDict
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from activation.models import Dataflow
from activation.services import (
    MAX_ATTRIBUTES,
    PROFILE_ID,
    SOFT_ATTRIBUTE_LIMIT,
    AttributeSpec,
    IdentitySpec,
    attribute_field_errors,
    identity_problems,
    partition_key_error,
)
from destinations.models import Connection

DEFAULT_ATTRIBUTES = ["person.name.firstName", "person.name.lastName", "personalEmail.address"]


class ConnectionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Connection) -> str:
        return gettext("%(name)s — stream %(stream)s (%(region)s)") % {
            "name": obj.name,
            "stream": obj.stream_name,
            "region": obj.region,
        }


class DestinationForm(forms.Form):
    connection = ConnectionChoiceField(
        queryset=Connection.objects.none(),
        widget=forms.RadioSelect,
        empty_label=None,
        error_messages={
            "required": _("Choose the destination to activate segments to."),
            "invalid_choice": _("That destination does not exist."),
        },
    )

    def __init__(self, *args: Any, connections: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["connection"].queryset = connections


class FinishForm(forms.Form):
    name = forms.CharField(
        max_length=200,
        label=_("Dataflow name"),
        error_messages={"required": _("Give the dataflow a name.")},
    )


def parse_uuids(values: Iterable[str]) -> list[uuid.UUID]:
    """The well-formed UUIDs among `values` (anything else is ignored)."""
    found = []
    for value in values:
        try:
            found.append(uuid.UUID(value))
        except (TypeError, ValueError):
            continue
    return found


def segment_selection(*, current: set[uuid.UUID], data: QueryDict) -> set[uuid.UUID]:
    """The selection after a post of one page: checkboxes count only for shown rows."""
    shown = set(parse_uuids(data.getlist("shown")))
    checked = set(parse_uuids(data.getlist("segment"))) & shown
    removed = set(parse_uuids(data.getlist("unselect")))
    return ((current - shown) | checked) - removed


@dataclass
class AttributeRow:
    source_path: str
    target_path: str = ""
    source_errors: list[str] = field(default_factory=list)
    target_errors: list[str] = field(default_factory=list)
    known: bool = True

    @property
    def filled(self) -> bool:
        return bool(self.source_path or self.target_path)

    @property
    def errors(self) -> list[str]:
        return self.source_errors + self.target_errors


@dataclass
class IdentityRow:
    namespace: str
    selected: bool
    hashed: bool
    coverage: float | None = None

    @property
    def exported_namespace(self) -> str:
        return f"{self.namespace}_lc_sha256" if self.hashed else self.namespace

    @property
    def coverage_percent(self) -> int | None:
        return None if self.coverage is None else round(self.coverage * 100)


class MappingForm:
    """Attributes, identities, partition key and the export option of one dataflow."""

    def __init__(
        self,
        *,
        namespaces: list[str],
        known_paths: set[str],
        coverage: dict[str, float],
        rows: list[AttributeRow],
        identities: list[IdentityRow],
        partition_key: str,
        export_only_on_value_change: bool,
    ) -> None:
        self.namespaces = namespaces
        self.known_paths = known_paths
        self.coverage = coverage
        self.rows = rows
        self.identities = identities
        self.partition_key = partition_key
        self.export_only_on_value_change = export_only_on_value_change
        self.errors: list[str] = []
        self.partition_key_error = ""
        self.notice = ""
        self._mark_known()

    @classmethod
    def for_dataflow(
        cls,
        dataflow: Dataflow,
        *,
        namespaces: list[str],
        known_paths: set[str],
        coverage: dict[str, float],
        default_partition_key: str,
    ) -> "MappingForm":
        """The saved mapping, or the defaults when the step was never saved."""
        mappings = list(dataflow.attribute_mappings.all())
        selections = {s.namespace: s.hashed for s in dataflow.identity_selections.all()}
        if not mappings and not selections:
            rows = [AttributeRow(path) for path in DEFAULT_ATTRIBUTES]
            chosen = dict.fromkeys(namespaces, False)
            partition_key = default_partition_key
        else:
            rows = [AttributeRow(m.source_path, m.target_path) for m in mappings]
            chosen = selections
            partition_key = dataflow.partition_key_source or default_partition_key
        all_namespaces = sorted(set(namespaces) | set(chosen))
        identities = [
            IdentityRow(ns, ns in chosen, chosen.get(ns, False), coverage.get(ns))
            for ns in all_namespaces
        ]
        return cls(
            namespaces=all_namespaces,
            known_paths=known_paths,
            coverage=coverage,
            rows=rows,
            identities=identities,
            partition_key=partition_key,
            export_only_on_value_change=dataflow.export_only_on_value_change,
        )

    @classmethod
    def from_post(
        cls,
        data: QueryDict,
        *,
        namespaces: list[str],
        known_paths: set[str],
        coverage: dict[str, float],
    ) -> "MappingForm":
        sources = data.getlist("source_path")
        targets = data.getlist("target_path")
        rows = [
            AttributeRow(source.strip(), (targets[i] if i < len(targets) else "").strip())
            for i, source in enumerate(sources)
        ]
        selected = set(data.getlist("identity"))
        hashed = set(data.getlist("hashed"))
        # Namespaces posted back stay listed even if no longer sampled.
        all_namespaces = sorted(set(namespaces) | (selected & set(data.getlist("namespace"))))
        identities = [
            IdentityRow(ns, ns in selected, ns in hashed, coverage.get(ns)) for ns in all_namespaces
        ]
        return cls(
            namespaces=all_namespaces,
            known_paths=known_paths,
            coverage=coverage,
            rows=rows,
            identities=identities,
            partition_key=data.get("partition_key", "").strip(),
            export_only_on_value_change=data.get("export_only_on_value_change") == "on",
        )

    def _mark_known(self) -> None:
        for row in self.rows:
            row.known = not self.known_paths or row.source_path in self.known_paths

    # --- edits of the working set (no validation, nothing stored) ---

    def add(self, path: str) -> None:
        path = path.strip()
        if any(row.source_path == path for row in self.rows):
            self.notice = gettext("%(path)s is already mapped.") % {"path": path}
            return
        self.rows = [row for row in self.rows if row.source_path or row.target_path]
        self.rows.append(AttributeRow(path))
        self._mark_known()

    def add_blank(self) -> None:
        self.rows.append(AttributeRow(""))

    def remove(self, index: str) -> None:
        try:
            del self.rows[int(index)]
        except (ValueError, IndexError):
            return

    # --- validation ---

    @property
    def partition_key_choices(self) -> list[tuple[str, str]]:
        choices = [(PROFILE_ID, gettext("Profile id"))]
        for row in self.identities:
            label = row.namespace
            if row.coverage is not None:
                label += " " + gettext("(%(percent)s %% of sampled members have one)") % {
                    "percent": row.coverage_percent
                }
            choices.append((row.namespace, label))
        return choices

    @property
    def over_soft_limit(self) -> bool:
        return len(self.rows) > SOFT_ATTRIBUTE_LIMIT

    @property
    def soft_limit(self) -> int:
        return SOFT_ATTRIBUTE_LIMIT

    def is_valid(self) -> bool:
        """Validate in place; blank rows are ignored but kept, so row indices stay the page's."""
        filled = [row for row in self.rows if row.filled]
        for row in self.rows:
            row.source_errors, row.target_errors = [], []
        for row, errors in zip(filled, attribute_field_errors(self.specs()), strict=True):
            row.source_errors, row.target_errors = errors["source"], errors["target"]
        self.errors = []
        if len(filled) > MAX_ATTRIBUTES:
            self.errors.append(
                gettext("Map at most %(max)s attributes (%(count)s now): remove some rows.")
                % {"max": MAX_ATTRIBUTES, "count": len(filled)}
            )
        if not filled and not any(row.selected for row in self.identities):
            self.errors.append(gettext("Map at least one attribute or identity."))
        self.errors += identity_problems(self.identity_specs())
        self.partition_key_error = ""
        if self.partition_key not in {value for value, _ in self.partition_key_choices}:
            self.partition_key_error = gettext(
                "Choose the partition key: the profile id or an identity."
            )
        else:
            self.partition_key_error = partition_key_error(
                self.partition_key, self.identity_specs()
            )
        return (
            not self.errors
            and not self.partition_key_error
            and not any(row.errors for row in self.rows)
        )

    def specs(self) -> list[AttributeSpec]:
        return [AttributeSpec(row.source_path, row.target_path) for row in self.rows if row.filled]

    @property
    def mapped_paths(self) -> set[str]:
        """Source paths already in the mapping (the schema picker marks them)."""
        return {row.source_path for row in self.rows if row.source_path}

    def identity_specs(self) -> list[IdentitySpec]:
        return [IdentitySpec(row.namespace, row.hashed) for row in self.identities if row.selected]
