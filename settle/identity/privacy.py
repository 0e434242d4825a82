"""Keeping what customers should never have typed out of what Settle stores and shows."""
from __future__ import annotations

import re

from settle.identity.card_numbers import CANDIDATE, luhn_valid

CARD_NUMBER_REMOVED = "[card number removed]"


def mask_card_numbers(text: str) -> tuple[str, bool]:
    """The text with each payment card number (13 to 19 digits passing the Luhn check, in any spacing)
    replaced by "[card number removed]", and whether there was one."""
    found = False

    def replace(match: re.Match[str]) -> str:
        nonlocal found
        digits = re.sub(r"\D", "", match.group())
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            found = True
            return CARD_NUMBER_REMOVED
        return match.group()

    return CANDIDATE.sub(replace, text), found
