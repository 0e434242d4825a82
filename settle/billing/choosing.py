"""Which bill a customer means when they name one in their own words: by number ("INV-2026-000021"), by month
("the september one", "de factuur van september", "celle d'août"), by "last month" ("vorige maand", "le mois
dernier"), as the latest ("my last bill") or as "the previous one" ("de vorige", "la précédente"). Every place a
bill is chosen (a copy, the link to pay, the explanation, a dispute) asks here, so they all understand the same words."""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from settle.errors import NoBillForMonth
from settle.words import month_names, plain

INVOICE_NUMBER = re.compile(r"\binv[\s-]?(\d{4})[\s-]?(\d{6})\b")
#: English "may" is a verb far more often than a month: it counts only as "in/from/of/for may" or "may's/may bill".
_MAY_AS_MONTH = re.compile(r"\b(?:in|from|of|for|the)\s+may\b|\bmay(?:'s)?\s+(?:one|bill|invoice)\b")
#: Month names as words, without the verb "may" and without two-letter abbreviations.
_MONTHS = {name: number for name, number in month_names().items() if name != "may" and len(name) >= 3}
_MONTH = re.compile(r"\b(" + "|".join(sorted(map(re.escape, _MONTHS), key=len, reverse=True)) + r")\b(?:\s+(\d{4}))?")
#: A month said as when to pay ("pay in march", "betalen in maart", "payer en mars", "pay by the end of march"):
#: a date, not a bill's month. A month after "from", "of", "van", "de" still names a bill.
_PAY_WORD = re.compile(r"\b(?:pay|paying|betalen|betaal|afbetalen|payer|paie|regler|solder)\b")
_WHEN = re.compile(
    r"\b(?:in|on|by|before|until|till|after|starting|end\s+of|early|mid|late|op|tegen|voor|tot|vanaf|na|eind|begin|"
    r"en|avant|apres|jusqu'en|d'ici|fin|debut|a\s+partir\s+de)\s+(?:(?:the\s+)?\d{1,2}(?:st|nd|rd|th|e|er|de|ste)?\s+)?$"
)
_LAST_MONTH = re.compile(
    r"\b(?:last|previous)\s+month(?:'s)?\b|\bvorige\s+maand\b|\b(?:le\s+)?mois\s+(?:dernier|passe|precedent)\b"
)
_THIS_MONTH = re.compile(r"\bthis\s+month(?:'s)?\b|\bdeze\s+maand\b|\bce\s+mois(?:[\s-]ci)?\b")
#: "my last bill", "the latest one", "mijn laatste factuur", "de laatste", "ma dernière facture", "la dernière": the
#: newest bill (not "the last time", "de laatste keer", "la dernière fois").
_LATEST = re.compile(
    r"\b(?:last|latest|newest|most\s+recent)\s+(?:bill|invoice|one)\b|\blaatste\s+(?:factuur|rekening|afrekening)\b"
    r"|\bde\s+laatste\b(?!\s+(?:keer|maal))|\b(?:derniere|plus\s+recente)\s+facture\b|\bla\s+derniere\b(?!\s+fois)"
)
_PREVIOUS_ONE = re.compile(
    r"\b(?:the\s+)?(?:previous|one\s+before|bill\s+before|invoice\s+before)\b|\bde\s+vorige\b|\bdie\s+ervoor\b"
    r"|\b(?:la\s+)?precedente?\b|\bcelle\s+d'avant\b|\bd'avant\b"
)


class Bill(Protocol):
    @property
    def number(self) -> str: ...

    @property
    def period_start(self) -> date: ...

    @property
    def issue_date(self) -> date: ...


@dataclass(frozen=True)
class BillChoice:
    """The bill meant (its number), or the month named that has no bill; both None when no bill was named."""

    number: str | None = None
    #: The first day of the month the customer named when none of their bills is for it.
    missing_month: date | None = None
    #: The first days of the months the customer has bills for, newest first (to say which exist).
    months_with_bills: tuple[date, ...] = ()

    @property
    def named_nothing(self) -> bool:
        return self.number is None and self.missing_month is None


def choose_bill(bills: Sequence[Bill], text: str, today: date, current: str | None = None) -> BillChoice:
    """The bill among `bills` (any order) that `text` names, given today; `current` is the bill just talked about,
    so "the previous one" is the one before it (else before the newest).

    A month is matched on the bill's period (what the bot calls "your bill for September"), then on the month it
    was issued; a month without a year is the latest such month that has started.
    """
    newest_first = sorted(bills, key=lambda bill: (bill.issue_date, bill.period_start), reverse=True)
    words = plain(text or "")
    months = tuple(dict.fromkeys(bill.period_start.replace(day=1) for bill in newest_first))
    number = INVOICE_NUMBER.search(words)
    if number:
        typed = f"INV-{number[1]}-{number[2]}"
        return BillChoice(number=typed)  # the number as typed: a number not theirs is refused where it is used
    month = _month_named(words, today)
    if month is not None:
        meant = next((bill for bill in newest_first if bill.period_start.replace(day=1) == month), None)
        meant = meant or next((bill for bill in newest_first if bill.issue_date.replace(day=1) == month), None)
        if meant is None:
            return BillChoice(missing_month=month, months_with_bills=months)
        return BillChoice(number=meant.number, months_with_bills=months)
    if _LATEST.search(words) and newest_first:
        return BillChoice(number=newest_first[0].number, months_with_bills=months)
    if _PREVIOUS_ONE.search(words) and newest_first:
        numbers = [bill.number for bill in newest_first]
        position = numbers.index(current) if current in numbers else 0
        if position + 1 < len(numbers):
            return BillChoice(number=numbers[position + 1], months_with_bills=months)
    return BillChoice(months_with_bills=months)


def _month_named(words: str, today: date) -> date | None:
    """The first day of the month the words name, if any."""
    this_month = today.replace(day=1)
    if _LAST_MONTH.search(words):
        return _month_before(this_month)
    if _THIS_MONTH.search(words):
        return this_month
    found = next((month for month in _MONTH.finditer(words) if not _when_to_pay(words, month.start())), None)
    number = _MONTHS[found[1]] if found else (5 if _MAY_AS_MONTH.search(words) else None)
    if number is None:
        return None
    if found and found[2]:
        return date(int(found[2]), number, 1)
    year = today.year if number <= today.month else today.year - 1
    return date(year, number, 1)


def _when_to_pay(words: str, start: int) -> bool:
    """Whether the month starting at `start` says when the customer will pay rather than which bill."""
    return bool(_PAY_WORD.search(words)) and bool(_WHEN.search(words[:start]))


def _month_before(first: date) -> date:
    return date(first.year - 1, 12, 1) if first.month == 1 else date(first.year, first.month - 1, 1)


def number_meant(bills: Sequence[Bill], said: str, today: date, current: str | None = None) -> str | None:
    """The number of the bill the words name, or None when they name none.

    Raises:
        NoBillForMonth: they name a month none of these bills is for; it carries the months there are bills for.
    """
    choice = choose_bill(bills, said, today, current)
    if choice.missing_month is not None:
        raise NoBillForMonth(choice.missing_month, choice.months_with_bills)
    return choice.number
