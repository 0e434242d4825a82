"""Money: integer cents in the database, Decimal euros in messages."""
from __future__ import annotations

from decimal import Decimal

import pytest

from settle.money import euros, format_euros, to_cents


@pytest.mark.parametrize(
    "cents, expected",
    [(0, "0.00"), (1, "0.01"), (99, "0.99"), (100, "1.00"), (123456, "1234.56"), (-250, "-2.50")],
)
def test_euros_turns_cents_into_exact_euros(cents, expected):
    amount = euros(cents)
    assert isinstance(amount, Decimal)
    assert amount == Decimal(expected)
    # Always two decimals, so amounts print as money.
    assert str(amount) == expected


@pytest.mark.parametrize(
    "amount, expected",
    [
        ("0", 0),
        ("12.34", 1234),
        ("12.345", 1235),  # half up, not banker's rounding
        ("12.325", 1233),  # half up; banker's rounding would give 1232
        ("0.125", 13),  # banker's rounding would give 12
        ("0.005", 1),
        ("0.0049", 0),
        ("-1.005", -101),  # half away from zero for negative amounts
        ("1000000.00", 100000000),
    ],
)
def test_to_cents_rounds_half_up(amount, expected):
    cents = to_cents(Decimal(amount))
    assert isinstance(cents, int)
    assert cents == expected


@pytest.mark.parametrize("cents", [0, 1, 5, 99, 100, 4500, 123456, -250])
def test_to_cents_undoes_euros(cents):
    assert to_cents(euros(cents)) == cents


@pytest.mark.parametrize(
    "amount, expected",
    [
        ("0", "€0.00"),
        ("5", "€5.00"),
        ("45.5", "€45.50"),
        ("999.99", "€999.99"),
        ("1234.56", "€1,234.56"),
        ("1234567.8", "€1,234,567.80"),
        ("-12.5", "-€12.50"),
        ("-1234.56", "-€1,234.56"),
    ],
)
def test_format_euros(amount, expected):
    assert format_euros(Decimal(amount)) == expected


def test_format_euros_of_stored_cents():
    assert format_euros(euros(123456)) == "€1,234.56"


NBSP, NARROW_NBSP = "\u00a0", "\u202f"


@pytest.mark.parametrize(
    "amount, language, expected",
    [
        ("99.04", "nl", f"€{NBSP}99,04"),
        ("1234.56", "nl", f"€{NBSP}1.234,56"),
        ("-12.5", "nl", f"€{NBSP}-12,50"),
        ("99.04", "fr", f"99,04{NBSP}€"),
        ("1234.56", "fr", f"1{NARROW_NBSP}234,56{NBSP}€"),
        ("-12.5", "fr", f"-12,50{NBSP}€"),
        ("99.04", "en", "€99.04"),
        ("99.04", "de", "€99.04"),  # a language Settle doesn't speak reads as English
    ],
)
def test_format_euros_in_the_customers_language(amount, language, expected):
    assert format_euros(Decimal(amount), language) == expected
