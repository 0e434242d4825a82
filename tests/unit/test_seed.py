"""The demo data: deterministic, complete, and showing every situation the assistant handles."""
from __future__ import annotations

import hashlib
import inspect
import re
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text

from settle import schema
from settle.clock import FixedClock
from settle.config import Settings
from settle.db import session_factory
from settle.insights.services import figures_for
from settle.models import (
    Conversation,
    ConversationMessage,
    Customer,
    Dispute,
    DisputeStatus,
    Escalation,
    HardshipReport,
    InstalmentPlan,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    LineCategory,
    Payment,
    PaymentLink,
    PlanStatus,
    ReceivedPayment,
    Reminder,
    plan_invoices,
)
from settle.tooling.cli import build_parser
from settle.tooling.seed import PERSONAS, seed
from settle.unit_of_work import UnitOfWork

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


# -- The weeks of history before today ----------------------------------------------------------------------

HISTORY_TABLES = ("conversations", "conversation_messages", "escalations", "escalation_messages", "payment_links",
                  "received_payments", "reminders", "outbox_messages", "instalment_plans", "instalments", "extensions",
                  "hardship_reports", "disputes")


def _history_digest(url: str) -> str:
    digest = hashlib.sha256()
    with session_factory(url)() as session:
        for table in HISTORY_TABLES + ("payments", "invoices"):
            for row in session.execute(text(f"SELECT * FROM {table} ORDER BY 1")):
                digest.update(repr(tuple(row)).encode())
            digest.update(b"--")
    return digest.hexdigest()


def test_the_history_is_deterministic(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert _history_digest(_seeded(tmp_path / "a", 60)) == _history_digest(_seeded(tmp_path / "b", 60))


def test_the_history_fills_every_table_the_figures_read_and_is_all_before_today(db):
    for table in HISTORY_TABLES:
        assert db.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one() > 0, table
    today_began = datetime(2026, 11, 21, 23, 0, tzinfo=timezone.utc)  # midnight in Brussels
    for model, moment in ((Conversation, Conversation.started_at), (ConversationMessage, ConversationMessage.received_at),
                          (Escalation, Escalation.created_at), (PaymentLink, PaymentLink.created_at),
                          (Reminder, Reminder.created_at), (ReceivedPayment, ReceivedPayment.received_at)):
        assert db.execute(select(func.count()).select_from(model).where(moment >= today_began)).scalar_one() == 0, model
    languages = set(db.execute(select(ConversationMessage.language).distinct()).scalars())
    assert languages == {"nl", "fr", "en"}


def test_the_history_leaves_the_personas_stories_alone(db, tmp_path):
    """The personas' rows are the same as in a seed without history, and no event of the history is theirs."""
    bare = f"sqlite:///{tmp_path / 'bare.db'}"
    schema.upgrade(bare)
    with session_factory(bare).begin() as session:
        seed(session, TODAY, 500, history=False)

    def personas_bills(session) -> list[tuple]:
        return session.execute(
            select(Invoice.number, Invoice.status, Invoice.due_date, Payment.amount_cents, Payment.paid_at, Payment.method)
            .join(Customer, Customer.id == Invoice.customer_id).outerjoin(Payment, Payment.invoice_id == Invoice.id)
            .where(Customer.customer_number.in_(PERSONA_NUMBERS)).order_by(Invoice.number, Payment.id)
        ).all()

    with session_factory(bare)() as session:
        assert personas_bills(db) == personas_bills(session)
    personas = select(Customer.id).where(Customer.customer_number.in_(PERSONA_NUMBERS))
    for model in (Conversation, Escalation, PaymentLink, Reminder, InstalmentPlan, HardshipReport, Dispute):
        assert db.execute(select(func.count()).select_from(model).where(model.customer_id.in_(personas))).scalar_one() == 0


def test_the_history_keeps_the_bills_consistent(db):
    """A paid bill is paid in full (test above); a bill in a running plan is in it; an open dispute holds its bill."""
    in_plan = db.execute(
        select(Invoice.status).join(plan_invoices, plan_invoices.c.invoice_id == Invoice.id)
        .join(InstalmentPlan, InstalmentPlan.id == plan_invoices.c.plan_id).where(InstalmentPlan.status == PlanStatus.ACTIVE)
    ).scalars().all()
    assert in_plan and set(in_plan) == {InvoiceStatus.IN_PLAN}
    held = db.execute(select(Invoice.status).join(Dispute, Dispute.invoice_id == Invoice.id)
                      .where(Dispute.status == DisputeStatus.OPEN)).scalars().all()
    assert set(held) <= {InvoiceStatus.DISPUTED}


def test_the_dashboard_has_something_in_every_section_over_the_last_30_days(default_seed):
    settings = replace(Settings.from_environment(), database_url=default_seed)
    now = datetime(2026, 11, 22, 10, 0, tzinfo=timezone.utc)
    figures = figures_for(UnitOfWork(settings, FixedClock(now)), TODAY - timedelta(days=29), TODAY)
    assert figures.containment.conversations > 100 and figures.containment.escalations_by_reason
    assert 0 < figures.containment.verified.part < figures.containment.conversations
    assert figures.paying.links_issued > 50 and 0 < figures.paying.links_paid.part < figures.paying.links_opened.part
    assert {item.source for item in figures.paying.collected} == {"sandbox", "bank_statement"}
    assert {count.label for count in figures.reached_out_first.reminders_by_stage} >= {"nudge", "second"}
    assert any(item.failed for item in figures.reached_out_first.deliveries)
    assert all(item.within_14_days.whole for item in figures.reached_out_first.paid_after)
    assert {item.source for item in figures.reached_out_first.opt_outs} >= {"link", "chat"}
    assert {item.channel for item in figures.reached_out_first.opt_outs} >= {"sms", "email"}
    cant_pay = figures.cant_pay_now
    assert cant_pay.plans_set_up and cant_pay.instalments_on_time.whole and cant_pay.extensions_granted
    assert 0 < cant_pay.extensions_kept.part < cant_pay.extensions_kept.whole
    assert figures.agents.handed_over and figures.agents.time_to_first_reply.seconds and figures.agents.callbacks_booked
    understanding = figures.understanding
    assert understanding.messages > 300 and 0 < understanding.fell_back.part < understanding.messages
    assert len(understanding.top_intents) == 10 and understanding.least_certain_intents
