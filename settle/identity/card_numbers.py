"""Spotting payment card numbers typed into the chat, so Settle can warn instead of storing them."""
from __future__ import annotations

import re

CANDIDATE = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")


def luhn_valid(digits: str) -> bool:
    """The checksum every payment card number passes."""
    total = 0
    for position, digit in enumerate(reversed(digits)):
        value = int(digit) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def contains_card_number(text: str) -> bool:
    """Whether the text holds 13 to 19 digits (spaces or dashes allowed) that pass the Luhn check."""
    for match in CANDIDATE.finditer(text or ""):
        digits = re.sub(r"\D", "", match.group())
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            return True
    return False
