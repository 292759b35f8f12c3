import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_it_redirects_anonymous_users_to_login(client):
    response = client.get(reverse("catalog"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_logs_in_and_lands_on_the_catalog(client, user):
    response = client.post(
        reverse("login"), {"username": user.username, "password": "correct-horse-battery"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("catalog")


def test_it_rejects_a_wrong_password_with_a_message(client, user):
    response = client.post(reverse("login"), {"username": user.username, "password": "nope"})
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content


def test_catalog_shows_the_kinesis_card_with_beta_badge(logged_in_client):
    response = logged_in_client.get(reverse("catalog"))
    html = response.content.decode()
    assert "Amazon Kinesis" in html
    assert '<span class="badge badge-beta">Beta</span>' in html
    assert reverse("destinations:connect") in html


@pytest.mark.parametrize(
    "url_name",
    [
        "catalog",
        "destinations:list",
        "activation:dataflow_list",
        "profiles:segment_list",
        "profiles:profile_list",
    ],
)
def test_every_navigation_page_renders_with_its_entry_current(logged_in_client, url_name):
    response = logged_in_client.get(reverse(url_name))
    assert response.status_code == 200
    assert f'href="{reverse(url_name)}" aria-current="page"' in response.content.decode()


def test_pages_serve_htmx_and_css_from_the_project_not_a_cdn(logged_in_client):
    html = logged_in_client.get(reverse("catalog")).content.decode()
    assert "/static/django_htmx/htmx-2.min.js" in html
    assert "/static/css/app.css" in html
    assert "https://" not in html.split("<body")[0]


def test_healthz_answers_when_the_database_does(client):
    assert client.get(reverse("healthz")).json() == {"status": "ok"}


def test_the_favicon_is_served_from_the_project(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"] == "/static/img/logo.svg"
