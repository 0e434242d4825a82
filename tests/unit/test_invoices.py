"""What is open, what is due when, which bills there are, and why the latest bill changed.

Expected figures are computed here with plain SQL on the seeded database, not with settle's code.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from sqlalchemy import Date, Integer, String, select, text

from settle.billing.invoices import NOTABLE_CHANGE, due_dates, explain_bill, open_balance, recent_invoices
from settle.errors import InvoiceNotFound
from settle.models import Customer, Invoice, InvoiceLine, InvoiceStatus, LineCategory, Payment
from settle.tooling.seed import PERSONAS

UNPAID = ("open", "partially_paid", "disputed", "in_plan")
SHAPES = [p.shape for p in PERSONAS]


@dataclass(frozen=True)
class Row:
    id: int
    number: str
    total_cents: int
    paid_cents: int
    status: str
    issue_date: date
    due_date: date

    @property
    def open_cents(self) -> int:
        return self.total_cents - self.paid_cents


def invoice_rows(session, customer_id: int) -> list[Row]:
    """Every invoice of the customer with what was paid on it, oldest issue first, by plain SQL."""
    query = text(
        """
        SELECT i.id, i.number, i.total_cents,
               COALESCE((SELECT SUM(p.amount_cents) FROM payments p WHERE p.invoice_id = i.id), 0) AS paid_cents,
               i.status, i.issue_date, i.due_date
        FROM invoices i
        WHERE i.customer_id = :customer_id
        ORDER BY i.issue_date, i.id
        """
    ).columns(id=Integer, number=String, total_cents=Integer, paid_cents=Integer, status=String,
              issue_date=Date, due_date=Date)
    return [Row(*row) for row in session.execute(query, {"customer_id": customer_id})]


def open_rows(session, customer_id: int) -> list[Row]:
    return [r for r in invoice_rows(session, customer_id) if r.status in UNPAID and r.open_cents > 0]


def cents(amount: Decimal) -> int:
    assert amount == amount.quantize(Decimal("0.01"))
    return int(amount * 100)


def usage_lines(session, invoice_number: str) -> tuple[Decimal, int]:
    """(kWh used, usage cost in cents) on one invoice, from its usage lines."""
    lines = session.execute(
        select(InvoiceLine.quantity, InvoiceLine.amount_cents)
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(Invoice.number == invoice_number, InvoiceLine.category == LineCategory.USAGE)
    ).all()
    return sum((q for q, _ in lines), Decimal(0)), sum(c for _, c in lines)


# --- open balance and due dates ----------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
def test_open_balance_matches_the_database(session, persona_customer, shape):
    customer = persona_customer(shape)
    expected = open_rows(session, customer.id)
    balance = open_balance(session, customer.id)
    assert cents(balance.total_open) == sum(r.open_cents for r in expected)
    # Oldest due date first.
    assert [i.number for i in balance.invoices] == [r.number for r in sorted(expected, key=lambda r: (r.due_date, r.id))]
    for summary, row in zip(balance.invoices, sorted(expected, key=lambda r: (r.due_date, r.id))):
        assert cents(summary.total) == row.total_cents
        assert cents(summary.paid) == row.paid_cents
        assert cents(summary.open_amount) == row.open_cents
        assert summary.status.value == row.status
        assert summary.due_date == row.due_date


def test_every_seeded_customer_balance_matches_the_database(session):
    customer_ids = session.execute(select(Customer.id)).scalars().all()
    assert len(customer_ids) == 40
    for customer_id in customer_ids:
        expected = sum(r.open_cents for r in open_rows(session, customer_id))
        assert cents(open_balance(session, customer_id).total_open) == expected, customer_id


def test_overdue_persona_has_one_overdue_and_one_upcoming_bill(session, persona_customer, today):
    lucas = persona_customer("overdue")
    assert (lucas.first_name, lucas.customer_number) == ("Lucas", "50000025")
    expected = open_rows(session, lucas.id)
    assert len(expected) == 2
    balance = open_balance(session, lucas.id)
    assert len(balance.invoices) == 2
    assert cents(balance.total_open) == sum(r.total_cents for r in expected)  # nothing paid on either

    due = due_dates(session, lucas.id, today=today)
    assert [i.number for i in due.overdue] == [r.number for r in expected if r.due_date < today]
    assert [i.number for i in due.upcoming] == [r.number for r in expected if r.due_date >= today]
    assert len(due.overdue) == 1 and len(due.upcoming) == 1
    assert due.overdue[0].due_date < today <= due.upcoming[0].due_date
    assert due.overdue[0].days_overdue(today) == (today - due.overdue[0].due_date).days > 0
    assert due.upcoming[0].days_overdue(today) == 0


def test_due_dates_move_with_today(session, persona_customer, today):
    lucas = persona_customer("overdue")
    upcoming = due_dates(session, lucas.id, today=today).upcoming[0]
    # On the due date itself the bill is not overdue yet; the day after it is.
    assert due_dates(session, lucas.id, today=upcoming.due_date).upcoming == [upcoming]
    later = due_dates(session, lucas.id, today=date.fromordinal(upcoming.due_date.toordinal() + 1))
    assert len(later.overdue) == 2 and later.upcoming == []


def test_partly_paid_persona_owes_the_other_half(session, persona_customer):
    noor = persona_customer("partly_paid")
    rows = invoice_rows(session, noor.id)
    latest = rows[-1]
    assert latest.status == "partially_paid"
    assert latest.paid_cents == latest.total_cents // 2
    balance = open_balance(session, noor.id)
    assert [i.number for i in balance.invoices] == [latest.number]
    assert balance.invoices[0].status == InvoiceStatus.PARTIALLY_PAID
    assert cents(balance.total_open) == latest.total_cents - latest.total_cents // 2


def test_all_paid_persona_has_nothing_open(session, persona_customer, today):
    arthur = persona_customer("all_paid")
    assert all(r.status == "paid" and r.open_cents == 0 for r in invoice_rows(session, arthur.id))
    balance = open_balance(session, arthur.id)
    assert balance.total_open == Decimal("0.00")
    assert balance.invoices == []
    due = due_dates(session, arthur.id, today=today)
    assert due.overdue == [] and due.upcoming == []


def test_disputed_bill_counts_as_open(session, persona_customer, today):
    louis = persona_customer("disputed")
    disputed = [r for r in invoice_rows(session, louis.id) if r.status == "disputed"]
    assert len(disputed) == 1
    balance = open_balance(session, louis.id)
    assert disputed[0].number in [i.number for i in balance.invoices]
    assert next(i for i in balance.invoices if i.number == disputed[0].number).status == InvoiceStatus.DISPUTED
    assert cents(balance.total_open) == sum(r.open_cents for r in open_rows(session, louis.id))
    assert cents(balance.total_open) > disputed[0].open_cents  # the latest bill is open too


def test_cancelled_bill_is_not_owed_nor_listed(session, persona_customer):
    lucas = persona_customer("overdue")
    overdue_number = open_rows(session, lucas.id)[0].number
    invoice = session.execute(select(Invoice).where(Invoice.number == overdue_number)).scalar_one()
    invoice.status = InvoiceStatus.CANCELLED
    session.flush()
    balance = open_balance(session, lucas.id)
    assert overdue_number not in [i.number for i in balance.invoices]
    assert overdue_number not in [i.number for i in recent_invoices(session, lucas.id, limit=20)]
    assert len(recent_invoices(session, lucas.id, limit=20)) == 12


# --- recent invoices ---------------------------------------------------------------------


@pytest.mark.parametrize("limit", [1, 3, 6, 13, 50])
def test_recent_invoices_newest_first_at_most_limit(session, persona_customer, limit):
    emma = persona_customer("usage_up")
    rows = invoice_rows(session, emma.id)
    recent = recent_invoices(session, emma.id, limit=limit)
    expected = list(reversed(rows))[:limit]
    assert len(recent) == min(limit, len(rows))
    assert [i.number for i in recent] == [r.number for r in expected]
    assert [i.issue_date for i in recent] == sorted((i.issue_date for i in recent), reverse=True)


def test_recent_invoices_default_is_six(session, persona_customer):
    emma = persona_customer("usage_up")
    assert len(recent_invoices(session, emma.id)) == 6


# --- explaining the latest bill ----------------------------------------------------------


def latest_two(session, customer_id: int) -> tuple[Row, Row]:
    rows = [r for r in invoice_rows(session, customer_id) if r.status != "cancelled"]
    return rows[-1], rows[-2]


@pytest.mark.parametrize("shape", SHAPES)
def test_explanation_compares_the_two_latest_bills(session, persona_customer, shape):
    customer = persona_customer(shape)
    latest, previous = latest_two(session, customer.id)
    explanation = explain_bill(session, customer.id)
    assert explanation.latest.number == latest.number
    assert explanation.previous.number == previous.number
    assert cents(explanation.latest.total) == latest.total_cents
    assert cents(explanation.previous.total) == previous.total_cents
    assert cents(explanation.change) == latest.total_cents - previous.total_cents
    # Biggest effect first.
    effects = [abs(r.values["effect"]) for r in explanation.reasons]
    assert effects == sorted(effects, reverse=True)


@pytest.mark.parametrize("shape", SHAPES)
def test_usage_and_price_effects_add_up_to_the_change_in_usage_cost(session, persona_customer, shape):
    customer = persona_customer(shape)
    latest, previous = latest_two(session, customer.id)
    (q1, cost1), (q0, cost0) = usage_lines(session, latest.number), usage_lines(session, previous.number)
    usage_cost_change = Decimal(cost1 - cost0) / 100
    explanation = explain_bill(session, customer.id)
    usage = [r for r in explanation.reasons if r.kind in ("usage_up", "usage_down")]
    price = [r for r in explanation.reasons if r.kind in ("price_up", "price_down")]
    assert len(usage) <= 1 and len(price) <= 1
    for reason in usage + price:
        assert reason.values["unit"] == "kWh"
        assert abs(reason.values["effect"]) >= NOTABLE_CHANGE
    for reason in usage:
        assert reason.kind == ("usage_up" if q1 > q0 else "usage_down")
        assert reason.values["previous_usage"] == q0
        assert reason.values["latest_usage"] == q1
        # Usage effect: the extra (or saved) kWh at the previous price.
        assert abs(reason.values["effect"] - (q1 - q0) * Decimal(cost0) / 100 / q0) <= Decimal("0.005")
    if usage and price:
        assert usage[0].values["effect"] + price[0].values["effect"] == usage_cost_change
    elif usage or price:
        # The other effect was left out because it was too small to mention.
        assert abs(usage_cost_change - (usage + price)[0].values["effect"]) < NOTABLE_CHANGE
    else:
        assert abs(usage_cost_change) < 2 * NOTABLE_CHANGE


def test_usage_up_persona_is_explained_by_usage(session, persona_customer):
    emma = persona_customer("usage_up")
    latest, previous = latest_two(session, emma.id)
    q1, _ = usage_lines(session, latest.number)
    q0, _ = usage_lines(session, previous.number)
    explanation = explain_bill(session, emma.id)
    assert explanation.change > 0
    first = explanation.reasons[0]
    assert first.kind == "usage_up"
    assert first.values["effect"] > 0
    # The persona used 32% more than the month before.
    assert first.values["usage_change_percent"] == round((q1 - q0) / q0 * 100) == 32


def test_price_up_persona_is_explained_by_price_only(session, persona_customer):
    olivia = persona_customer("price_up")
    latest, previous = latest_two(session, olivia.id)
    q1, cost1 = usage_lines(session, latest.number)
    q0, cost0 = usage_lines(session, previous.number)
    assert q1 == q0  # same usage, so all of the change in usage cost is price
    explanation = explain_bill(session, olivia.id)
    kinds = [r.kind for r in explanation.reasons]
    assert "price_up" in kinds
    assert "usage_up" not in kinds and "usage_down" not in kinds
    price = next(r for r in explanation.reasons if r.kind == "price_up")
    assert price.values["effect"] == Decimal(cost1 - cost0) / 100
    assert price.values["latest_price"] > price.values["previous_price"]
    assert abs(price.values["previous_price"] - Decimal(cost0) / 100 / q0) < Decimal("0.00001")
    assert abs(price.values["latest_price"] - Decimal(cost1) / 100 / q1) < Decimal("0.00001")


def test_one_off_persona_is_explained_by_the_meter_replacement(session, persona_customer):
    marie = persona_customer("one_off")
    explanation = explain_bill(session, marie.id)
    first = explanation.reasons[0]
    assert first.kind == "one_off"
    assert first.values["effect"] == Decimal("45.00")
    assert first.values["description"] == "Meter replacement"


def _customer(session, number: str) -> Customer:
    customer = Customer(
        customer_number=number, first_name="Test", last_name="Customer", postcode="1000",
        date_of_birth=date(1980, 1, 1), municipality="Brussel", region="Brussels",
    )
    session.add(customer)
    session.flush()
    return customer


def _bill(session, customer: Customer, number: str, month: int, lines: list[tuple]) -> Invoice:
    """A bill for `month` of 2026 with lines (category, quantity, unit, unit price, cents); the total is their sum."""
    invoice = Invoice(
        number=number, customer_id=customer.id, period_start=date(2026, month, 1),
        period_end=date(2026, month, 28), issue_date=date(2026, month + 1, 5), due_date=date(2026, month + 1, 26),
        total_cents=sum(line[4] for line in lines), status=InvoiceStatus.OPEN,
        lines=[
            InvoiceLine(category=category, description=category.value.title(), quantity=Decimal(quantity), unit=unit,
                        unit_price=Decimal(price), amount_cents=amount)
            for category, quantity, unit, price, amount in lines
        ],
    )
    session.add(invoice)
    session.flush()
    return invoice


def test_customer_with_a_single_invoice_has_nothing_to_compare(session):
    customer = _customer(session, "59999990")
    _bill(session, customer, "INV-2026-999999", 10, [
        (LineCategory.USAGE, "300", "kWh", "0.31200", 9360),
        (LineCategory.FIXED, "1", "month", "7.10", 710),
    ])
    explanation = explain_bill(session, customer.id)
    assert explanation.latest.number == "INV-2026-999999"
    assert explanation.latest.total == Decimal("100.70")
    assert explanation.previous is None
    assert explanation.change == 0
    assert explanation.reasons == []
    assert open_balance(session, customer.id).total_open == Decimal("100.70")


def test_more_usage_at_a_higher_price_splits_into_usage_and_price(session):
    customer = _customer(session, "59999992")
    _bill(session, customer, "INV-2026-999991", 9, [
        (LineCategory.USAGE, "200", "kWh", "0.28500", 5700),   # 57.00
        (LineCategory.FIXED, "1", "month", "9.50", 950),
    ])
    _bill(session, customer, "INV-2026-999992", 10, [
        (LineCategory.USAGE, "300", "kWh", "0.31200", 9360),   # 93.60
        (LineCategory.FIXED, "1", "month", "12.00", 1200),
        (LineCategory.FEE, "1", "item", "5.00", 500),
    ])
    explanation = explain_bill(session, customer.id)
    assert explanation.change == Decimal("110.60") - Decimal("66.50")  # 93.60 + 12.00 + 5.00 vs 57.00 + 9.50
    # 100 kWh more at the old 0.285 is 28.50; the rest of the 36.60 more for electricity is the price.
    assert [(r.kind, r.values["effect"]) for r in explanation.reasons] == [
        ("usage_up", Decimal("28.50")),
        ("price_up", Decimal("8.10")),
        ("fee", Decimal("5.00")),
        ("fixed_up", Decimal("2.50")),
    ]
    usage = explanation.reasons[0].values
    assert (usage["previous_usage"], usage["latest_usage"], usage["usage_change_percent"]) == (200, 300, 50)
    price = explanation.reasons[1].values
    assert (price["previous_price"], price["latest_price"]) == (Decimal("0.285"), Decimal("0.312"))


def test_less_usage_at_a_lower_price_splits_into_usage_and_price(session):
    customer = _customer(session, "59999993")
    _bill(session, customer, "INV-2026-999993", 9, [
        (LineCategory.USAGE, "300", "kWh", "0.31200", 9360),
        (LineCategory.FIXED, "1", "month", "9.50", 950),
    ])
    _bill(session, customer, "INV-2026-999994", 10, [
        (LineCategory.USAGE, "200", "kWh", "0.28500", 5700),
        (LineCategory.FIXED, "1", "month", "9.50", 950),
    ])
    explanation = explain_bill(session, customer.id)
    assert explanation.change == Decimal("-36.60")
    # 100 kWh less at the old 0.312 saves 31.20; the lower price saves the other 5.40.
    assert [(r.kind, r.values["effect"]) for r in explanation.reasons] == [
        ("usage_down", Decimal("-31.20")),
        ("price_down", Decimal("-5.40")),
    ]


def test_small_changes_are_not_mentioned(session):
    customer = _customer(session, "59999994")
    _bill(session, customer, "INV-2026-999995", 9, [(LineCategory.USAGE, "300", "kWh", "0.31200", 9360)])
    _bill(session, customer, "INV-2026-999996", 10, [(LineCategory.USAGE, "302", "kWh", "0.31200", 9422)])
    explanation = explain_bill(session, customer.id)
    assert explanation.change == Decimal("0.62")
    assert explanation.reasons == []


def test_a_fully_paid_bill_is_not_open_even_if_its_status_was_not_updated(session, persona_customer, today):
    lucas = persona_customer("overdue")
    overdue = open_rows(session, lucas.id)[0]
    session.add(Payment(invoice_id=overdue.id, amount_cents=overdue.total_cents, method="card",
                        paid_at=datetime(2026, 11, 21, 9, 0, tzinfo=timezone.utc), reference="PAY-UNIT-TEST"))
    session.flush()
    balance = open_balance(session, lucas.id)
    assert overdue.number not in [i.number for i in balance.invoices]
    assert len(balance.invoices) == 1
    assert due_dates(session, lucas.id, today=today).overdue == []


def test_bills_issued_on_the_same_day_can_be_explained(session):
    customer = _customer(session, "59999995")
    for number, cents in (("INV-2026-999981", 1000), ("INV-2026-999982", 2000), ("INV-2026-999983", 3000)):
        _bill(session, customer, number, 10, [(LineCategory.FIXED, "1", "month", str(Decimal(cents) / 100), cents)])
    explanation = explain_bill(session, customer.id)
    recent = recent_invoices(session, customer.id, limit=3)
    # The bill explained as the latest is the one listed first as the newest, and the previous one follows it.
    assert [explanation.latest.number, explanation.previous.number] == [i.number for i in recent[:2]]
    assert explanation.change == recent[0].total - recent[1].total


def test_customer_without_invoices_has_no_explanation(session):
    customer = _customer(session, "59999991")
    assert explain_bill(session, customer.id) is None
    assert recent_invoices(session, customer.id) == []
    assert open_balance(session, customer.id).total_open == Decimal("0.00")


@pytest.mark.parametrize("shape", SHAPES)
def test_a_named_bill_is_explained_against_the_bill_before_it(session, persona_customer, shape):
    customer = persona_customer(shape)
    rows = [row for row in invoice_rows(session, customer.id) if row.status != "cancelled"]
    named, before = rows[-2], rows[-3]
    explanation = explain_bill(session, customer.id, named.number.lower())
    assert (explanation.latest.number, explanation.previous.number) == (named.number, before.number)
    assert cents(explanation.change) == named.total_cents - before.total_cents
    assert explanation.named and not explain_bill(session, customer.id).named


def test_explaining_a_bill_of_someone_else_is_refused(session, persona_customer):
    customer, other = persona_customer(SHAPES[0]), persona_customer(SHAPES[1])
    theirs = invoice_rows(session, other.id)[-1].number
    with pytest.raises(InvoiceNotFound):
        explain_bill(session, customer.id, theirs)
