"""The Swedish catalogs ship complete and current (README "Languages")."""

from pathlib import Path

import pytest

from core.catalogs import (
    DOMAINS,
    catalog_path,
    parse_po,
    stale_msgids,
    translated_languages,
    untranslated,
)

CATALOGS = [(lang, domain) for lang in translated_languages() for domain in DOMAINS]


def test_swedish_is_a_translated_language():
    assert translated_languages() == ["sv"]


@pytest.mark.parametrize(("language", "domain"), CATALOGS)
def test_every_msgid_has_a_translation_and_none_is_fuzzy(language, domain):
    assert catalog_path(language, domain).exists()
    missing = [entry.msgid for entry in untranslated(language, domain)]
    assert missing == [], f"{len(missing)} untranslated or fuzzy in {language}/{domain}"


@pytest.mark.parametrize(("language", "domain"), CATALOGS)
def test_the_catalog_holds_exactly_the_strings_the_code_marks(language, domain):
    missing, obsolete = stale_msgids(language, domain)
    assert not missing, f"marked but not in the catalog (run `make messages`): {missing}"
    assert not obsolete, f"in the catalog but no longer marked (`make messages`): {obsolete}"


def test_the_checks_catch_an_empty_a_fuzzy_and_a_plural_gap(tmp_path: Path):
    po = tmp_path / "x.po"
    po.write_text(
        'msgid ""\nmsgstr ""\n"Language: sv\\n"\n\n'
        'msgid "Save"\nmsgstr "Spara"\n\n'
        'msgid "Back"\nmsgstr ""\n\n'
        '#, fuzzy\nmsgid "Next"\nmsgstr "Nästa"\n\n'
        'msgctxt "alerts"\nmsgid "On"\nmsgstr "På"\n\n'
        'msgid "%(n)s day"\nmsgid_plural "%(n)s days"\nmsgstr[0] "%(n)s dag"\nmsgstr[1] ""\n',
        encoding="utf-8",
    )
    entries = {entry.msgid: entry for entry in parse_po(po)}
    assert set(entries) == {"Save", "Back", "Next", "On", "%(n)s day"}
    assert [m for m, e in entries.items() if not e.translated] == ["Back", "Next", "%(n)s day"]
    assert entries["On"].key == ("alerts", "On")
