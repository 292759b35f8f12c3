from django.urls import path
from django.views.i18n import JavaScriptCatalog

from core import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("language", views.switch_language, name="switch_language"),
    # The djangojs catalog as a script of our own origin (the CSP allows no inline script).
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
]
