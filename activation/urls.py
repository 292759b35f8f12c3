from activation.monitoring.urls import urlpatterns as monitoring_urls
from activation.wizard.urls import urlpatterns as wizard_urls

app_name = "activation"
urlpatterns = [*monitoring_urls, *wizard_urls]
