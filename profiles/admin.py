"""Admin for the profile store.

Profiles, memberships and changes are read-only here: every profile write
must go through profiles.services (so segments are evaluated and the change
is captured), which the API, the import command and the profile page do.
Segments are saved through profiles.segments (rule validated, members
re-evaluated). Admins register custom identity namespaces here.
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from core.input_policy import PolicyJSONDecoder
from profiles.models import (
    BUILTIN_NAMESPACES,
    Identity,
    IdentityNamespace,
    Profile,
    ProfileChange,
    Segment,
    SegmentMembership,
)
from profiles.rules import validate_rule
from profiles.segments import segment_create, segment_schedule_evaluation, segment_update


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(IdentityNamespace)
class IdentityNamespaceAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "builtin", "created_at"]
    list_filter = ["builtin"]
    search_fields = ["code", "name"]
    readonly_fields = ["builtin"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # The code is what records use: renaming it would orphan stored identities.
        return ["code", "builtin"] if obj else ["builtin"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and (obj.builtin or obj.code in BUILTIN_NAMESPACES):
            return False
        return super().has_delete_permission(request, obj)


class IdentityInline(admin.TabularInline):
    model = Identity
    extra = 0
    fields = ["namespace", "value", "created_at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Profile)
class ProfileAdmin(ReadOnlyAdmin):
    list_display = ["id", "name", "created_at", "updated_at", "page"]
    list_filter = ["created_at", "updated_at"]
    search_fields = ["=identities__value"]
    search_help_text = "Exact identity value (e-mail addresses in lower case)."
    readonly_fields = ["attributes", "created_at", "updated_at", "page"]
    inlines = [IdentityInline]

    @admin.display(description="Name")
    def name(self, obj: Profile) -> str:
        person = obj.attributes.get("person") or {}
        name = person.get("name") if isinstance(person, dict) else None
        if not isinstance(name, dict):
            return ""
        return f"{name.get('firstName', '')} {name.get('lastName', '')}".strip()

    @admin.display(description="Profile page")
    def page(self, obj: Profile) -> str:
        url = reverse("profiles:profile_detail", args=[obj.pk])
        return format_html('<a href="{}">Open (edit attributes there)</a>', url)


@admin.register(Identity)
class IdentityAdmin(ReadOnlyAdmin):
    list_display = ["namespace", "value", "profile", "created_at"]
    list_filter = ["namespace"]
    search_fields = ["=value"]
    raw_id_fields = ["profile"]


class SegmentAdminForm(forms.ModelForm):
    class Meta:
        model = Segment
        fields = ["name", "description", "rule", "active"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["rule"].decoder = PolicyJSONDecoder  # NaN, deep nesting…: refused

    def clean_rule(self) -> Any:
        rule = self.cleaned_data["rule"]
        errors = validate_rule(rule)
        if errors:
            raise forms.ValidationError([str(e) for e in errors])
        return rule


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    form = SegmentAdminForm
    list_display = ["name", "active", "evaluated_at", "created_at", "updated_at"]
    list_filter = ["active"]
    search_fields = ["name", "description"]
    readonly_fields = ["id", "evaluated_at", "created_at", "updated_at"]
    actions = ["reevaluate"]

    def save_model(self, request: HttpRequest, obj: Segment, form: Any, change: bool) -> None:
        data = form.cleaned_data
        if change:
            original = Segment.objects.get(pk=obj.pk)
            segment_update(
                segment=original,
                name=data["name"],
                description=data["description"],
                rule=data["rule"],
                active=data["active"],
            )
            obj.updated_at = original.updated_at
            return
        created = segment_create(
            name=data["name"],
            description=data["description"],
            rule=data["rule"],
            active=data["active"],
        )
        obj.pk, obj.created_at, obj.updated_at = created.pk, created.created_at, created.updated_at

    @admin.action(description="Re-evaluate selected segments over every profile")
    def reevaluate(self, request: HttpRequest, queryset: Any) -> None:
        active = list(queryset.filter(active=True))
        for segment in active:
            segment_schedule_evaluation(segment)
        self.message_user(request, f"Queued {len(active)} evaluation(s).", messages.SUCCESS)


@admin.register(SegmentMembership)
class SegmentMembershipAdmin(ReadOnlyAdmin):
    list_display = ["profile", "segment", "status", "last_qualification_time", "updated_at"]
    list_filter = ["status", "segment"]
    search_fields = ["=profile__id", "segment__name"]
    raw_id_fields = ["profile"]


@admin.register(ProfileChange)
class ProfileChangeAdmin(ReadOnlyAdmin):
    list_display = ["id", "txid", "profile_id", "source", "written", "memberships", "created_at"]
    list_filter = ["source"]
    search_fields = ["=profile__id"]
    raw_id_fields = ["profile"]

    @admin.display(description="Written paths")
    def written(self, obj: ProfileChange) -> str:
        return ", ".join(obj.written_paths[:6]) + (" …" if len(obj.written_paths) > 6 else "")

    @admin.display(description="Membership changes")
    def memberships(self, obj: ProfileChange) -> str:
        return ", ".join(f"{status} {sid[:8]}" for sid, status in obj.membership_changes.items())
