from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpResponse
from django.utils.translation import gettext, gettext_noop

from core import ratelimit

# Translated where shown; the English msgid stays importable as plain text.
LOCKED_MESSAGE = gettext_noop(
    "Too many failed log-in attempts. To protect the account, log-in is paused "
    "for 15 minutes: try again later or ask an admin to reset the password."
)


class RateLimitedLoginView(auth_views.LoginView):
    """Django's login view (safe `next` handling included) with failure limits."""

    redirect_authenticated_user = True

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        limits = {
            "username": form.cleaned_data.get("username", ""),
            "address": ratelimit.client_address(self.request),
        }
        if ratelimit.login_locked(**limits):
            form.add_error(None, gettext(LOCKED_MESSAGE))
            return self.form_invalid(form)
        ratelimit.login_succeeded(**limits)
        return super().form_valid(form)

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        username = self.request.POST.get("username", "")
        address = ratelimit.client_address(self.request)
        if not ratelimit.login_locked(username=username, address=address):
            ratelimit.login_failed(username=username, address=address)
        elif gettext(LOCKED_MESSAGE) not in form.non_field_errors():
            form.errors.clear()
            form.add_error(None, gettext(LOCKED_MESSAGE))
        return super().form_invalid(form)
