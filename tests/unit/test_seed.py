"""The demo data: deterministic, complete, and showing every situation the assistant handles."""
from __future__ import annotations

import hashlib
import inspect
import re
from collections import Counter, defaultdict
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text

from settle import schema
from settle.db import session_factory
from settle.models import Customer, Invoice, InvoiceLine, InvoiceStatus, LineCategory, Payment
from settle.tooling.cli import build_parser
from settle.tooling.seed import PERSONAS, seed

TODAY = date(2026, 11, 22)
INVOICE_NUMBER = re.compile(r"^INV-\d{4}-\d{6}$")
PERSONA_NUMBERS = {p.customer_number for p in PERSONAS}


def _seeded(directory, customers: int | None) -> str:
    url = f"sqlite:///{directory / 'settle.db'}"
    schema.upgrade(url)
    with session_factory(url).begin() as session:
        made = seed(session, TODAY) if customers is None else seed(session, TODAY, customers)
    assert made == (customers or 500)
    return url


@pytest.fixture(scope="module")
def default_seed(tmp_path_factory) -> str:
    """A SQLite database seeded the way `settle setup` does it: the default number of customers."""
    return _seeded(tmp_path_factory.mktemp("default_seed"), None)


@pytest.fixture
def db(default_seed):
    with session_factory(default_seed)() as session:
        yield session


def _digest(url: str) -> str:
    digest = hashlib.sha256()
    with session_factory(url)() as session:
        for table in ("customers", "invoices", "invoice_lines", "payments"):
            for row in session.execute(text(f"SELECT * FROM {table} ORDER BY id")):
                digest.update(repr(tuple(row)).encode())
            digest.update(b"--")
    return digest.hexdigest()


