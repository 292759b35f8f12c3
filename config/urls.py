from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.urls import include, path

from core.auth_views import RateLimitedLoginView
from core.observability import views as observability
from destinations.views import catalog

# The admin logs in through the same rate-limited login page as everyone.
admin.site.login = login_required(admin.site.login)
admin.site.site_header = "Streamline administration"
admin.site.site_title = "Streamline admin"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("config.api")),
    path("login/", RateLimitedLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("core.urls")),
    # Operations (README "Operations"): readiness and Prometheus metrics.
    path("readyz", observability.readyz, name="readyz"),
    path("metrics", observability.metrics, name="metrics"),
    path("catalog/", catalog, name="catalog"),
    path("destinations/", include("destinations.urls")),
    path("dataflows/", include("activation.urls")),
    path("alerts/", include("alerts.urls")),
    path("audit/", include("audit.urls")),
    path("governance/", include("governance.urls")),
    path("", include("profiles.urls")),
]
