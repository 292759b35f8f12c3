from typing import Any

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.input_policy import InputError, parse_json
from profiles.editor import MATCHES, Row, attach_errors, rows_from_data, rule_from_rows
from profiles.models import SEGMENT_DESCRIPTION_MAX_LENGTH, SEGMENT_NAME_MAX_LENGTH
from profiles.rules import validate_rule


class SegmentForm(forms.Form):
    """Name, description, status and the rule, from the builder or the JSON editor."""

    name = forms.CharField(max_length=SEGMENT_NAME_MAX_LENGTH)
    description = forms.CharField(
        required=False,
        max_length=SEGMENT_DESCRIPTION_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    active = forms.BooleanField(required=False, initial=True)
    mode = forms.ChoiceField(choices=[("builder", "Builder"), ("json", "JSON")], initial="builder")
    match = forms.ChoiceField(choices=list(MATCHES.items()), required=False, initial="and")
    rule_json = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 14}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rows: list[Row] = rows_from_data(self.data) if self.is_bound else []
        self.rule: dict | None = None

    def clean(self) -> dict:
        cleaned = super().clean()
        self.rule, problems = rule_from_submission(self.data, self.rows)
        in_json = self.data.get("mode") == "json"
        for problem in problems:
            self.add_error("rule_json" if in_json else None, problem)
        if not in_json and any(row.errors for row in self.rows):
            self.add_error(None, gettext("Fix the conditions marked below."))
        return cleaned


def rule_from_submission(data: Any, rows: list[Row]) -> tuple[dict | None, list[str]]:
    """The rule the editor submitted and the problems not attached to a builder row."""
    if data.get("mode") == "json":
        text = data.get("rule_json", "")
        try:
            rule = parse_json(text, field="rule", check=False)  # validate_rule checks it
        except InputError as exc:
            return None, [gettext("The rule %(problem)s") % {"problem": exc.message}]
        return rule, [str(e) for e in validate_rule(rule)]
    if not rows:
        return None, [gettext("Add at least one condition.")]
    rule = rule_from_rows(data.get("match", "and"), rows)
    return rule, attach_errors(rows, validate_rule(rule))


class ProfilePatchForm(forms.Form):
    """A partial update of a profile's attributes, as JSON (null removes)."""

    attributes = forms.CharField(label=_("Attributes"), widget=forms.Textarea(attrs={"rows": 8}))

    def clean_attributes(self) -> dict:
        try:
            value = parse_json(self.cleaned_data["attributes"], field="attributes")
        except InputError as exc:
            raise forms.ValidationError(str(exc)) from exc
        if not isinstance(value, dict):
            raise forms.ValidationError(
                gettext('Use a JSON object, e.g. {"loyalty": {"tier": "gold"}}.')
            )
        return value
