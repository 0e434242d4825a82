"""Deterministic demo data: customers with 13 months of seasonal electricity bills, and six weeks of activity
before today (settle/tooling/history.py) for the dashboard and the conversation review.

The same `today` and customer count always give the same data. The first customers are the
personas listed in the README, each built to show one situation.
"""
from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from settle.handoff.agents import create_agent
from settle.models import Channel, Customer, Invoice, InvoiceLine, InvoiceStatus, LineCategory, Payment, Role
from settle.money import to_cents
from settle.tooling.history import add_history

MONTHS_OF_BILLS = 13
DAYS_TO_PAY = 21
OLD_PRICE = Decimal("0.28500")
NEW_PRICE = Decimal("0.31200")
PERSONA_PRICE = Decimal("0.34900")
STANDING_CHARGE = Decimal("9.50")
VAT_RATE = Decimal("0.06000")

MUNICIPALITIES = [
    ("1000", "Brussel", "Brussels"), ("1050", "Elsene", "Brussels"), ("1030", "Schaarbeek", "Brussels"),
    ("2000", "Antwerpen", "Flanders"), ("2600", "Berchem", "Flanders"), ("9000", "Gent", "Flanders"),
    ("3000", "Leuven", "Flanders"), ("3500", "Hasselt", "Flanders"), ("8000", "Brugge", "Flanders"),
    ("2800", "Mechelen", "Flanders"), ("4000", "Liège", "Wallonia"), ("5000", "Namur", "Wallonia"),
    ("6000", "Charleroi", "Wallonia"), ("7000", "Mons", "Wallonia"), ("1300", "Wavre", "Wallonia"),
]
FIRST_NAMES = ["Emma", "Lucas", "Noor", "Louis", "Marie", "Arthur", "Olivia", "Liam", "Louise", "Adam",
               "Mila", "Jules", "Elena", "Victor", "Lina", "Noah", "Julie", "Finn", "Sarah", "Mohamed",
               "Fatima", "Thomas", "Lotte", "Youssef", "Camille", "Matteo", "Hanne", "Sem", "Amira", "Lars"]
LAST_NAMES = ["Peeters", "Janssens", "Maes", "Jacobs", "Claes", "Willems", "Mertens", "Goossens", "Wouters",
              "De Smet", "Dubois", "Lambert", "Dupont", "Martin", "Leclercq", "Hermans", "Michiels",
              "Van den Broeck", "El Amrani", "Vermeulen", "Aerts", "Desmet", "Simon", "Laurent", "Renard"]
PAYMENT_METHODS = ["bank_transfer", "direct_debit", "card"]
#: The language customers prefer: Dutch in Flanders, French in Wallonia, in Brussels mostly French, some Dutch,
#: a few English (taken in turn by customer index, so the random data stays as it was).
REGION_LANGUAGES = {"Flanders": ("nl",), "Wallonia": ("fr",),
                    "Brussels": ("fr", "nl", "fr", "en", "fr", "nl", "fr", "fr", "nl", "fr")}
#: The personas speak English: the README's transcript and the conversation tests follow them.
PERSONA_LANGUAGE = "en"


@dataclass(frozen=True)
class Persona:
    """A demo customer with a story; `shape` bends their bills to show it."""

    customer_number: str
    first_name: str
    last_name: str
    postcode: str
    date_of_birth: date
    shows: str
    shape: str


PERSONAS = [
    Persona("50000017", "Emma", "Peeters", "1000", date(1985, 2, 14), "latest bill higher because she used more", "usage_up"),
    Persona("50000025", "Lucas", "Janssens", "2000", date(1979, 3, 3), "an overdue bill and a new one open", "overdue"),
    Persona("50000033", "Noor", "Maes", "9000", date(1992, 7, 21), "latest bill partly paid", "partly_paid"),
    Persona("50000041", "Louis", "Jacobs", "3000", date(1968, 11, 5), "a disputed bill", "disputed"),
    Persona("50000058", "Marie", "Claes", "4000", date(1990, 5, 30), "a one-off meter replacement charge", "one_off"),
    Persona("50000066", "Arthur", "Willems", "8000", date(1955, 9, 12), "everything paid, nothing open", "all_paid"),
    Persona("50000074", "Olivia", "Mertens", "1050", date(2001, 1, 27), "latest bill higher because the price went up", "price_up"),
]


