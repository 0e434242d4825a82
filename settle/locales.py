"""The locale each language Settle speaks is written in, for Babel: Belgian Dutch and French; English as today."""
from __future__ import annotations

from collections.abc import Sequence

from babel import Locale, UnknownLocaleError
from babel.lists import format_list as babel_format_list

#: "en" (not en_BE or en_GB): €1,234.56 and "Sep", as English readers expect; nl_BE gives "€ 1.234,56", fr_BE "1 234,56 €".
LOCALES = {"nl": "nl_BE", "fr": "fr_BE", "en": "en"}


def locale_for(language: str) -> str:
    """The Babel locale for 'nl', 'fr' or 'en'; English for anything else."""
    return LOCALES.get(language, LOCALES["en"])


def format_list(items: Sequence[str], language: str = "en") -> str:
    """Things named together as the language says it: "A, B and C", "A, B en C", "A, B et C" (Babel)."""
    return babel_format_list(list(items), locale=locale_for(language))


def language_name(language: str | None, reader: str = "en") -> str:
    """A language's name for a reader (agents read English): "nl" is "Dutch", "fr" "French"; the code itself when
    Babel doesn't know it."""
    try:
        name = Locale.parse(language or "").get_language_name(locale_for(reader))
    except (ValueError, TypeError, UnknownLocaleError):
        return language or ""
    return name[:1].upper() + name[1:] if name else language or ""
