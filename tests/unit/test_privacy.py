"""Card numbers typed into the chat are replaced before anything stores them."""
from __future__ import annotations

import pytest

from settle.identity.privacy import mask_card_numbers


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("my card is 4111 1111 1111 1111", "my card is [card number removed]"),
        ("5500-0000-0000-0004 exp 03/28", "[card number removed] exp 03/28"),
        ("4012888888881881", "[card number removed]"),
        ("two: 4111111111111111 and 378282246310005.", "two: [card number removed] and [card number removed]."),
    ],
)
def test_card_numbers_in_any_spacing_are_replaced(text, masked):
    assert mask_card_numbers(text) == (masked, True)


@pytest.mark.parametrize(
    "text",
    ["50000017", "INV-2026-000123", "I paid 1234.56 on 12/11/2026", "call me on 0470 123 456", "4111 1111 1111 1112", "", "hi"],
)
def test_ordinary_numbers_and_non_luhn_digits_stay(text):
    assert mask_card_numbers(text) == (text, False)
