"""Login failures are counted per account as authentication resolves the name,
and per client address as the trusted proxies report it."""

import pytest
from django.test import RequestFactory, override_settings
from django.urls import reverse

from core import ratelimit
from core.auth_views import LOCKED_MESSAGE
from tests.conftest import PASSWORD
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _login(client, username: str, password: str, address: str, forwarded: str | None = None):
    extra = {"REMOTE_ADDR": address}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return client.post(reverse("login"), {"username": username, "password": password}, **extra)


def test_padded_fullwidth_and_case_variants_spend_the_same_accounts_attempts(client):
    user = UserFactory(username="brute2", password=PASSWORD)
    fullwidth = "\uff42\uff52\uff55\uff54\uff45\uff12"
    variants = [" brute2", "\uff42rute2", "brute2 ", "BRUTE2", f"\t{fullwidth}"]
    for number, variant in enumerate(variants):
        _login(client, variant, "wrong", address=f"10.0.0.{number + 1}")
    # From a fresh address, the right password is refused: the account is paused.
    response = _login(client, user.username, PASSWORD, address="10.0.0.99")
    assert response.status_code == 200
    assert LOCKED_MESSAGE in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_variants_really_log_in_as_the_account(client):
    # The premise of the rule above: authentication resolves them to brute2.
    user = UserFactory(username="brute2", password=PASSWORD)
    response = _login(client, " \uff42rute2 ", PASSWORD, address="10.0.0.1")
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)
    assert ratelimit.login_name(" \uff42rute2 ") == ratelimit.login_name("brute2")
    assert ratelimit.login_name("brute3") != ratelimit.login_name("brute2")


def test_forwarded_header_is_ignored_without_trusted_proxies(client):
    UserFactory(username="alice", password=PASSWORD)
    for number in range(5):
        _login(client, f"nobody{number}", "wrong", "10.1.1.1", forwarded=f"192.0.2.{number}")
    # Every attempt came from 10.1.1.1, whatever the header claimed.
    response = _login(client, "alice", PASSWORD, "10.1.1.1", forwarded="198.51.100.7")
    assert LOCKED_MESSAGE in response.content.decode()


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_behind_one_proxy_each_client_has_its_own_address_limit(client):
    UserFactory(username="alice", password=PASSWORD)
    proxy = "10.9.9.9"
    for number in range(5):
        # The client forged an entry; the proxy appended the real address.
        _login(client, f"nobody{number}", "wrong", proxy, forwarded="203.0.113.5, 192.0.2.66")
    blocked = _login(client, "alice", PASSWORD, proxy, forwarded="1.2.3.4, 192.0.2.66")
    assert LOCKED_MESSAGE in blocked.content.decode()
    other = _login(client, "alice", PASSWORD, proxy, forwarded="192.0.2.77")
    assert other.status_code == 302


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "192.0.2.1", "10.0.0.1"),
        (1, "192.0.2.1", "192.0.2.1"),
        (1, "6.6.6.6, 192.0.2.1", "192.0.2.1"),
        (2, "6.6.6.6, 192.0.2.1, 10.0.0.5", "192.0.2.1"),
        (2, "192.0.2.1", "10.0.0.1"),  # fewer hops than proxies: the header is not trusted
        (1, "not-an-address", "10.0.0.1"),
        (1, "", "10.0.0.1"),
        (1, " 2001:db8::1 ", "2001:db8::1"),
    ],
)
def test_client_address_counts_trusted_proxies_from_the_right(proxies, forwarded, expected):
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=forwarded)
    with override_settings(TRUSTED_PROXY_COUNT=proxies):
        assert ratelimit.client_address(request) == expected
