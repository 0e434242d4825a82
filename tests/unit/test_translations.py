"""The catalogs are complete: every text of the customer's pages, the chat widget and the PDF copy of a bill has a
Dutch and a French translation, with the same placeholders and markup, so no customer meets an English sentence
or a broken one."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir, extract_from_file

from settle.translations import TRANSLATED, read_catalog, translations_for

ROOT = Path(__file__).resolve().parents[2] / "settle"
#: The customer-facing templates (the agent console under templates/agent/ stays English) and the Python modules
#: whose texts a customer reads: the widget's texts, the bill words and the PDF copy.
CUSTOMER_TEMPLATES = "web/templates"
CUSTOMER_MODULES = ("translations.py", "web/chat.py", "billing/pdf.py")
#: %(name)s and %s, and HTML tags by name: what a translation must keep.
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]|</?[a-z]+")


def _messages(found) -> set[str | tuple[str, ...]]:
    return {message for _, _, message, _, _ in found if message}


def extracted_messages() -> set[str | tuple[str, ...]]:
    """Every msgid (a tuple for singular and plural) as Babel extracts it, as a translator's tools would."""
    templates = extract_from_dir(
        ROOT / CUSTOMER_TEMPLATES,
        method_map=[("agent/**.html", "ignore"), ("**.html", "jinja2.ext:babel_extract")],
        options_map={"**.html": {"trimmed": "true", "newstyle_gettext": "true"}},
    )
    messages = _messages(templates)
    for module in CUSTOMER_MODULES:
        messages |= {message for _, message, _, _ in extract_from_file("python", ROOT / module) if message}
    return messages


def placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text))


def test_the_pages_have_texts_to_translate():
    messages = extracted_messages()
    assert "Pay your bill" in messages and ("Your bill", "Your bills") in messages  # the payment page
    assert "Chat with us" in messages  # the widget
    assert "Invoice copy" in messages  # the PDF
    assert not any("Agent console" in str(message) for message in messages)  # the console stays English


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_text_has_a_translation_with_the_same_placeholders(language):
    catalog = read_catalog(language)
    missing, broken = [], []
    for message in sorted(extracted_messages(), key=str):
        key = message[0] if isinstance(message, tuple) else message
        entry = catalog.get(key)
        if entry is None or entry.fuzzy:
            missing.append(key)
            continue
        sources = list(message) if isinstance(message, tuple) else [message]
        translations = list(entry.string) if isinstance(entry.string, tuple) else [entry.string]
        if not all(t.strip() for t in translations):
            missing.append(key)
            continue
        for translation in translations:
            if placeholders(translation) != placeholders(sources[-1]) and placeholders(translation) != placeholders(sources[0]):
                broken.append((key, translation))
    assert missing == [], f"{language}.po lacks a translation of {missing}"
    assert broken == [], f"{language}.po changes placeholders or markup in {broken}"


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_catalog_has_no_texts_the_pages_no_longer_use(language):
    ids = {message[0] if isinstance(message, tuple) else message for message in extracted_messages()}
    stale = [message.id for message in read_catalog(language) if message.id and
             (message.id[0] if isinstance(message.id, tuple) else message.id) not in ids]
    assert stale == []


def test_a_language_reads_its_catalog_and_english_reads_as_written():
    assert translations_for("nl").gettext("Pay your bill") == "Uw factuur betalen"
    assert translations_for("fr").gettext("Pay your bill") == "Payer votre facture"
    assert translations_for("en").gettext("Pay your bill") == "Pay your bill"
    assert translations_for("de").gettext("Pay your bill") == "Pay your bill"  # Settle doesn't speak German
    assert translations_for("fr").ngettext("Your bill", "Your bills", 2) == "Vos factures"
