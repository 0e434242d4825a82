"""The checksum that tells a payment card number from other long numbers (settle.identity.privacy masks them)."""
from __future__ import annotations


def luhn_valid(digits: str) -> bool:
    """The checksum every payment card number passes."""
    total = 0
    for position, digit in enumerate(reversed(digits)):
        value = int(digit) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0
