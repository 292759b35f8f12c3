"""Engine texts are stored in English and shown in the reader's language."""

import re

import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import translation

from activation.export.services import delay_message, error_message
from core.stored_text import StoredText, translate
from destinations.kinesis import aws as kinesis
from destinations.kinesis.aws import errors as aws_errors
from destinations.kinesis.permissions import CheckItem, CheckReport
from destinations.kinesis.problems import problem_of
from governance.enforcement import STOPPED

# The Swedish catalog, wherever the settings point (explicit so the test does not
# depend on the order the language infrastructure landed in).
CATALOG = override_settings(LOCALE_PATHS=[settings.BASE_DIR / "locale"])


def throttled(pending: int) -> str:
    return error_message(problem_of(kinesis.Throttled("slow down"), stream="acme"), pending)


def test_the_stored_text_is_english_whatever_the_active_language():
    with CATALOG, translation.override("sv"):
        stored = throttled(1234)
    assert stored == (
        "Cannot deliver: the stream is at its capacity (throttled); 1,234 profiles are "
        "waiting. Retrying automatically; nothing to do. If it lasts, add shards to the stream."
    )


@CATALOG
def test_a_composed_sentence_is_shown_in_swedish_with_swedish_numbers():
    with translation.override("sv"):
        shown = translate(throttled(1234))
    # Swedish groups digits with a (no-break) space.
    assert shown.replace("\xa0", " ") == (
        "Kan inte leverera: strömmen har nått sin kapacitet (strypt); 1 234 profiler "
        "väntar. Försöker igen automatiskt; du behöver inte göra något. Om det håller i "
        "sig, lägg till shards i strömmen."
    )


@CATALOG
def test_the_plural_follows_the_stored_count():
    problem = problem_of(None, code="InternalFailure")
    with translation.override("sv"):
        assert "; 1 profil väntar." in translate(delay_message(problem, 1))
        assert "; 2 profiler väntar." in translate(delay_message(problem, 2))


@CATALOG
def test_a_health_sentence_starts_with_a_capital_in_swedish_too():
    sentence = problem_of(kinesis.StreamNotFound("gone"), stream="x").sentence
    assert sentence.startswith("The stream “x” does not exist. ")
    with translation.override("sv"):
        assert translate(sentence).startswith("Strömmen ”x” finns inte. Försöker igen")


@CATALOG
def test_every_line_of_a_violation_message_is_translated():
    stored = f"{STOPPED()}\nattribute person.birthDate → S3 Sensitive → policy “P” → Export"
    with translation.override("sv"):
        first, second = translate(stored).split("\n")
    assert first.startswith("Stoppat: en dataanvändningspolicy förbjuder")
    assert second == "attribut person.birthDate → S3 Sensitive → policy ”P” → Export"


@CATALOG
def test_text_that_is_no_template_is_shown_as_stored():
    with translation.override("sv"):
        assert translate("The stream was deleted by hand.") == "The stream was deleted by hand."
        assert translate("") == ""


@CATALOG
def test_english_readers_get_the_stored_text_untouched():
    with translation.override("en"):
        assert translate(throttled(5)) == throttled(5)


@CATALOG
def test_a_stored_permission_report_is_translated_for_the_page_only():
    stored = CheckReport(
        items=[
            CheckItem(
                key="capacity",
                label="Capacity",
                status="info",
                detail="Provisioned, 2 open shard(s): up to 2,000 records/s and 2 MiB/s of writes.",
            )
        ]
    )
    with translation.override("sv"):
        shown = stored.translated().items[0]
        assert (shown.label, shown.status_label) == ("Kapacitet", "Info")
        assert shown.detail.replace("\xa0", " ") == (
            "Provisionerad, 2 öppna shards: upp till 2 000 poster/s och 2 MiB/s skrivningar."
        )
    assert stored.items[0].label == "Capacity"


def _error_templates() -> list[tuple[str, StoredText]]:
    found = [
        (name, value) for name, value in vars(aws_errors).items() if isinstance(value, StoredText)
    ]
    found += [(code, reason) for code, reason in aws_errors.KMS_REASONS.items()]
    return found


@CATALOG
@pytest.mark.parametrize(("name", "template"), _error_templates(), ids=lambda x: str(x)[:40])
def test_every_aws_error_sentence_is_recognised_and_shown_in_swedish(
    name: str, template: StoredText
) -> None:
    names = set(re.findall(r"%\((\w+)\)s", template.msgid))
    params = {placeholder: f"v_{placeholder}" for placeholder in names}
    stored = template(**params)
    with translation.override("sv"):
        shown = translate(stored)
        assert shown == template.translated(params)
    assert shown != stored, f"{name} has no Swedish translation"


@CATALOG
def test_an_aws_error_embedding_other_sentences_is_translated_through():
    stored = aws_errors.WRONG_SECRET(who=aws_errors.THESE_CREDENTIALS())
    with translation.override("sv"):
        assert translate(stored).startswith(
            "Den hemliga åtkomstnyckeln hör inte till de här autentiseringsuppgifterna (AWS"
        )
