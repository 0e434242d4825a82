"""The customer-facing pages' words in Dutch and French.

The catalogs are gettext .po files in settle/messages/ (nl.po, fr.po; the English text is the msgid), read with
Babel the first time a language is needed and kept for the process's life: no compiled .mo file to keep in step.
English, and any language without a catalog, shows the msgids as written.
"""
from __future__ import annotations

import gettext
import io
from functools import cache
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from settle.locales import locale_for

MESSAGES = Path(__file__).with_name("messages")
#: The languages with a catalog; English needs none.
TRANSLATED = ("nl", "fr")


def N_(message: str) -> str:
    """Marks a text for the catalogs where it is defined and translated later (babel extracts N_ calls)."""
    return message


#: The words the demo's billing system writes on bills (line descriptions and units), so the payment page and the
#: PDF copy show them in the customer's language; a description the catalogs don't know stays as written.
BILL_WORDS = (N_("Electricity used"), N_("Standing charge"), N_("Meter replacement"), N_("VAT 6%"), N_("month"), N_("item"))


def read_catalog(language: str) -> Catalog:
    """The catalog of `language` as written in its .po file."""
    with (MESSAGES / f"{language}.po").open("rb") as po:
        return read_po(po, locale=locale_for(language))


@cache
def translations_for(language: str) -> gettext.NullTranslations:
    """gettext and ngettext in `language`; the English text for English and for anything Settle doesn't speak.
    Fuzzy and empty entries are left out, so an unfinished translation shows English rather than nothing."""
    if language not in TRANSLATED:
        return gettext.NullTranslations()
    compiled = io.BytesIO()
    write_mo(compiled, read_catalog(language))
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def gettext_in(language: str, message: str) -> str:
    """`message` in `language`."""
    return translations_for(language).gettext(message)
