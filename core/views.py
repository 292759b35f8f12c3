from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import redirect
from django.templatetags.static import static


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
