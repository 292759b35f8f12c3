"""How a page's language is chosen (README "Languages") and locale number formats."""

import pytest
from django.conf import settings
from django.template import Context, Template
from django.urls import reverse
from django.utils import translation

from core.models import UserPreference
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SWEDISH = {"HTTP_ACCEPT_LANGUAGE": "sv-SE,sv;q=0.9,en;q=0.5"}


def html_lang(response) -> str:
    head = response.content.decode()[:200]
    return head.split('<html lang="', 1)[1].split('"', 1)[0]


def test_a_browser_asking_for_swedish_gets_swedish_pages(client):
    response = client.get(reverse("login"), **SWEDISH)
    assert html_lang(response) == "sv"
    assert response.headers["Content-Language"] == "sv"
    assert "Logga in" in response.content.decode()


def test_english_is_the_default_and_unknown_languages_fall_back_to_it(client):
    for header in ({}, {"HTTP_ACCEPT_LANGUAGE": "de-DE,fr;q=0.8"}):
        response = client.get(reverse("login"), **header)
        assert html_lang(response) == "en"
        assert "Log in" in response.content.decode()


def test_the_switch_persists_per_user_and_beats_accept_language(client, user):
    client.force_login(user)
    response = client.post(
        reverse("switch_language"), {"language": "sv", "next": reverse("catalog")}
    )
    assert response.status_code == 302 and response.url == reverse("catalog")
    assert UserPreference.objects.get(user=user).language == "sv"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "sv"

    # A new session on another browser that asks for English, without the cookie.
    other = client_class_fresh()
    other.force_login(user)
    page = other.get(reverse("catalog"), HTTP_ACCEPT_LANGUAGE="en")
    assert html_lang(page) == "sv"
    # Someone else's choice is theirs only.
    stranger = client_class_fresh()
    stranger.force_login(UserFactory())
    assert html_lang(stranger.get(reverse("catalog"), HTTP_ACCEPT_LANGUAGE="en")) == "en"


def client_class_fresh():
    from django.test import Client

    return Client()


def test_switching_back_to_english_is_saved_too(client, user):
    UserPreference.objects.create(user=user, language="sv")
    client.force_login(user)
    client.post(reverse("switch_language"), {"language": "en"})
    assert UserPreference.objects.get(user=user).language == "en"
    assert html_lang(client.get(reverse("catalog"), **SWEDISH)) == "en"


def test_a_signed_out_visitor_switches_with_the_cookie(client):
    response = client.post(reverse("switch_language"), {"language": "sv", "next": "/login/"})
    assert response.status_code == 302
    assert not UserPreference.objects.exists()
    assert html_lang(client.get(reverse("login"))) == "sv"


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/x", ""])
def test_the_switch_never_redirects_off_site(client, next_url):
    response = client.post(reverse("switch_language"), {"language": "sv", "next": next_url})
    assert response.status_code == 302
    assert response.url == reverse("home")


def test_an_unknown_language_is_refused_with_a_clear_400(client, user):
    client.force_login(user)
    response = client.post(reverse("switch_language"), {"language": "xx"})
    assert response.status_code == 400
    assert not UserPreference.objects.exists()


def test_a_viewer_may_switch_their_own_language(client):
    viewer = UserFactory(role="Viewer")
    client.force_login(viewer)
    response = client.post(reverse("switch_language"), {"language": "sv"})
    assert response.status_code == 302
    assert UserPreference.objects.get(user=viewer).language == "sv"


def test_the_user_menu_offers_the_other_language_named_in_itself(client, user):
    client.force_login(user)
    html = client.get(reverse("catalog"), **SWEDISH).content.decode()
    assert 'lang="en"' in html and ">English</button>" in html
    html = client.get(reverse("catalog"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'lang="sv"' in html and ">Svenska</button>" in html


def test_the_api_follows_accept_language_not_the_saved_ui_choice(client, user):
    UserPreference.objects.create(user=user, language="sv")
    client.force_login(user)
    response = client.get("/api/v1/no-such-path", HTTP_ACCEPT_LANGUAGE="en")
    assert response.headers["Content-Language"] == "en"


@pytest.mark.parametrize(
    ("language", "expected"),
    [("sv", "1\xa0234,5"), ("en", "1,234.5")],
)
def test_numbers_are_grouped_the_locale_way(language, expected):
    template = Template("{{ value }}")
    with translation.override(language):
        assert template.render(Context({"value": 1234.5})) == expected


def test_swedish_intcomma_uses_a_non_breaking_space():
    template = Template("{% load humanize %}{{ value|intcomma }}")
    with translation.override("sv"):
        assert template.render(Context({"value": 1234567})) == "1\xa0234\xa0567"


def test_the_api_docs_intro_follows_the_browser_language(client):
    html = client.get("/api/v1/docs", **SWEDISH).content.decode()
    assert html_lang(client.get("/api/v1/docs", **SWEDISH)) == "sv"
    assert "Strömmande inläsning av profiler" in html
    assert "Streaming ingestion of profiles" in client.get("/api/v1/docs").content.decode()


@pytest.mark.parametrize(
    ("minutes_ago", "swedish"),
    [(1, "för 1 minut sedan"), (3, "för 3 minuter sedan"), (-120, "om 2 timmar")],
)
def test_relative_times_are_swedish_with_plurals(minutes_ago, swedish):
    import datetime as dt

    from core.templatetags.relative_time import relative_time_text

    now = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
    with translation.override("sv"):
        text = relative_time_text(now - dt.timedelta(minutes=minutes_ago), now=now)
    assert text == swedish


def test_chart_axes_and_monitoring_figures_use_the_locale():
    from activation.monitoring.charts import _short
    from activation.monitoring.selectors import percent_text

    with translation.override("sv"):
        assert (_short(2500), _short(1_500_000), percent_text(0.1234)) == ("2,5k", "1,5M", "12,3 %")
    with translation.override("en"):
        assert (_short(2500), _short(1_500_000), percent_text(0.1234)) == ("2.5k", "1.5M", "12.3 %")
