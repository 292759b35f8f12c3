"""Checks of the committed translation catalogs (README "Languages").

Two ways a catalog goes wrong: a msgid without a (non-fuzzy) translation, and a
catalog that is stale, i.e. no longer holds exactly the strings the code marks
(someone marked a string and did not run `make messages`). `untranslated()` finds
the first, `stale_msgids()` the second by extracting the strings afresh into a
throwaway copy of the project and comparing the msgid sets.
"""

import ast
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

DOMAINS = ("django", "djangojs")
# What `make messages` leaves out (Makefile MESSAGES_IGNORE): keep the two in step.
IGNORED = (".venv", "var", "tests", "benchmarks", ".ci", ".git", "__pycache__", "node_modules")


@dataclass(frozen=True)
class Entry:
    context: str | None
    msgid: str
    msgid_plural: str | None
    msgstrs: tuple[str, ...]
    fuzzy: bool

    @property
    def key(self) -> "Key":
        return (self.context, self.msgid)

    @property
    def translated(self) -> bool:
        return not self.fuzzy and bool(self.msgstrs) and all(self.msgstrs)


def parse_po(path: Path) -> list[Entry]:
    """The entries of a .po file (the header and obsolete #~ entries left out)."""
    entries = []
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        entry = _parse_block(block)
        if entry is not None and entry.msgid:
            entries.append(entry)
    return entries


def _parse_block(block: str) -> Entry | None:
    fields: dict[str, str] = {}
    current = None
    fuzzy = False
    for line in block.splitlines():
        if line.startswith("#,") and "fuzzy" in line:
            fuzzy = True
        elif line.startswith("#"):
            continue
        elif line.startswith('"') and current:
            fields[current] += ast.literal_eval(line)
        elif " " in line:
            keyword, _, literal = line.partition(" ")
            current = keyword
            fields[keyword] = ast.literal_eval(literal)
    if "msgid" not in fields:
        return None
    msgstrs = tuple(value for key, value in sorted(fields.items()) if key.startswith("msgstr"))
    return Entry(
        context=fields.get("msgctxt"),
        msgid=fields["msgid"],
        msgid_plural=fields.get("msgid_plural"),
        msgstrs=msgstrs,
        fuzzy=fuzzy,
    )


def catalog_path(language: str, domain: str, root: Path | None = None) -> Path:
    base = root / "locale" if root else Path(settings.LOCALE_PATHS[0])
    return base / language / "LC_MESSAGES" / f"{domain}.po"


def translated_languages() -> list[str]:
    """Every language but the source one (English) needs a catalog."""
    return [code for code, _ in settings.LANGUAGES if code != "en"]


def untranslated(language: str, domain: str) -> list[Entry]:
    """Entries of the committed catalog that are empty or fuzzy."""
    return [e for e in parse_po(catalog_path(language, domain)) if not e.translated]


Key = tuple[str | None, str]


def stale_msgids(language: str, domain: str) -> tuple[set[Key], set[Key]]:
    """(marked in the code but missing from the catalog, in the catalog but no longer
    marked): both empty when the committed catalog is current."""
    committed = {e.key for e in parse_po(catalog_path(language, domain))}
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "project"
        shutil.copytree(
            settings.BASE_DIR, copy, ignore=shutil.ignore_patterns(*IGNORED), symlinks=True
        )
        subprocess.run(
            [
                sys.executable,
                "manage.py",
                "makemessages",
                "-l",
                language,
                "-d",
                domain,
                "--no-obsolete",
                *[f"--ignore={pattern}" for pattern in IGNORED],
            ],
            cwd=copy,
            check=True,
            capture_output=True,
            env=_subprocess_env(),
        )
        fresh = {e.key for e in parse_po(catalog_path(language, domain, root=copy))}
    return fresh - committed, committed - fresh


def _subprocess_env() -> dict[str, str]:
    # Extraction needs no database or broker; the local settings need nothing else.
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
