"""Interactive API docs (Swagger UI) served from the project under the CSP.

django-ninja's own page puts the settings in an inline data block; this one
passes them in a data attribute and starts Swagger UI from a static file, so
the page has no inline script at all. Swagger UI's files come from ninja's
static folder (no CDN).
"""

import json
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from ninja.openapi.docs import Swagger


class LocalSwagger(Swagger):
    template = "api/docs.html"

    def render_page(self, request: HttpRequest, api: Any, **kwargs: Any) -> HttpResponse:
        settings = {**self.settings, "url": self.get_openapi_url(api, kwargs)}
        context = {"swagger_settings": json.dumps(settings), "api": api}
        return render(request, self.template, context)
