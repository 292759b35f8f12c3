"""Forms of the Kinesis connect wizard and the edit page.

Secret fields use PasswordInput(render_value=False): a form re-rendered with
errors never puts the secret back into the HTML.
"""

import re
from typing import TYPE_CHECKING, Any

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from destinations.kinesis import aws as kinesis
from destinations.models import AuthMethod, Connection
from destinations.services import CredentialInput
from governance.forms import marketing_actions_field

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

KEY_ID_RE = re.compile(r"^[A-Z0-9]{16,128}$")
ROLE_ARN_RE = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
EXTERNAL_ID_RE = re.compile(r"^[\w+=,.@:/-]{2,1224}$")
STREAM_NAME_RE = re.compile(r"^[a-zA-Z0-9_.-]{1,128}$")


def _secret_field(*, required: bool, help_text: "StrOrPromise") -> forms.CharField:
    return forms.CharField(
        label=_("Secret access key"),
        required=required,
        strip=True,
        max_length=256,
        help_text=help_text,
        widget=forms.PasswordInput(
            render_value=False, attrs={"autocomplete": "new-password", "spellcheck": "false"}
        ),
    )


class CredentialFieldsMixin:
    """Validation shared by step 1 and the credential part of the edit page."""

    # Mixed into a forms.Form, whose add_error() these methods use.
    add_error: Any

    def _clean_key_id(self, key_id: str) -> None:
        if key_id.startswith("ASIA"):
            self.add_error(
                "access_key_id",
                gettext(
                    "This is a temporary key (ASIA…): it needs a session token and expires within "
                    "hours. Use a long-lived access key (AKIA…) or an IAM role."
                ),
            )
        elif not KEY_ID_RE.match(key_id):
            self.add_error(
                "access_key_id",
                gettext(
                    "An access key ID is 16 to 128 capital letters and digits, e.g. "
                    "AKIAIOSFODNN7EXAMPLE. Check that you copied all of it."
                ),
            )

    def _clean_role(self, role_arn: str, external_id: str) -> None:
        if not role_arn:
            self.add_error("role_arn", gettext("Enter the ARN of the role to assume."))
        elif not ROLE_ARN_RE.match(role_arn):
            self.add_error(
                "role_arn",
                gettext(
                    "A role ARN looks like arn:aws:iam::123456789012:role/KinesisWriter "
                    "(copy it from the role's page in the IAM console)."
                ),
            )
        if not EXTERNAL_ID_RE.match(external_id):
            self.add_error(
                "external_id",
                gettext(
                    "The external ID is 2 to 1,224 letters, digits and "
                    "+ = , . @ : / - _ characters."
                ),
            )


