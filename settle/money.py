"""Money is integer cents in the database and Decimal euros everywhere else."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from babel import Locale
from babel.numbers import format_currency, format_decimal

from settle.locales import locale_for

CENT = Decimal("0.01")


def euros(cents: int) -> Decimal:
    """Cents from the database as an exact Decimal amount in euros."""
    return (Decimal(cents) / 100).quantize(CENT)


def to_cents(amount: Decimal) -> int:
    """An exact euro amount, rounded half up to the cent, as integer cents."""
    return int((amount.quantize(CENT, rounding=ROUND_HALF_UP) * 100).to_integral_value())


def format_euros(amount: Decimal, language: str = "en") -> str:
    """How an amount reads in a message, in the customer's language: €1,234.56 (a minus sign before the euro
    sign), € 1.234,56 in Dutch, 1 234,56 € in French (Babel, with non-breaking spaces)."""
    return format_currency(amount, "EUR", locale=locale_for(language))


def format_unit_price(price: Decimal, language: str = "en") -> str:
    """A price per kWh or m³, to the tenth of a cent: €0.285, € 0,285, 0,285 €."""
    locale = locale_for(language)
    pattern = Locale.parse(locale).currency_formats["standard"].pattern.replace("0.00", "0.000")
    return format_currency(price, "EUR", format=pattern, locale=locale, currency_digits=False)


def format_quantity(quantity: Decimal, language: str = "en") -> str:
    """A metered quantity as the language writes numbers: 1,234.5 · 1.234,5 · 1 234,5."""
    return format_decimal(quantity.normalize(), locale=locale_for(language))
