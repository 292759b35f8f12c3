"""Admin building blocks shared by the apps' admin.py files."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest


class ReadOnlyAdminMixin:
    """For records the product writes itself (runs, delivery log, change logs):
    admins look and search, nobody edits or deletes by hand."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(ReadOnlyAdminMixin, admin.TabularInline):
    """An inline shown for reference; changes go through the product's own flow."""

    extra = 0
    can_delete = False
