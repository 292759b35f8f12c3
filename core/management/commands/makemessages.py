"""`manage.py makemessages` that also extracts `StoredText("…")` declarations.

Engine sentences are declared as `StoredText("…")` (core/stored_text.py) and
translated when shown; xgettext learns the class as one more gettext keyword
(its first argument is the msgid), so no declaration needs a `gettext_noop`
wrapper of its own."""

from django.core.management.commands import makemessages


class Command(makemessages.Command):
    xgettext_options = [*makemessages.Command.xgettext_options, "--keyword=StoredText"]
