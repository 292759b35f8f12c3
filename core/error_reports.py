"""What error reports (DEBUG 500 pages, error e-mails) may show.

Django's SafeExceptionReporterFilter hides only what a view marked with
`sensitive_post_parameters`/`sensitive_variables`, and only when DEBUG is off:
a DEBUG page, or an error raised before the view ran (a middleware meeting a
locked database), shows every POST value, the secret access key included.
This filter is always active and hides by name, whatever the view declared:

- POST fields, frame variables and dict keys whose name looks secret
  (`SENSITIVE_NAMES`: secret, key, token, password, ...);
- any frame variable whose text contains the value of such a POST field
  (a dataclass or dict carrying the secret under another name).

Enabled by `DEFAULT_EXCEPTION_REPORTER_FILTER` in the base settings.
"""

import re
from typing import Any

from django.http import HttpRequest
from django.utils.datastructures import MultiValueDict
from django.views.debug import SafeExceptionReporterFilter

SENSITIVE_NAMES = re.compile(
    "API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|CREDENTIAL|COOKIE|SESSION", flags=re.I
)
# Shorter values (a checkbox's "on") would hide harmless text everywhere.
MIN_SECRET_LENGTH = 4


class SecretHidingReporterFilter(SafeExceptionReporterFilter):
    hidden_settings = SENSITIVE_NAMES

    def is_active(self, request: HttpRequest | None) -> bool:
        return True  # DEBUG pages too: they are served to whoever made the request

    def _hide_sensitive_fields(self, data: MultiValueDict) -> MultiValueDict:
        cleansed = data.copy()
        for name in cleansed:
            if SENSITIVE_NAMES.search(name):
                cleansed.setlist(name, [self.cleansed_substitute])
        return cleansed

    def get_post_parameters(self, request: HttpRequest | None) -> Any:
        if request is None:
            return {}
        return self._hide_sensitive_fields(super().get_post_parameters(request))

    def get_cleansed_multivaluedict(
        self, request: HttpRequest, multivaluedict: MultiValueDict
    ) -> MultiValueDict:
        return self._hide_sensitive_fields(
            super().get_cleansed_multivaluedict(request, multivaluedict)
        )

    def get_traceback_frame_variables(self, request: HttpRequest, tb_frame: Any) -> Any:
        secrets = _posted_secrets(request)
        cleansed = []
        for name, value in super().get_traceback_frame_variables(request, tb_frame):
            if SENSITIVE_NAMES.search(name) or _shows_any(value, secrets):
                value = self.cleansed_substitute
            elif isinstance(value, dict):
                value = self.cleanse_setting(name, value)
            cleansed.append((name, value))
        return cleansed


def _posted_secrets(request: HttpRequest | None) -> list[str]:
    if request is None or request.method != "POST":
        return []
    try:
        items = request.POST.lists()
    except Exception:  # an unreadable body is what some errors are about
        return []
    return [
        value
        for name, values in items
        if SENSITIVE_NAMES.search(name)
        for value in values
        if len(value) >= MIN_SECRET_LENGTH
    ]


def _shows_any(value: Any, secrets: list[str]) -> bool:
    if not secrets:
        return False
    try:
        text = repr(value)
    except Exception:
        return False
    return any(secret in text for secret in secrets)
