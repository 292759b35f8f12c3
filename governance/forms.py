"""Governance forms: the marketing-actions field of the connect wizard and connection edit,
and the Data governance page's forms."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from governance.models import (
    ConsentPolicy,
    DataUsageLabel,
    DataUsagePolicy,
    LabelFamily,
    LabelOperator,
    MarketingAction,
)
from governance.services import DEFAULT_MARKETING_ACTION
from profiles.rules import validate_rule


def marketing_actions_field() -> forms.ModelMultipleChoiceField:
    return forms.ModelMultipleChoiceField(
        label=_("Marketing actions"),
        queryset=MarketingAction.objects.all(),
        to_field_name="code",
        required=False,
        initial=[DEFAULT_MARKETING_ACTION],
        widget=forms.CheckboxSelectMultiple,
        help_text=_(
            "What the data sent here is used for. Data-usage policies forbid some "
            "actions on labelled data; consent policies apply by action."
        ),
    )


class PolicyForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    marketing_action = forms.ModelChoiceField(
        label=_("Marketing action"), queryset=MarketingAction.objects.all(), to_field_name="code"
    )
    operator = forms.ChoiceField(label=_("Operator"), choices=LabelOperator.choices)
    labels = forms.ModelMultipleChoiceField(
        label=_("Labels"),
        queryset=DataUsageLabel.objects.all(),
        to_field_name="code",
        widget=forms.CheckboxSelectMultiple,
    )
    enabled = forms.BooleanField(label=_("Enabled"), required=False, initial=True)

    @classmethod
    def for_policy(cls, policy: DataUsagePolicy | None, data: Any = None) -> PolicyForm:
        initial = {}
        if policy is not None:
            initial = {
                "name": policy.name,
                "description": policy.description,
                "marketing_action": policy.marketing_action.code,
                "operator": policy.operator,
                "labels": [label.code for label in policy.labels.all()],
                "enabled": policy.enabled,
            }
        return cls(data, initial=initial)


class ConsentPolicyForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    marketing_actions = forms.ModelMultipleChoiceField(
        label=_("Marketing actions"),
        queryset=MarketingAction.objects.all(),
        to_field_name="code",
        widget=forms.CheckboxSelectMultiple,
    )
    condition = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        label=_("Condition"),
        help_text=_(
            'A segment rule, e.g. {"path": "consents.marketing.email", "op": "equals", '
            '"value": true}'
        ),
    )
    enabled = forms.BooleanField(label=_("Enabled"), required=False, initial=True)

    @classmethod
    def for_policy(cls, policy: ConsentPolicy | None, data: Any = None) -> ConsentPolicyForm:
        initial: dict[str, Any] = {"condition": ""}
        if policy is not None:
            initial = {
                "name": policy.name,
                "description": policy.description,
                "marketing_actions": [a.code for a in policy.marketing_actions.all()],
                "condition": json.dumps(policy.condition),
                "enabled": policy.enabled,
            }
        return cls(data, initial=initial)

    def clean_condition(self) -> Any:
        try:
            rule = json.loads(self.cleaned_data["condition"])
        except ValueError as exc:
            raise forms.ValidationError(gettext("Not JSON: %(error)s.") % {"error": exc}) from exc
        errors = validate_rule(rule)
        if errors:
            raise forms.ValidationError("; ".join(str(e) for e in errors))
        return rule


class LabelForm(forms.Form):
    code = forms.SlugField(label=_("Code"), max_length=32)
    name = forms.CharField(label=_("Name"), max_length=200)
    family = forms.ChoiceField(label=_("Family"), choices=LabelFamily.choices)
    description = forms.CharField(label=_("Description"), required=False)


class MarketingActionForm(forms.Form):
    code = forms.SlugField(max_length=64)
    name = forms.CharField(label=_("Name"), max_length=200)
    description = forms.CharField(label=_("Description"), required=False)


class AssignForm(forms.Form):
    """The labels of one path or namespace, as checkboxes."""

    target_type = forms.ChoiceField(choices=[("attribute", "path"), ("namespace", "namespace")])
    target = forms.CharField(max_length=500)
    labels = forms.ModelMultipleChoiceField(
        label=_("Labels"),
        queryset=DataUsageLabel.objects.all(),
        to_field_name="code",
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
