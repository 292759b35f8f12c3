from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from destinations.views import catalog

urlpatterns = [
    path("admin/", admin.site.urls),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("core.urls")),
    path("catalog/", catalog, name="catalog"),
    path("destinations/", include("destinations.urls")),
    path("dataflows/", include("activation.urls")),
    path("", include("profiles.urls")),
]
