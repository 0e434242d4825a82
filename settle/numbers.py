"""Reading a count the way customers type it: "6", "six", "6 months", "a dozen", "drie maanden", "six mois"."""
from __future__ import annotations

import re

from settle.words import COUNTS

ENGLISH = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "a dozen": 12, "dozen": 12, "eighteen": 18, "twenty-four": 24,
    "twenty four": 24, "a year": 12, "half a year": 6, "two years": 24,
}
#: Count words of the three languages (Dutch and French from settle.words).
WORDS = {**COUNTS, **ENGLISH}
_WORD = re.compile(r"\b(?:" + "|".join(re.escape(w) for w in sorted(WORDS, key=len, reverse=True)) + r")\b")


def parse_count(text: str) -> int | None:
    """The first whole number in the text, in digits or words of any of the three languages; None when there
    is none. Digits win over words ("zes of 6" is 6); among words the first one written counts."""
    text = (text or "").lower()
    digits = re.search(r"\d+", text)
    if digits:
        return int(digits.group())
    word = _WORD.search(text)
    return WORDS[word.group()] if word else None