class AuthenticateForm(CredentialFieldsMixin, forms.Form):
    """Step 1: how to reach the AWS account."""

    auth_method = forms.ChoiceField(
        label=_("Authenticate with"),
        choices=AuthMethod.choices,
        initial=AuthMethod.ACCESS_KEYS,
        widget=forms.RadioSelect,
    )
    access_key_id = forms.CharField(
        label=_("Access key ID"),
        required=False,
        strip=True,
        max_length=128,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    secret_access_key = _secret_field(
        required=False, help_text=_("Encrypted at rest and never shown again.")
    )
    role_arn = forms.CharField(
        label=_("Role ARN"),
        required=False,
        strip=True,
        max_length=2048,
        widget=forms.TextInput(attrs={"placeholder": "arn:aws:iam::123456789012:role/…"}),
    )
    external_id = forms.CharField(
        label=_("External ID"),
        required=False,
        strip=True,
        max_length=1224,
        help_text=_("Put this value in the role's trust policy (condition sts:ExternalId)."),
    )
    region = forms.ChoiceField(label=_("Region"), initial="us-east-1")

    def __init__(self, *args: Any, external_id: str = "", **kwargs: Any) -> None:
        """`external_id`: the wizard's fixed one (read-only, posted values ignored)."""
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = kinesis.kinesis_region_choices()
        self.fixed_external_id = external_id
        if external_id:
            field = self.fields["external_id"]
            field.initial = external_id
            field.help_text = gettext(
                "Generated for you and fixed for this connection: put it in the role's trust "
                "policy (condition sts:ExternalId). It stays the same when you reload or "
                "come back later."
            )
            field.widget.attrs.update({"readonly": True, "spellcheck": "false"})
            if self.is_bound:  # re-rendered after an error: still the fixed value
                self.data = self.data.copy()
                self.data["external_id"] = external_id

    def clean_external_id(self) -> str:
        return self.fixed_external_id or self.cleaned_data.get("external_id", "")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("auth_method") == AuthMethod.IAM_ROLE:
            self._clean_role(data.get("role_arn", ""), data.get("external_id", ""))
            return data
        if not data.get("access_key_id"):
            self.add_error(
                "access_key_id", gettext("Enter the access key ID (it starts with AKIA).")
            )
        else:
            self._clean_key_id(data["access_key_id"])
        if not data.get("secret_access_key"):
            self.add_error(
                "secret_access_key",
                gettext(
                    "Enter the secret access key (for your safety it is never kept in the form; "
                    "paste it again after an error)."
                ),
            )
        return data

    def credentials(self) -> CredentialInput:
        data = self.cleaned_data
        return CredentialInput(
            auth_method=data["auth_method"],
            region=data["region"],
            access_key_id=data.get("access_key_id", "")
            if data["auth_method"] == AuthMethod.ACCESS_KEYS
            else "",
            secret_access_key=data.get("secret_access_key", "")
            if data["auth_method"] == AuthMethod.ACCESS_KEYS
            else "",
            role_arn=data.get("role_arn", ""),
            external_id=data.get("external_id", ""),
        )


class DestinationFieldsMixin(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    include_segment_names = forms.BooleanField(
        label=_("Include Segment Names"),
        required=False,
        help_text=_("Adds each segment's name to its entry in segmentMembership."),
    )
    include_segment_timestamps = forms.BooleanField(
        label=_("Include Segment Timestamps"),
        required=False,
        help_text=_(
            "Adds createdAt, updatedAt, mappingCreatedAt and mappingUpdatedAt "
            "(UNIX milliseconds) to each segment entry."
        ),
    )
    alerts_enabled = forms.BooleanField(
        label=_("Alerts"),
        required=False,
        initial=True,
        help_text=_("Notify me (in the app and by email) when exports to this destination fail."),
    )
    marketing_actions = marketing_actions_field()

    def __init__(self, *args: Any, owner: Any, exclude_pk: int | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.owner = owner
        self.exclude_pk = exclude_pk

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        taken = Connection.objects.filter(owner=self.owner, name__iexact=name)
        if self.exclude_pk is not None:
            taken = taken.exclude(pk=self.exclude_pk)
        if taken.exists():
            raise forms.ValidationError(
                gettext("You already have a destination named “%(name)s”. Choose another name.")
                % {"name": name}
            )
        return name


class DetailsForm(DestinationFieldsMixin):
    """Step 2: what the destination is called and where it writes."""

    field_order = [
        "name",
        "description",
        "stream_name",
        "include_segment_names",
        "include_segment_timestamps",
        "alerts_enabled",
    ]
    stream_name = forms.CharField(
        label=_("Stream"),
        max_length=128,
        help_text=_("Pick one from the list below or type its name."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def __init__(self, *args: Any, known_streams: list[str] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.known_streams = known_streams or []

    def clean_stream_name(self) -> str:
        stream = self.cleaned_data["stream_name"].strip()
        if not STREAM_NAME_RE.match(stream):
            raise forms.ValidationError(
                gettext("A stream name is 1 to 128 letters, digits, dots, dashes and underscores.")
            )
        # The stream cannot be changed once connected, so a typo caught here saves
        # deleting the destination. An empty list means ListStreams showed nothing:
        # then a typed name is taken on trust and the permission check verifies it.
        if self.known_streams and stream not in self.known_streams:
            raise forms.ValidationError(
                gettext(
                    "There is no stream named “%(stream)s” among the streams these credentials "
                    "can see in this region. Pick one from the list below, or press "
                    "“Refresh list” if you have just created it."
                )
                % {"stream": stream}
            )
        return stream


class EditForm(CredentialFieldsMixin, DestinationFieldsMixin):
    """The edit page: names and toggles, and write-only credentials (blank = unchanged)."""

    access_key_id = forms.CharField(
        label=_("New access key ID"),
        required=False,
        strip=True,
        max_length=128,
        help_text=_("Leave blank to keep the current key."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    secret_access_key = _secret_field(
        required=False,
        help_text=_("Write-only: leave blank to keep the current secret."),
    )
    role_arn = forms.CharField(label=_("Role ARN"), required=False, strip=True, max_length=2048)
    external_id = forms.CharField(
        label=_("External ID"), required=False, strip=True, max_length=1224
    )

    def __init__(self, *args: Any, connection: Connection, **kwargs: Any) -> None:
        self.connection = connection
        initial = {
            "name": connection.name,
            "description": connection.description,
            "include_segment_names": connection.include_segment_names,
            "include_segment_timestamps": connection.include_segment_timestamps,
            "alerts_enabled": connection.alerts_enabled,
            "marketing_actions": list(connection.marketing_actions.values_list("code", flat=True)),
            "role_arn": connection.role_arn,
            "external_id": connection.external_id,
        }
        super().__init__(
            *args, initial=initial, owner=connection.owner, exclude_pk=connection.pk, **kwargs
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.connection.uses_role:
            self._clean_role(data.get("role_arn", ""), data.get("external_id", ""))
            return data
        key_id, secret = data.get("access_key_id", ""), data.get("secret_access_key", "")
        if key_id:
            self._clean_key_id(key_id)
            if not secret and key_id != self.connection.access_key_id:
                self.add_error(
                    "secret_access_key",
                    gettext("Enter the secret access key of the new access key."),
                )
        return data

    def destination_fields(self) -> dict[str, Any]:
        """The cleaned non-credential fields, as connection_update() takes them."""
        return {key: self.cleaned_data[key] for key in DestinationFieldsMixin.base_fields}

    def new_credentials(self) -> CredentialInput | None:
        """The rotated credentials, or None when they are unchanged."""
        data, current = self.cleaned_data, self.connection
        if current.uses_role:
            if (data["role_arn"], data["external_id"]) == (current.role_arn, current.external_id):
                return None
            return CredentialInput(
                auth_method=current.auth_method,
                region=current.region,
                role_arn=data["role_arn"],
                external_id=data["external_id"],
            )
        if not data.get("access_key_id") and not data.get("secret_access_key"):
            return None
        return CredentialInput(
            auth_method=current.auth_method,
            region=current.region,
            access_key_id=data.get("access_key_id") or current.access_key_id,
            secret_access_key=data.get("secret_access_key") or current.get_secret(),
        )
