"""Which language a page is in, and the user's switch (README "Languages").

Order of precedence: a signed-in user's saved preference, then the language
cookie (set by the switch, also for signed-out visitors), then the browser's
Accept-Language, then settings.LANGUAGE_CODE. Django's LocaleMiddleware does the
last three; `UserLanguageMiddleware` runs after authentication and applies the
first. The saved preference is copied into the session when the user signs in
(and when they switch), so pages cost no extra query for it. The API follows
the request's own headers only: a script's caller decides, not whichever user
once saved a preference in the UI.
"""

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.formats import number_format

API_PREFIX = "/api/"


def supported_language(code: str | None) -> str | None:
    """`code` if it is one of settings.LANGUAGES, else None."""
    return code if code in dict(settings.LANGUAGES) else None


SESSION_KEY = "_user_language"


def saved_language(user: Any) -> str | None:
    """The language a signed-in user chose, None when they never chose one."""
    if not getattr(user, "is_authenticated", False):
        return None
    from core.models import UserPreference

    language = UserPreference.objects.filter(user=user).values_list("language", flat=True).first()
    return supported_language(language)


def save_language(request: HttpRequest, language: str) -> None:
    """Remember a signed-in user's choice (one row per user) and use it at once."""
    from core.models import UserPreference

    UserPreference.objects.update_or_create(user=request.user, defaults={"language": language})
    request.session[SESSION_KEY] = language


def remember_language_at_login(
    sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any
) -> None:
    """user_logged_in receiver: the session carries the user's saved language."""
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_KEY] = saved_language(user) or ""


class UserLanguageMiddleware:
    """After AuthenticationMiddleware: a user's saved language wins over the cookie
    and Accept-Language (LocaleMiddleware then labels the response with it)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(API_PREFIX) and hasattr(request, "session"):
            language = supported_language(request.session.get(SESSION_KEY))
            if language and language != translation.get_language():
                translation.activate(language)
                request.LANGUAGE_CODE = language
        return self.get_response(request)


def format_integer(value: int) -> str:
    """A count for people, grouped the active language's way: 1,234 / 1 234."""
    return number_format(value, force_grouping=True)


def format_decimal(value: float, places: int = 1) -> str:
    """A decimal for people in the active language: 12.5 / 12,5 (grouped when large)."""
    return number_format(value, decimal_pos=places, force_grouping=True)
