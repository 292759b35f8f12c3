from django.urls import path

from alerts import views

app_name = "alerts"
urlpatterns = [
    path("", views.alert_list, name="list"),
    path("menu/", views.alert_menu, name="menu"),
    path("menu/read/", views.alert_menu_read, name="menu_read"),
    path("<int:alert_id>/dismiss/", views.alert_dismiss_view, name="dismiss"),
]
