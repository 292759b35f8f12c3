import pytest
from django.core.cache import cache
from django.urls import reverse

from core.auth_views import LOCKED_MESSAGE

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def test_pages_carry_a_csp_without_inline_script(logged_in_client):
    policy = logged_in_client.get(reverse("catalog"))["Content-Security-Policy"]
    assert "script-src 'self';" in policy
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in policy


def test_templates_have_no_inline_script(logged_in_client):
    html = logged_in_client.get(reverse("catalog")).content.decode()
    for tag in html.split("<script")[1:]:
        assert "src=" in tag.split(">")[0], f"inline script found: <script{tag[:80]}"


def test_login_is_paused_after_five_failures_even_with_the_right_password(client, user):
    for _ in range(5):
        client.post(reverse("login"), {"username": user.username, "password": "wrong"})
    response = client.post(
        reverse("login"), {"username": user.username, "password": "correct-horse-battery"}
    )
    assert response.status_code == 200
    assert LOCKED_MESSAGE in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_success_before_the_limit_clears_the_username_count(client, user):
    for _ in range(4):
        client.post(reverse("login"), {"username": user.username, "password": "wrong"})
    ok = client.post(
        reverse("login"), {"username": user.username, "password": "correct-horse-battery"}
    )
    assert ok.status_code == 302


def test_login_refuses_an_open_redirect(client, user):
    response = client.post(
        reverse("login") + "?next=https://evil.example.com/",
        {
            "username": user.username,
            "password": "correct-horse-battery",
            "next": "https://evil.example.com/",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("catalog")


def test_admin_login_goes_through_the_rate_limited_page(client):
    response = client.get("/admin/login/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
