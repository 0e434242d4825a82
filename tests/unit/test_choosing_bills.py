"""Which bill a customer means in their own words, in English, Dutch and French (settle/billing/choosing.py)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest

from settle.billing.choosing import choose_bill, number_meant
from settle.errors import NoBillForMonth

TODAY = date(2026, 12, 3)


@dataclass(frozen=True)
class Bill:
    number: str
    period_start: date
    issue_date: date


def monthly(month: int, year: int = 2026) -> Bill:
    """The bill for a month, issued on the 3rd of the next."""
    issued = date(year + month // 12, month % 12 + 1, 3)
    return Bill(f"INV-{year}-{month:06d}", date(year, month, 1), issued)


BILLS = [monthly(month) for month in (11, 7, 8, 9, 10)]  # in no order


@pytest.mark.parametrize("said, number", [
    ("send me my invoice from september", "INV-2026-000009"),
    ("and the august one?", "INV-2026-000008"),
    ("the one from last month", "INV-2026-000011"),
    ("INV-2026-000007", "INV-2026-000007"),
    ("can i get inv 2026 000010 please", "INV-2026-000010"),
    ("de factuur van september", "INV-2026-000009"),
    ("die van vorige maand", "INV-2026-000011"),
    ("celle d'août", "INV-2026-000008"),
    ("et celle d'aout ?", "INV-2026-000008"),
    ("la facture du mois dernier", "INV-2026-000011"),
    ("la facture de Juillet", "INV-2026-000007"),
    ("the October 2026 bill", "INV-2026-000010"),
    ("the previous one", "INV-2026-000010"),
    ("de vorige", "INV-2026-000010"),
])
def test_a_bill_named_by_number_month_or_as_the_previous_one(said, number):
    assert choose_bill(BILLS, said, TODAY).number == number


def test_the_previous_one_is_the_one_before_the_bill_just_talked_about():
    assert choose_bill(BILLS, "and the previous one?", TODAY, current="INV-2026-000009").number == "INV-2026-000008"
    assert choose_bill(BILLS, "la précédente", TODAY, current="INV-2026-000007").named_nothing  # nothing before it


@pytest.mark.parametrize("said", ["send me a copy of my invoice", "may I have my invoice", "why is it so high", ""])
def test_words_that_name_no_bill_leave_the_choice_to_the_question(said):
    assert choose_bill(BILLS, said, TODAY).named_nothing


def test_a_month_in_english_may_is_read_only_as_a_month():
    may = [monthly(5), *BILLS]
    assert choose_bill(may, "the may one", TODAY).number == "INV-2026-000005"
    assert choose_bill(may, "may I get a copy", TODAY).named_nothing


def test_a_month_without_a_bill_says_which_months_have_one():
    choice = choose_bill(BILLS, "the bill from march", TODAY)
    assert choice.number is None and choice.missing_month == date(2026, 3, 1)
    assert choice.months_with_bills == tuple(date(2026, month, 1) for month in (11, 10, 9, 8, 7))
    with pytest.raises(NoBillForMonth) as missing:
        number_meant(BILLS, "de factuur van maart", TODAY)
    assert missing.value.month == date(2026, 3, 1) and missing.value.months[0] == date(2026, 11, 1)


def test_a_month_later_in_the_year_than_today_is_last_year_s():
    january = date(2027, 1, 10)
    assert choose_bill(BILLS, "the february one", january).missing_month == date(2026, 2, 1)
    assert choose_bill(BILLS, "the january one", january).missing_month == date(2027, 1, 1)
    assert choose_bill(BILLS, "the november one", january).number == "INV-2026-000011"


def test_a_month_is_matched_on_the_issue_date_when_no_bill_is_for_that_period():
    assert choose_bill(BILLS, "the bill i got in december", TODAY).number == "INV-2026-000011"


def test_the_number_is_returned_as_typed_even_when_not_theirs():
    assert choose_bill(BILLS, "INV-2025-000001", TODAY).number == "INV-2025-000001"


YEAR_OF_BILLS = [monthly(month) for month in range(1, 12)]


@pytest.mark.parametrize("said, number", [
    ("send me my sept invoice", "INV-2026-000009"),
    ("the sep. one", "INV-2026-000009"),
    ("and the jan one?", "INV-2026-000001"),
    ("can i get a copy of the déc bill", "INV-2026-000011"),  # issued in December, for November
    ("la facture de déc.", "INV-2026-000011"),
    ("de factuur van mrt", "INV-2026-000003"),
    ("die van okt", "INV-2026-000010"),
    ("celle de févr", "INV-2026-000002"),
    ("la facture de juil", "INV-2026-000007"),
])
def test_a_month_in_short_or_without_accents_names_its_bill(said, number):
    assert choose_bill(YEAR_OF_BILLS, said, TODAY).number == number


@pytest.mark.parametrize("said", [
    "i want to pay in march",
    "can i pay by the end of march?",
    "ik wil betalen in maart",
    "kan ik op 15 maart betalen",
    "betalen tegen eind mrt",
    "je veux payer en mars",
    "je peux régler début mars ?",
])
def test_a_month_said_as_when_to_pay_names_no_bill(said):
    assert choose_bill(YEAR_OF_BILLS, said, TODAY).named_nothing


@pytest.mark.parametrize("said, number", [
    ("can i pay the bill from march", "INV-2026-000003"),
    ("i want to pay my march bill", "INV-2026-000003"),
    ("i want to pay my bill of march in april", "INV-2026-000003"),
    ("ik wil de factuur van maart betalen", "INV-2026-000003"),
    ("je veux payer la facture de mars en avril", "INV-2026-000003"),
])
def test_a_bill_s_month_is_still_read_when_paying_it(said, number):
    assert choose_bill(YEAR_OF_BILLS, said, TODAY).number == number


@pytest.mark.parametrize("said", [
    "my last bill is wrong, you charged me for a meter replacement i never had",
    "the latest invoice", "mijn laatste factuur klopt niet", "ma dernière facture est fausse",
    "the latest one", "the last one please", "de laatste", "la dernière",
])
def test_the_last_bill_is_the_newest(said):
    assert choose_bill(BILLS, said, TODAY).number == "INV-2026-000011"


@pytest.mark.parametrize("said", ["did you get my last payment?", "de laatste keer was het goedkoper",
                                  "la dernière fois c'était moins cher", "last time it was cheaper"])
def test_the_last_time_or_payment_names_no_bill(said):
    assert choose_bill(BILLS, said, TODAY).named_nothing
