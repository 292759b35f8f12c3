from django.contrib import admin

from profiles.models import (
    Identity,
    IdentityNamespace,
    Profile,
    ProfileChange,
    Segment,
    SegmentMembership,
)


@admin.register(IdentityNamespace)
class IdentityNamespaceAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "builtin"]
    search_fields = ["code", "name"]


class IdentityInline(admin.TabularInline):
    model = Identity
    extra = 0


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ["id", "created_at", "updated_at"]
    search_fields = ["identities__value"]
    inlines = [IdentityInline]


@admin.register(Identity)
class IdentityAdmin(admin.ModelAdmin):
    list_display = ["namespace", "value", "profile"]
    list_filter = ["namespace"]
    search_fields = ["value"]
    raw_id_fields = ["profile"]


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    list_display = ["name", "active", "created_at", "updated_at"]
    list_filter = ["active"]
    search_fields = ["name", "description"]


@admin.register(SegmentMembership)
class SegmentMembershipAdmin(admin.ModelAdmin):
    list_display = ["profile", "segment", "status", "last_qualification_time"]
    list_filter = ["status", "segment"]
    raw_id_fields = ["profile"]


@admin.register(ProfileChange)
class ProfileChangeAdmin(admin.ModelAdmin):
    list_display = ["id", "txid", "profile_id", "created_at"]
    raw_id_fields = ["profile"]