def test_seeding_is_deterministic(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = _seeded(tmp_path / "a", 30), _seeded(tmp_path / "b", 30)
    assert _digest(first) == _digest(second)


def test_seeding_depends_on_today(tmp_path):
    (tmp_path / "a").mkdir()
    url = _seeded(tmp_path / "a", 10)
    other = f"sqlite:///{tmp_path / 'other.db'}"
    schema.upgrade(other)
    with session_factory(other).begin() as session:
        seed(session, date(2026, 6, 15), 10)
    assert _digest(url) != _digest(other)


def test_default_is_500_customers(db):
    assert build_parser().parse_args(["seed"]).customers == 500
    assert build_parser().parse_args(["setup"]).customers == 500
    assert inspect.signature(seed).parameters["customers"].default == 500
    assert db.execute(select(func.count()).select_from(Customer)).scalar_one() == 500


def test_personas_come_first_as_described(db):
    for persona in PERSONAS:
        customer = db.execute(select(Customer).where(Customer.customer_number == persona.customer_number)).scalar_one()
        assert (customer.first_name, customer.last_name, customer.postcode, customer.date_of_birth) == (
            persona.first_name, persona.last_name, persona.postcode, persona.date_of_birth
        )
    numbers = db.execute(select(Customer.customer_number)).scalars().all()
    assert len(set(numbers)) == 500
    assert all(re.fullmatch(r"5\d{7}", n) for n in numbers)


def test_customers_prefer_the_language_of_their_region_and_the_personas_speak_english(db):
    by_region: dict[str, Counter] = defaultdict(Counter)
    for number, postcode, region, language in db.execute(
        select(Customer.customer_number, Customer.postcode, Customer.region, Customer.language)
    ):
        if number in PERSONA_NUMBERS:
            assert language == "en"
            continue
        by_region["Brussels" if 1000 <= int(postcode) <= 1299 else region][language] += 1
    assert set(by_region["Flanders"]) == {"nl"}
    assert set(by_region["Wallonia"]) == {"fr"}
    brussels = by_region["Brussels"]
    assert set(brussels) == {"fr", "nl", "en"}
    assert brussels["fr"] > brussels["nl"] > brussels["en"]


def test_every_customer_has_13_monthly_invoices(db):
    counts = dict(db.execute(select(Invoice.customer_id, func.count()).group_by(Invoice.customer_id)).all())
    customer_ids = set(db.execute(select(Customer.id)).scalars())
    assert set(counts) == customer_ids
    assert set(counts.values()) == {13}
    # Thirteen consecutive whole months, the latest one issued by today.
    periods = db.execute(select(Invoice.period_start, Invoice.period_end, Invoice.issue_date).distinct()).all()
    starts = sorted(p[0] for p in periods)
    assert len(starts) == 13
    assert starts[0] == date(2025, 10, 1) and starts[-1] == date(2026, 10, 1)
    assert all(s.day == 1 for s in starts)
    assert max(p[2] for p in periods) <= TODAY


def _assert_totals_equal_lines(session):
    mismatches = session.execute(
        text(
            """
            SELECT i.number, i.total_cents, SUM(l.amount_cents)
            FROM invoices i LEFT JOIN invoice_lines l ON l.invoice_id = i.id
            GROUP BY i.id, i.number, i.total_cents
            HAVING SUM(l.amount_cents) IS NULL OR SUM(l.amount_cents) <> i.total_cents
            """
        )
    ).all()
    assert mismatches == []
    assert session.execute(text("SELECT COUNT(*) FROM invoices")).scalar_one() > 0


def test_invoice_totals_equal_their_lines(db):
    _assert_totals_equal_lines(db)


def test_invoice_totals_equal_their_lines_on_the_test_database(session):
    _assert_totals_equal_lines(session)


def test_line_amounts_are_quantity_times_price(db):
    for quantity, unit_price, amount_cents in db.execute(
        select(InvoiceLine.quantity, InvoiceLine.unit_price, InvoiceLine.amount_cents)
    ):
        assert abs(quantity * unit_price * 100 - amount_cents) <= 0.5


def test_usage_follows_the_seasons(db):
    kwh_by_month = defaultdict(list)
    for start, quantity in db.execute(
        select(Invoice.period_start, InvoiceLine.quantity)
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(InvoiceLine.category == LineCategory.USAGE)
    ):
        kwh_by_month[start.month].append(quantity)
    average = {month: sum(values) / len(values) for month, values in kwh_by_month.items()}
    assert average[1] > average[7]
    assert average[12] > average[6]
    assert average[1] > Decimal("1.3") * average[7]  # clearly seasonal, not noise


def test_every_situation_occurs_among_ordinary_customers(db):
    """Beyond the seven personas, the 500 customers include each situation more than once."""
    ordinary = Customer.customer_number.notin_(PERSONA_NUMBERS)
    unpaid = (InvoiceStatus.OPEN, InvoiceStatus.PARTIALLY_PAID, InvoiceStatus.DISPUTED, InvoiceStatus.IN_PLAN)

    def count(*conditions, of=Invoice):
        query = select(func.count()).select_from(of)
        if of is InvoiceLine:
            query = query.join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        return db.execute(query.join(Customer, Customer.id == Invoice.customer_id).where(ordinary, *conditions)).scalar_one()

    overdue = count(Invoice.status.in_(unpaid), Invoice.due_date < TODAY)
    partly_paid = count(Invoice.status == InvoiceStatus.PARTIALLY_PAID)
    disputed = count(Invoice.status == InvoiceStatus.DISPUTED)
    one_off = count(InvoiceLine.category == LineCategory.ONE_OFF, of=InvoiceLine)
    all_paid_customers = db.execute(
        select(func.count()).select_from(Customer).where(
            ordinary,
            ~select(Invoice.id).where(Invoice.customer_id == Customer.id, Invoice.status != InvoiceStatus.PAID).exists(),
        )
    ).scalar_one()
    assert overdue > 1
    assert partly_paid > 1
    assert disputed > 1
    assert one_off > 1
    assert all_paid_customers > 1
    # Partial payments really are partial.
    partial = db.execute(
        select(Invoice.total_cents, func.sum(Payment.amount_cents))
        .join(Payment, Payment.invoice_id == Invoice.id)
        .where(Invoice.status == InvoiceStatus.PARTIALLY_PAID)
        .group_by(Invoice.id, Invoice.total_cents)
    ).all()
    assert partial and all(0 < paid < total for total, paid in partial)


def test_paid_invoices_are_paid_in_full(db):
    rows = db.execute(
        select(Invoice.total_cents, func.coalesce(func.sum(Payment.amount_cents), 0))
        .outerjoin(Payment, Payment.invoice_id == Invoice.id)
        .where(Invoice.status == InvoiceStatus.PAID)
        .group_by(Invoice.id, Invoice.total_cents)
    ).all()
    assert rows and all(total == paid for total, paid in rows)


def test_unit_price_changes_over_the_year(db):
    prices = defaultdict(set)
    by_period = defaultdict(set)
    for customer_id, start, price in db.execute(
        select(Invoice.customer_id, Invoice.period_start, InvoiceLine.unit_price)
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(InvoiceLine.category == LineCategory.USAGE)
    ):
        prices[customer_id].add(price)
        by_period[start].add(price)
    assert len(prices) == 500
    assert all(len(p) >= 2 for p in prices.values())
    oldest, newest = min(by_period), max(by_period)
    # The price of a year ago is not the price on the newest bills, and it went up.
    assert by_period[oldest] != by_period[newest]
    assert max(by_period[newest]) > max(by_period[oldest])


def test_seeding_a_database_with_customers_is_refused(session):
    before = session.execute(select(func.count()).select_from(Customer)).scalar_one()
    with pytest.raises(ValueError):
        seed(session, TODAY, 1)
    assert session.execute(select(func.count()).select_from(Customer)).scalar_one() == before


def test_invoice_numbers_are_well_formed_and_unique(db):
    rows = db.execute(select(Invoice.number, Invoice.issue_date)).all()
    numbers = [number for number, _ in rows]
    assert all(INVOICE_NUMBER.match(number) for number in numbers)
    assert len(set(numbers)) == len(numbers) == 500 * 13
    # The year in the number is the year the bill was issued, and each year counts from 000001.
    assert all(number[4:8] == str(issued.year) for number, issued in rows)
    per_year = Counter(number[4:8] for number in numbers)
    for year, count in per_year.items():
        sequence = sorted(int(n[9:]) for n in numbers if n[4:8] == year)
        assert sequence == list(range(1, count + 1))
