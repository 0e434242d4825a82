"""The locale each language Settle speaks is written in, for Babel: Belgian Dutch and French; English as today."""
from __future__ import annotations

from collections.abc import Sequence

from babel.lists import format_list as babel_format_list

#: "en" (not en_BE or en_GB): €1,234.56 and "Sep", as English readers expect; nl_BE gives "€ 1.234,56", fr_BE "1 234,56 €".
LOCALES = {"nl": "nl_BE", "fr": "fr_BE", "en": "en"}


def locale_for(language: str) -> str:
    """The Babel locale for 'nl', 'fr' or 'en'; English for anything else."""
    return LOCALES.get(language, LOCALES["en"])


def format_list(items: Sequence[str], language: str = "en") -> str:
    """Things named together as the language says it: "A, B and C", "A, B en C", "A, B et C" (Babel)."""
    return babel_format_list(list(items), locale=locale_for(language))