#: The demo's support agent for the agent console; a real team adds its people with `settle agent add`.
DEMO_AGENT_EMAIL = "sam@settle.example"
DEMO_AGENT_NAME = "Sam"
DEMO_AGENT_PASSWORD = "settle-demo-agent"
#: The demo's billing operations person (the dashboard and the flagged accounts) and designer (the dashboard).
DEMO_OPERATIONS_EMAIL = "olga@settle.example"
DEMO_OPERATIONS_NAME = "Olga"
DEMO_OPERATIONS_PASSWORD = "settle-demo-operations"
DEMO_DESIGNER_EMAIL = "dani@settle.example"
DEMO_DESIGNER_NAME = "Dani"
DEMO_DESIGNER_PASSWORD = "settle-demo-designer"
#: The company's timezone when the caller names none (SETTLE_TIMEZONE's default).
DEMO_ZONE = ZoneInfo("Europe/Brussels")
DEMO_USERS = (
    (DEMO_AGENT_EMAIL, DEMO_AGENT_NAME, DEMO_AGENT_PASSWORD, Role.AGENT),
    (DEMO_OPERATIONS_EMAIL, DEMO_OPERATIONS_NAME, DEMO_OPERATIONS_PASSWORD, Role.OPERATIONS),
    (DEMO_DESIGNER_EMAIL, DEMO_DESIGNER_NAME, DEMO_DESIGNER_PASSWORD, Role.DESIGNER),
)


def seed(session: Session, today: date, customers: int = 500, progress: Callable[[int, int], None] | None = None,
         zone: ZoneInfo = DEMO_ZONE, history: bool = True) -> int:
    """Fills an empty database with demo data, a console user of each role and (unless `history` is false)
    the weeks of activity before `today` (days in `zone`, the company's timezone); returns how many customers
    it made."""
    if session.execute(select(func.count()).select_from(Customer)).scalar_one():
        raise ValueError("the database already has customers; seed only an empty one")
    rng = random.Random(20261122)
    periods = _billing_periods(today)
    numbers = InvoiceNumbers()
    for index in range(customers):
        persona = PERSONAS[index] if index < len(PERSONAS) else None
        customer = _make_customer(rng, index, persona)
        session.add(customer)
        session.flush()
        _make_bills(session, rng, customer, periods, today, persona.shape if persona else _random_shape(rng), numbers)
        if progress and (index + 1) % 100 == 0:
            progress(index + 1, customers)
    for email, name, password, role in DEMO_USERS:
        create_agent(session, email, name, password, datetime.combine(today, time(8), timezone.utc), role)
    if history:
        add_history(session, today, zone, frozenset(persona.customer_number for persona in PERSONAS))
    return customers


class InvoiceNumbers:
    """Invoice numbers as printed on bills: INV-<year>-<six-digit sequence of that year>."""

    def __init__(self) -> None:
        self._last: dict[int, int] = {}

    def next(self, year: int) -> str:
        self._last[year] = self._last.get(year, 0) + 1
        return f"INV-{year}-{self._last[year]:06d}"


def _billing_periods(today: date) -> list[tuple[date, date]]:
    """The last 13 whole months whose bills have been issued by `today`, oldest first."""
    first_of_month = today.replace(day=1)
    latest_issue = first_of_month.replace(day=5)
    end = first_of_month if today >= latest_issue else _add_months(first_of_month, -1)
    periods = []
    for back in range(MONTHS_OF_BILLS, 0, -1):
        start = _add_months(end, -back)
        periods.append((start, _add_months(start, 1) - timedelta(days=1)))
    return periods


