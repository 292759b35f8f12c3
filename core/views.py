from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponsePermanentRedirect,
    JsonResponse,
)
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.i18n import save_language, supported_language


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return redirect("catalog")


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers and the run command: the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    """Browsers ask for /favicon.ico on pages (admin, API docs) that name no icon.

    Resolved per request: in production the hashed static name exists only
    after collectstatic."""
    return HttpResponsePermanentRedirect(static("img/logo.svg"))


@require_POST
def switch_language(request: HttpRequest) -> HttpResponse:
    """The language switch (user menu, login page): saved for a signed-in user, a
    cookie for everyone, then back to the page it was posted from."""
    language = supported_language(request.POST.get("language"))
    if language is None:
        return HttpResponseBadRequest(_("Unknown language."))
    if request.user.is_authenticated:
        save_language(request, language)
    translation.activate(language)
    response = redirect(safe_next_url(request))
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,  # type: ignore[arg-type]  # "Lax" (settings)
    )
    return response


def safe_next_url(request: HttpRequest) -> str:
    """`next` (or the referring page) when it points into this site, else home."""
    for candidate in (request.POST.get("next"), request.headers.get("referer")):
        if candidate and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return candidate
    return reverse("home")
