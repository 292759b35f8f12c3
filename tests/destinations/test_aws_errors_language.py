"""What AWS refused is said in the reader's language in the connect wizard."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from tests.destinations.test_connect_authenticate import HTMX, failing, keys_form
from tests.support import aws_calls

URL = reverse("destinations:connect")


@pytest.mark.parametrize(
    ("code", "english", "swedish"),
    [
        (
            "UnrecognizedClientException",
            "AWS does not recognise the access key ID AKIA…MPLE.",
            "AWS känner inte igen åtkomstnyckelns ID AKIA…MPLE.",
        ),
        (
            "AccessDeniedException",
            "Access denied: access key AKIA…MPLE is not allowed to call kinesis:ListStreams.",
            "Åtkomst nekad: åtkomstnyckeln AKIA…MPLE får inte anropa kinesis:ListStreams.",
        ),
    ],
    ids=["bad-credentials", "access-denied"],
)
@pytest.mark.parametrize("language", ["sv", "en"])
def test_the_wizard_says_what_aws_refused_in_the_page_language(
    logged_in_client: Any, stream: str, code: str, english: str, swedish: str, language: str
) -> None:
    with aws_calls.call_hook(failing(code)):
        response = logged_in_client.post(
            URL, keys_form(), headers={"Accept-Language": language}, **HTMX
        )
    html = response.content.decode()
    assert response.status_code == 200
    shown, other = (swedish, english) if language == "sv" else (english, swedish)
    assert shown in html
    assert other not in html


def test_a_failed_test_record_says_why_in_swedish(logged_in_client: Any, connection: Any) -> None:
    def deny(service: str, operation: str, params: dict, proceed: Any) -> dict:
        raise aws_calls.client_error("AccessDeniedException", operation=operation)

    with aws_calls.call_hook(deny):
        html = logged_in_client.post(
            reverse("destinations:test_record", args=[connection.pk]),
            headers={"Accept-Language": "sv"},
            **HTMX,
        ).content.decode()
    assert "får inte anropa kinesis:PutRecord på dataströmmen" in html
    assert "not allowed to call" not in html


def test_the_account_note_is_said_in_swedish(logged_in_client: Any, stream: str) -> None:
    from tests.destinations.test_kinesis_only_endpoint import kinesis_only

    with aws_calls.call_hook(kinesis_only):
        html = logged_in_client.post(
            URL, keys_form(), headers={"Accept-Language": "sv"}, **HTMX
        ).content.decode()
    assert (
        "STS GetCallerIdentity kunde inte köras (AWS-slutpunkten för sts i us-east-1 svarar "
        "inte som AWS STS gör (Unknown)): konto-id:t kommer från dataströmmens ARN."
    ) in html
