"""Paying by bank transfer: the Belgian structured communication that ties a transfer to an invoice."""
from __future__ import annotations

import re

STRUCTURED = re.compile(r"\+{3}\s*(\d{3})\s*/\s*(\d{4})\s*/\s*(\d{5})\s*\+{3}|\*{3}\s*(\d{3})\s*/\s*(\d{4})\s*/\s*(\d{5})\s*\*{3}")


def check_digits(base: int) -> int:
    """Modulo 97 of the ten-digit base, where a remainder of 0 is written as 97."""
    return base % 97 or 97


def structured_communication(invoice_number: str) -> str:
    """+++123/4567/89012+++ for an invoice: the last ten digits of its number and two check digits."""
    digits = re.sub(r"\D", "", invoice_number)[-10:].rjust(10, "0")
    twelve = f"{digits}{check_digits(int(digits)):02d}"
    return f"+++{twelve[:3]}/{twelve[3:7]}/{twelve[7:]}+++"


def parse_structured_communication(text: str) -> str | None:
    """The twelve digits of a valid structured communication (+++…+++ or ***…*** in a text, or the bare
    digits on their own), or None; digits scattered through a sentence are not read as one."""
    match = STRUCTURED.search(text or "")
    if match:
        digits = "".join(group for group in match.groups() if group)
    elif re.fullmatch(r"[\d\s/.+*-]+", (text or "").strip()):  # the bare twelve digits, maybe grouped
        digits = re.sub(r"\D", "", text)
    else:
        return None
    if len(digits) != 12:
        return None
    return digits if check_digits(int(digits[:10])) == int(digits[10:]) else None
