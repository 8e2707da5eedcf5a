"""`{{ product.name|highlight:filters.q }}`: the text, escaped, with the search's words marked."""

import re

from django import template
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe

from catalogue.search import query_words

register = template.Library()


@register.filter(needs_autoescape=True)
def highlight(text, q, autoescape: bool = True) -> SafeString | str:
    """Every occurrence of a word of `q` in `text` wrapped in `<mark>` (any case); everything else
    escaped as the template would have, so neither the text nor the query can inject markup."""
    text = str(text)
    escape = conditional_escape if autoescape else str
    words = query_words(str(q or ""))
    if not words:
        return escape(text)
    # Longest first, so "tea bags" marks "teabags" as one run rather than "tea" alone.
    pattern = re.compile(
        "|".join(re.escape(word) for word in sorted(words, key=len, reverse=True)), re.IGNORECASE
    )
    parts, end = [], 0
    for match in pattern.finditer(text):
        parts.append(escape(text[end : match.start()]))
        parts.append(format_html("<mark>{}</mark>", match.group()))
        end = match.end()
    parts.append(escape(text[end:]))
    return mark_safe("".join(str(part) for part in parts))
