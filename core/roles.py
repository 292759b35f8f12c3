"""Roles: who may change things.

Three roles, as Django groups plus Django's own admin flags:

- **Admin**: a superuser or a staff user. Changes anything, runs Django admin.
- **Marketer** (group): creates connections, activates segments, edits,
  enables, disables and deletes dataflows.
- **Viewer** (group): reads everything, changes nothing.

A signed-in user in neither group and not staff is read-only too: a new
account can never write until an admin gives it a role.

Enforcement lives in one place per entry point so that no new view can forget
it: `RoleRequiredMiddleware` refuses every non-safe HTTP method from a
read-only user (the UI, htmx endpoints, Django admin), and the API's token
auth applies `user_can_edit` to its own requests (see core/api_auth.py).
"""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.models import AnonymousUser, Group, Permission
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

MARKETER = "Marketer"
VIEWER = "Viewer"
ROLE_GROUPS = (MARKETER, VIEWER)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

# Writes a read-only user may still make: they change nothing of the product,
# only the user's own session or notification state.
VIEWER_ALLOWED_WRITES = frozenset({"login", "logout", "alerts:menu_read", "switch_language"})

FORBIDDEN_MESSAGE = (
    "Your role is read-only (Viewer): you can look at everything but not change it. "
    "Ask an admin for the Marketer role."
)

# Model permissions granted to each group (used by Django admin for staff
# members of a group; the product's own views rely on `user_can_edit`).
# "app_label.model" -> actions; models not listed get "view" for both roles.
MARKETER_MODEL_ACTIONS: dict[str, tuple[str, ...]] = {
    "destinations.connection": ("add", "change", "delete", "view"),
    "activation.dataflow": ("add", "change", "delete", "view"),
    "activation.dataflowsegment": ("add", "change", "delete", "view"),
    "activation.attributemapping": ("add", "change", "delete", "view"),
    "activation.identityselection": ("add", "change", "delete", "view"),
    "activation.backfill": ("add", "view"),
}
PRODUCT_APPS = ("profiles", "destinations", "activation", "alerts", "audit", "governance")


def _group_names(user: Any) -> set[str]:
    cached = getattr(user, "_role_group_names", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True))
        user._role_group_names = cached
    return cached


def user_is_admin(user: Any) -> bool:
    """Superusers and staff members run the product from Django admin."""
    return bool(user.is_active and (user.is_superuser or user.is_staff))


def user_can_edit(user: Any) -> bool:
    """True for admins and Marketers; False for Viewers, role-less and anonymous users."""
    if user is None or isinstance(user, AnonymousUser) or not user.is_authenticated:
        return False
    if not user.is_active:
        return False
    return user_is_admin(user) or MARKETER in _group_names(user)


def user_role(user: Any) -> str:
    """A label for the user's role, as shown in the UI."""
    if user_is_admin(user):
        return "Admin"
    names = _group_names(user)
    if MARKETER in names:
        return MARKETER
    if VIEWER in names:
        return VIEWER
    return "No role (read-only)"


def user_set_role(*, user: Any, role: str) -> None:
    """Put the user in exactly one role group ("Marketer" or "Viewer")."""
    if role not in ROLE_GROUPS:
        raise ValueError(f"Unknown role {role!r}: use one of {', '.join(ROLE_GROUPS)}.")
    group, _ = Group.objects.get_or_create(name=role)
    user.groups.remove(*Group.objects.filter(name__in=ROLE_GROUPS).exclude(pk=group.pk))
    user.groups.add(group)
    user._role_group_names = None


def is_write_allowed(*, user: Any, method: str, view_name: str | None) -> bool:
    """Whether this request may go on: safe methods always, writes by role."""
    if method.upper() in SAFE_METHODS:
        return True
    if view_name in VIEWER_ALLOWED_WRITES:
        return True
    return user_can_edit(user)


def forbidden_response(request: HttpRequest) -> HttpResponse:
    """A 403 the client understands: JSON for the API, a page (or fragment) otherwise."""
    if request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", ""):
        return JsonResponse(
            {"error": {"code": "forbidden", "message": FORBIDDEN_MESSAGE, "fields": {}}},
            status=403,
        )
    template = "core/forbidden_fragment.html" if request.headers.get("HX-Request") else None
    response = render(
        request,
        template or "core/forbidden.html",
        {"message": FORBIDDEN_MESSAGE},
        status=403,
    )
    if template:
        # htmx does not swap 4xx answers by default; show the message in the
        # page's message area instead of silently doing nothing.
        response["HX-Retarget"] = "#messages"
        response["HX-Reswap"] = "innerHTML"
    return response


def editor_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """For pages that are write forms even on GET (edit pages, confirmations):
    a read-only user gets the 403 page instead of a form they could not submit."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated and not user_can_edit(request.user):
            return forbidden_response(request)
        return view(request, *args, **kwargs)

    return wrapped


class RoleRequiredMiddleware:
    """Refuse every write (POST/PUT/PATCH/DELETE) from a signed-in read-only user.

    Anonymous requests pass through: the view's own login_required (or the
    API's token auth, which applies the same rule) handles them.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Callable, view_args: Any, view_kwargs: Any
    ) -> HttpResponse | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        match = request.resolver_match
        view_name = match.view_name if match else None
        if is_write_allowed(user=user, method=request.method or "GET", view_name=view_name):
            return None
        return forbidden_response(request)


def can_edit(request: HttpRequest) -> dict:
    """Template context: `can_edit` hides write buttons from read-only users."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"can_edit": False, "user_role": ""}
    return {"can_edit": user_can_edit(user), "user_role": user_role(user)}


def grant_role_permissions(*, group_model: Any, permission_model: Any) -> None:
    """Create the role groups and add their model permissions (never removes any).

    Takes the models as arguments so a data migration can pass its historical
    ones; `sync_roles` passes the real ones after every migrate, so models added
    later get their permissions too.
    """
    marketer, _ = group_model.objects.get_or_create(name=MARKETER)
    viewer, _ = group_model.objects.get_or_create(name=VIEWER)
    permissions = permission_model.objects.filter(
        content_type__app_label__in=PRODUCT_APPS
    ).select_related("content_type")
    marketer_perms, viewer_perms = [], []
    for permission in permissions:
        label = f"{permission.content_type.app_label}.{permission.content_type.model}"
        action = permission.codename.split("_", 1)[0]
        if action == "view":
            viewer_perms.append(permission)
        if action in MARKETER_MODEL_ACTIONS.get(label, ("view",)):
            marketer_perms.append(permission)
    marketer.permissions.add(*marketer_perms)
    viewer.permissions.add(*viewer_perms)


def sync_roles(**kwargs: Any) -> None:
    """post_migrate hook: keep the role groups' permissions complete."""
    grant_role_permissions(group_model=Group, permission_model=Permission)
