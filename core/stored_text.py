"""Sentences the engine stores in English and pages show in the reader's language.

Background work writes sentences into text columns: a dataflow's status message,
a connection's health message, an alert's title and message, a permission
check's details. Nobody's language exists at write time (a Celery task), and
the readers of one row may read different languages. So the column keeps the
English sentence — what the API, the admin and the tests read — composed only
from `StoredText` templates, and `translate()` recognises such a sentence when a
page shows it and renders it again through the gettext catalog, its parts
(a problem's headline inside "Cannot deliver: …") translated the same way.
Anything it does not recognise (free text, older rows) is shown as stored.

Placeholders are named (`%(stream)s`); integers are stored with English
grouping ("1,234") and shown with the reader's ("1 234"). `manage.py makemessages` extracts a
template's msgid from its declaration, `StoredText("…")` (the project's
makemessages knows the keyword, core/management/commands/makemessages.py).
"""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Iterable

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils import formats
from django.utils.translation import get_language, gettext, ngettext

# Modules that declare StoredText templates: imported before the first translation
# so that a page can recognise every stored sentence whatever imported it so far.
TEMPLATE_MODULES = (
    "destinations.kinesis.problems",
    "destinations.kinesis.permissions",
    "destinations.services",
    "activation.services",
    "activation.export.services",
    "alerts.checks",
    "alerts.services",
    "governance.enforcement",
    "governance.evaluation",
    "profiles.segments",
    "activation.export.records",
    "activation.export.batching",
    "governance.consent",
    "destinations.kinesis.aws.errors",
)

_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%%")
_INTEGER = re.compile(r"\d{1,3}(?:,\d{3})*")
_DECIMAL = re.compile(r"\d+\.\d+")
_templates: list[StoredText] = []
_loaded = False


class StoredText:
    """One English sentence with named placeholders, stored rendered, shown translated."""

    def __init__(self, msgid: str, plural: str = "", *, one_sentence: bool = False) -> None:
        """`one_sentence`: stored one after another ("Mapped a. Unmapped b."), so a
        value never spans a sentence end and the next sentence is not taken for it."""
        # Words around the values, or every text would match ("%(a)s %(b)s").
        assert _PLACEHOLDER.sub("", msgid).strip(" ."), msgid
        self.msgid, self.plural = msgid, plural
        self.patterns = [_pattern(text, one_sentence) for text in (msgid, plural) if text]
        # Longest literal first: the most specific template wins a text several match.
        self.specificity = len(_PLACEHOLDER.sub("", msgid))
        _templates.append(self)
        _templates.sort(key=lambda template: -template.specificity)
        _translated.cache_clear()  # a text may match this template now

    @classmethod
    def ngettext(cls, singular: str, plural: str) -> StoredText:
        """A sentence with a `%(count)s`; named so makemessages extracts the plural pair."""
        return cls(singular, plural)

    def __call__(self, **params: object) -> str:
        """The English sentence to store (whatever language is active)."""
        msgid = self.msgid
        if self.plural and params.get("count") != 1:
            msgid = self.plural
        return msgid % {name: _english(value) for name, value in params.items()}

    def translated(self, params: dict[str, str], stored_count: str = "") -> str:
        """In the active language; `stored_count`: the count as stored ("1,234")."""
        if not self.plural:
            return gettext(self.msgid) % params
        return ngettext(self.msgid, self.plural, int(stored_count.replace(",", ""))) % params


def translate(text: str) -> str:
    """`text` in the active language if it is a stored sentence, else unchanged."""
    language = get_language() or "en"
    if not text or language.startswith("en"):
        return text
    return _translated(text, language)


@functools.lru_cache(maxsize=4096)
def _translated(text: str, language: str) -> str:
    """Matching a text against every template costs a scan; pages show the same few
    stored sentences over and over (one status message per dataflow), so each is
    matched once per language and process. The catalogs do not change while a
    process runs."""
    _load_templates()
    # A message of several lines (a violation: the sentence, then one line per chain).
    return "\n".join(_translate(line, depth=0) for line in text.split("\n"))


def translate_all(texts: Iterable[str]) -> list[str]:
    return [translate(text) for text in texts]


def _translate(text: str, depth: int) -> str:
    if depth > 6:
        return text
    translated = _match_sentence(text, depth)
    if translated is None:
        translated = _split_sentences(text, depth)
    return _localized_number(text) if translated is None else translated


def _match_sentence(text: str, depth: int) -> str | None:
    translated = _match(text, depth)
    if translated is None and text[:1].isupper():
        # A headline that starts a sentence ("The stream … does not exist. …").
        lowered = _match(text[:1].lower() + text[1:], depth)
        if lowered is not None:
            return lowered[:1].upper() + lowered[1:]
    return translated


def _split_sentences(text: str, depth: int) -> str | None:
    """Sentences stored one after the other ("Mapped a. Unmapped b."; a health
    message: headline, then what to do): the first that is a template, then the rest."""
    start = 0
    while (end := text.find(". ", start)) != -1:
        head, tail = text[: end + 1], text[end + 2 :]
        translated = _match_sentence(head, depth)
        if translated is None and (bare := _match_sentence(head[:-1], depth)) is not None:
            translated = f"{bare}."
        if translated is not None:
            return f"{translated} {_translate(tail, depth + 1)}"
        start = end + 2
    return None


def _match(text: str, depth: int) -> str | None:
    for template in _templates:
        for pattern in template.patterns:
            found = pattern.fullmatch(text)
            if found is None:
                continue
            raw = found.groupdict()
            params = {name: _translate(value, depth + 1) for name, value in raw.items()}
            return template.translated(params, raw.get("count", ""))
    return None


@receiver(setting_changed)
def _catalogs_changed(*, setting: str, **kwargs: object) -> None:
    """Tests point at other catalogs (override_settings): forget what they translated."""
    if setting in {"LOCALE_PATHS", "LANGUAGES", "LANGUAGE_CODE", "INSTALLED_APPS"}:
        _translated.cache_clear()


def _localized_number(text: str) -> str:
    if _INTEGER.fullmatch(text):
        return formats.number_format(int(text.replace(",", "")), force_grouping=True)
    if _DECIMAL.fullmatch(text):
        decimals = len(text.split(".")[1])
        return formats.number_format(float(text), decimal_pos=decimals)
    return text


def _english(value: object) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _pattern(msgid: str, one_sentence: bool = False) -> re.Pattern[str]:
    anything = r"(?:(?!\. ).)+?" if one_sentence else ".+?"
    parts: list[str] = []
    position = 0
    named: set[str] = set()
    for placeholder in _PLACEHOLDER.finditer(msgid):
        parts.append(re.escape(msgid[position : placeholder.start()]))
        name = placeholder.group(1)
        if name is None:
            parts.append(re.escape("%"))
        elif name in named:  # a value the sentence repeats ("call %(action)s. Add %(action)s")
            parts.append(f"(?P={name})")
        else:
            named.add(name)
            # a count is a number, so "%(count)s" never swallows words
            parts.append(f"(?P<{name}>{_INTEGER.pattern if name == 'count' else anything})")
        position = placeholder.end()
    parts.append(re.escape(msgid[position:]))
    return re.compile("".join(parts), re.DOTALL)


def _load_templates() -> None:
    global _loaded
    if _loaded:
        return
    for module in TEMPLATE_MODULES:
        importlib.import_module(module)
    _loaded = True
