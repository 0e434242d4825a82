"""Reading a count the way customers type it: "6", "six", "6 months", "a dozen"."""
from __future__ import annotations

import re

WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "a dozen": 12, "dozen": 12, "eighteen": 18, "twenty-four": 24,
    "twenty four": 24, "a year": 12, "half a year": 6, "two years": 24,
}


def parse_count(text: str) -> int | None:
    """The first whole number in the text, in digits or words; None when there is none."""
    text = (text or "").lower()
    digits = re.search(r"\d+", text)
    if digits:
        return int(digits.group())
    for word, value in sorted(WORDS.items(), key=lambda item: -len(item[0])):
        if re.search(rf"\b{word}\b", text):
            return value
    return None
