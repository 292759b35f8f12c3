# Included into the "activation" namespace by activation/urls.py; names start with "wizard_".
urlpatterns: list = []
