"""Django admin actions for connections: test (permission check) and rotate the secret.

Both go through destinations.services, exactly like the connection pages: a
new secret is verified live before it is stored, and it is never displayed.
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters

from destinations import services
from destinations.kinesis import aws as kinesis
from destinations.kinesis.forms import CredentialFieldsMixin, _secret_field
from destinations.models import Connection


class RotateSecretForm(CredentialFieldsMixin, forms.Form):
    """New credentials for one connection; the secret field never renders its value."""

    access_key_id = forms.CharField(
        label="New access key ID",
        required=False,
        strip=True,
        max_length=128,
        help_text="Leave blank to keep the current key ID and replace only the secret.",
    )
    secret_access_key = _secret_field(
        required=False, help_text="Verified with AWS before it is stored; never shown again."
    )
    role_arn = forms.CharField(label="Role ARN", required=False, strip=True, max_length=2048)
    external_id = forms.CharField(label="External ID", required=False, strip=True, max_length=1224)

    def __init__(self, *args: Any, connection: Connection, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connection = connection
        if connection.uses_role:
            del self.fields["access_key_id"], self.fields["secret_access_key"]
            self.initial.update(role_arn=connection.role_arn, external_id=connection.external_id)
        else:
            del self.fields["role_arn"], self.fields["external_id"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.connection.uses_role:
            self._clean_role(data.get("role_arn", ""), data.get("external_id", ""))
            return data
        if data.get("access_key_id"):
            self._clean_key_id(data["access_key_id"])
        if not data.get("secret_access_key"):
            self.add_error("secret_access_key", "Enter the new secret access key.")
        return data

    def credentials(self) -> services.CredentialInput:
        data, current = self.cleaned_data, self.connection
        if current.uses_role:
            return services.CredentialInput(
                auth_method=current.auth_method,
                region=current.region,
                role_arn=data["role_arn"],
                external_id=data["external_id"],
            )
        return services.CredentialInput(
            auth_method=current.auth_method,
            region=current.region,
            access_key_id=data.get("access_key_id") or current.access_key_id,
            secret_access_key=data["secret_access_key"],
        )


def _report_check(modeladmin: Any, request: HttpRequest, connection: Connection) -> None:
    report = services.connection_run_check(connection=connection)
    failure = report.first_failure
    if failure is None:
        stream = report.stream or {}
        modeladmin.message_user(
            request,
            f"“{connection.name}”: every check passed (stream {stream.get('status', '?')}, "
            f"{stream.get('shards', '?')} shard(s)).",
            messages.SUCCESS,
        )
    else:
        modeladmin.message_user(
            request, f"“{connection.name}”: {failure.label}: {failure.detail}", messages.ERROR
        )


class ConnectionAdminActions:
    """Mixed into ConnectionAdmin: the actions, the rotate page and its button."""

    actions = ["test_connection", "rotate_secret"]
    change_form_template = "admin/destinations/connection/change_form.html"

    # Connections are created by the connect wizard or the API, which verify
    # the credentials and run the permission check first.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Test connection (run the permission check)")
    def test_connection(self, request: HttpRequest, queryset: QuerySet[Connection]) -> None:
        for connection in queryset:
            _report_check(self, request, connection)

    @admin.action(description="Rotate secret…")
    def rotate_secret(
        self, request: HttpRequest, queryset: QuerySet[Connection]
    ) -> HttpResponse | None:
        if queryset.count() != 1:
            self.message_user(
                request, "Select exactly one connection to rotate its secret.", messages.WARNING
            )
            return None
        return HttpResponseRedirect(
            reverse("admin:destinations_connection_rotate_secret", args=[queryset.get().pk])
        )

    def get_urls(self) -> list:
        extra = [
            path(
                "<int:object_id>/rotate-secret/",
                self.admin_site.admin_view(self.rotate_secret_view),
                name="destinations_connection_rotate_secret",
            )
        ]
        return extra + super().get_urls()

    @method_decorator(sensitive_post_parameters("secret_access_key"))
    def rotate_secret_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        connection = get_object_or_404(Connection, pk=object_id)
        if not self.has_change_permission(request, connection):
            raise PermissionDenied
        form = RotateSecretForm(request.POST or None, connection=connection)
        if request.method == "POST" and form.is_valid():
            try:
                services.connection_update(
                    connection=connection,
                    credentials=form.credentials(),
                    **form_fields_of(connection),
                )
            except kinesis.KinesisError as exc:
                form.add_error(None, exc.message)
            else:
                self.message_user(
                    request,
                    f"New credentials of “{connection.name}” verified and stored.",
                    messages.SUCCESS,
                )
                _report_check(self, request, connection)
                return HttpResponseRedirect(
                    reverse("admin:destinations_connection_change", args=[connection.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": connection,
            "form": form,
            "title": f"Rotate the secret of “{connection.name}”",
        }
        return TemplateResponse(
            request, "admin/destinations/connection/rotate_secret.html", context
        )


def form_fields_of(connection: Connection) -> dict[str, Any]:
    """The non-credential fields connection_update takes, unchanged."""
    return {
        "name": connection.name,
        "description": connection.description,
        "include_segment_names": connection.include_segment_names,
        "include_segment_timestamps": connection.include_segment_timestamps,
        "alerts_enabled": connection.alerts_enabled,
    }