def _add_months(day: date, months: int) -> date:
    month_index = day.year * 12 + day.month - 1 + months
    return date(month_index // 12, month_index % 12 + 1, 1)


def _make_customer(rng: random.Random, index: int, persona: Persona | None) -> Customer:
    if persona:
        first, last, postcode, born = persona.first_name, persona.last_name, persona.postcode, persona.date_of_birth
        number = persona.customer_number
    else:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        postcode = rng.choice(MUNICIPALITIES)[0]
        born = date(1940, 1, 1) + timedelta(days=rng.randrange(0, 365 * 65))
        number = f"5{1000000 + index * 7:07d}"
    municipality, region = next((m, r) for p, m, r in MUNICIPALITIES if p == postcode)
    languages = REGION_LANGUAGES[region]
    channel = rng.choice(list(Channel))
    return Customer(
        customer_number=number,
        first_name=first,
        last_name=last,
        postcode=postcode,
        date_of_birth=born,
        email=f"{first}.{last}".lower().replace(" ", "") + "@example.com",
        phone=f"+32 470 {rng.randrange(100000, 999999)}",
        preferred_channel=channel,
        language=PERSONA_LANGUAGE if persona else languages[index % len(languages)],
        municipality=municipality,
        region=region,
        wants_heads_up=index % 3 == 0,
    )


def _random_shape(rng: random.Random) -> str:
    roll = rng.random()
    for shape, chance in (("overdue", 0.15), ("partly_paid", 0.05), ("disputed", 0.02), ("one_off", 0.04), ("all_paid", 0.20)):
        if roll < chance:
            return shape
        roll -= chance
    return "usual"


def _make_bills(session, rng, customer, periods, today, shape, numbers: InvoiceNumbers) -> None:
    yearly_kwh = Decimal(rng.randrange(1800, 5200))
    invoices: list[Invoice] = []
    for month_number, (start, end) in enumerate(periods):
        latest = month_number == len(periods) - 1
        season = Decimal(str(1 + 0.35 * math.cos(2 * math.pi * (start.month - 1) / 12)))
        noise = Decimal(str(rng.uniform(0.92, 1.08)))
        kwh = (yearly_kwh / 12 * season * noise).quantize(Decimal("1"))
        price = OLD_PRICE if month_number < len(periods) - 4 else NEW_PRICE
        if latest and shape == "usage_up":
            kwh = (invoices[-1].lines[0].quantity * Decimal("1.32")).quantize(Decimal("1"))
        if latest and shape == "price_up":
            kwh, price = invoices[-1].lines[0].quantity, PERSONA_PRICE
        invoice = _invoice(customer, start, end, kwh, price, numbers, one_off=latest and shape == "one_off")
        session.add(invoice)
        invoices.append(invoice)
    session.flush()
    for month_number, invoice in enumerate(invoices):
        _settle(session, rng, invoice, today, shape, months_from_latest=len(invoices) - 1 - month_number)


def _invoice(customer, start, end, kwh, price, numbers: InvoiceNumbers, one_off: bool) -> Invoice:
    issue = _add_months(start, 1).replace(day=5)
    lines = [
        _line(LineCategory.USAGE, "Electricity used", kwh, "kWh", price),
        _line(LineCategory.FIXED, "Standing charge", Decimal(1), "month", STANDING_CHARGE),
    ]
    if one_off:
        lines.append(_line(LineCategory.ONE_OFF, "Meter replacement", Decimal(1), "item", Decimal("45.00")))
    subtotal = sum(line.amount_cents for line in lines)
    lines.append(_line(LineCategory.TAX, "VAT 6%", Decimal(subtotal) / 100, "EUR", VAT_RATE))
    return Invoice(
        number=numbers.next(issue.year),
        customer_id=customer.id,
        period_start=start,
        period_end=end,
        issue_date=issue,
        due_date=issue + timedelta(days=DAYS_TO_PAY),
        total_cents=sum(line.amount_cents for line in lines),
        status=InvoiceStatus.OPEN,
        lines=lines,
    )


def _line(category, description, quantity: Decimal, unit: str, unit_price: Decimal) -> InvoiceLine:
    amount = (quantity * unit_price).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return InvoiceLine(category=category, description=description, quantity=quantity, unit=unit,
                       unit_price=unit_price, amount_cents=to_cents(amount))


def _settle(session, rng, invoice: Invoice, today: date, shape: str, months_from_latest: int) -> None:
    """Decides what was paid: everything old is paid, the recent bills follow the customer's shape."""
    unpaid = (
        (months_from_latest == 0 and shape != "all_paid" and invoice.issue_date <= today)
        or (months_from_latest == 1 and shape in ("overdue", "disputed"))
    )
    if not unpaid:
        _pay(session, rng, invoice, invoice.total_cents, before=min(invoice.due_date, today))
        invoice.status = InvoiceStatus.PAID
    elif shape == "disputed" and months_from_latest == 1:
        invoice.status = InvoiceStatus.DISPUTED
    elif shape == "partly_paid" and months_from_latest == 0:
        _pay(session, rng, invoice, invoice.total_cents // 2, before=today)
        invoice.status = InvoiceStatus.PARTIALLY_PAID


def _pay(session, rng, invoice: Invoice, cents: int, before: date) -> None:
    days_available = max((before - invoice.issue_date).days, 1)
    paid_on = invoice.issue_date + timedelta(days=rng.randrange(1, days_available + 1))
    session.add(
        Payment(
            invoice_id=invoice.id,
            amount_cents=cents,
            paid_at=datetime.combine(min(paid_on, before), time(10, 0), tzinfo=timezone.utc),
            method=rng.choice(PAYMENT_METHODS),
            reference=f"PAY-{invoice.number}",
        )
    )
