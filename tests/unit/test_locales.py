"""Lists and language names as each language writes them (Babel)."""
from __future__ import annotations

from decimal import Decimal

import pytest

from settle.locales import format_list, language_name
from settle.money import format_quantity, format_unit_price


@pytest.mark.parametrize("language, joined", [
    ("nl", "INV-1, INV-2 en INV-3"),
    ("fr", "INV-1, INV-2 et INV-3"),
    ("en", "INV-1, INV-2, and INV-3"),
    ("de", "INV-1, INV-2, and INV-3"),  # a language Settle doesn't speak reads as English
])
def test_a_list_is_joined_as_the_language_does(language, joined):
    assert format_list(["INV-1", "INV-2", "INV-3"], language) == joined


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_one_or_two_things(language):
    assert format_list(["INV-1"], language) == "INV-1"
    assert format_list(["A", "B"], language) == {"nl": "A en B", "fr": "A et B", "en": "A and B"}[language]


@pytest.mark.parametrize("code, name", [("nl", "Dutch"), ("fr", "French"), ("en", "English"), ("de", "German")])
def test_agents_read_each_language_by_its_english_name(code, name):
    assert language_name(code) == name


@pytest.mark.parametrize("code", ["", None, "zz-not-a-language"])
def test_an_unknown_language_shows_as_it_is_stored(code):
    assert language_name(code) == (code or "")


@pytest.mark.parametrize("language, price, usage", [
    ("nl", "€\xa00,285", "1.234,5"),
    ("fr", "0,285\xa0€", "1\u202f234,5"),
    ("en", "€0.285", "1,234.5"),
])
def test_unit_prices_and_usage_read_as_the_language_writes_numbers(language, price, usage):
    assert format_unit_price(Decimal("0.285"), language) == price
    assert format_quantity(Decimal("1234.50"), language) == usage
