"""`manage.py check_catalogs`: fail when a translation is missing, fuzzy or stale.

The same checks as tests/core/test_catalogs.py, for a translator's inner loop
(README "Languages")."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from core.catalogs import DOMAINS, stale_msgids, translated_languages, untranslated


class Command(BaseCommand):
    help = "Check that every catalog is complete (no empty or fuzzy msgstr) and current."

    def handle(self, *args: Any, **options: Any) -> None:
        problems = []
        for language in translated_languages():
            for domain in DOMAINS:
                for entry in untranslated(language, domain):
                    state = "fuzzy" if entry.fuzzy else "untranslated"
                    problems.append(f"{language}/{domain}: {state}: {entry.msgid!r}")
                missing, obsolete = stale_msgids(language, domain)
                problems += [f"{language}/{domain}: not extracted yet: {m!r}" for _, m in missing]
                problems += [f"{language}/{domain}: no longer marked: {m!r}" for _, m in obsolete]
        if problems:
            raise CommandError(
                "\n".join([*problems, "Run `make messages`, translate, `make compilemessages`."])
            )
        self.stdout.write("Catalogs complete and current.")
