"""`{{ dataflow.status_message|translated }}`: a text the engine stored in English
(`core.stored_text`), in the reader's language."""

from django import template

from core.stored_text import translate

register = template.Library()


@register.filter
def translated(text: str) -> str:
    return translate(text or "")
