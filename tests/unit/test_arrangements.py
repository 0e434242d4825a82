"""Can't pay now: who may have a plan or an extension, for how long, from when, and what is stored.

Seen from Sunday 22 November 2026, the day the test database is seeded as seen from. Expected values
are worked out by hand from the policy file and the dates, never copied from a run.
"""
from __future__ import annotations

import calendar
import itertools
import random
import re
import subprocess
import sys
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from settle.arrangements import plans as arrangements
from settle.arrangements import services
from settle.arrangements.plans import (
    active_plan,
    break_late_plans,
    check_months,
    check_start,
    create_plan,
    extension_offer,
    grant_extension,
    parse_date,
    plan_offer,
    schedule,
)
from settle.clock import FixedClock
from settle.config import Settings
from settle.db import session_factory
from settle.errors import NotEligibleForExtension, NotEligibleForPlan, OutOfRange
from settle.models import (
    Customer,
    Extension,
    InstalmentPlan,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentLink,
    PlanStatus,
    plan_invoices,
)
from settle.money import to_cents
from settle.policy import load_policy
from settle.tooling.seed import PERSONAS
from settle.unit_of_work import UnitOfWork
from tests.conftest import HISTORY_ENDS, seeded_sqlite
from tests.unit.builders import add_invoice

ROOT = Path(__file__).resolve().parents[2]
POLICY = load_policy(ROOT / "policy" / "arrangements.yml")
TODAY = date(2026, 11, 22)  # a Sunday
NOW = datetime(2026, 11, 22, 10, 0, tzinfo=timezone.utc)
_serial = itertools.count(1)


def plan_rules(**changes):
    """The policy file with some plan rules changed, as billing operations might change them."""
    return POLICY.copy(update={"instalment_plan": POLICY.instalment_plan.copy(update=changes)})


def extension_rules(**changes):
    return POLICY.copy(update={"extension": POLICY.extension.copy(update=changes)})


def persona(session, shape: str) -> Customer:
    number = next(p for p in PERSONAS if p.shape == shape).customer_number
    return session.execute(select(Customer).where(Customer.customer_number == number)).scalar_one()


def new_customer(session) -> Customer:
    """A customer without bills, only in this test's transaction."""
    customer = Customer(customer_number=f"9{next(_serial):07d}", first_name="Test", last_name="Customer", postcode="1000",
                        date_of_birth=date(1980, 1, 1), municipality="Brussel", region="Brussels")
    session.add(customer)
    session.flush()
    return customer


def new_invoice(session, customer, cents: int, due: date, status=InvoiceStatus.OPEN, paid_cents: int = 0) -> Invoice:
    """A bill of `cents` due on `due`, with `paid_cents` already paid on it."""
    serial = next(_serial)
    invoice = add_invoice(session, customer.id, f"TEST-{serial:06d}", cents, due, status)
    if paid_cents:
        session.add(Payment(invoice_id=invoice.id, amount_cents=paid_cents, paid_at=NOW - timedelta(days=1),
                            method="card", reference=f"TEST-PAY-{serial}"))
        session.flush()
    return invoice


def customer_owing(session, *cents: int) -> Customer:
    customer = new_customer(session)
    for amount in cents:
        new_invoice(session, customer, amount, TODAY + timedelta(days=4))
    return customer


def broken_plan(session, customer, ended: date, status=PlanStatus.BROKEN) -> InstalmentPlan:
    plan = InstalmentPlan(reference=f"PLAN-T{next(_serial):05d}", customer_id=customer.id, total_cents=10000,
                          created_at=datetime(2024, 1, 1, tzinfo=timezone.utc), status=status,
                          ended_at=datetime(ended.year, ended.month, ended.day, 12, 0, tzinfo=timezone.utc))
    session.add(plan)
    session.flush()
    return plan


def refusal(call, *args) -> str:
    with pytest.raises((NotEligibleForPlan, NotEligibleForExtension)) as refused:
        call(*args)
    return refused.value.reason


def test_today_is_the_sunday_the_date_examples_assume():
    assert TODAY.weekday() == calendar.SUNDAY


# -- who may have a plan --------------------------------------------------------------------------


@pytest.mark.parametrize("cents, paid, eligible", [
    (6000, 0, True),          # exactly the 60.00 minimum
    (5999, 0, False),         # a cent below
    (10000, 4000, True),      # what is left counts, not the bill's total
    (10000, 4001, False),
])
def test_the_minimum_open_amount_is_inclusive(session, cents, paid, eligible):
    customer = new_customer(session)
    new_invoice(session, customer, cents, TODAY + timedelta(days=4),
                InvoiceStatus.PARTIALLY_PAID if paid else InvoiceStatus.OPEN, paid_cents=paid)
    if eligible:
        assert plan_offer(session, customer.id, POLICY, TODAY).total == Decimal("60.00")
    else:
        assert refusal(plan_offer, session, customer.id, POLICY, TODAY) == "below_minimum"


def test_a_partly_paid_persona_is_judged_on_what_is_left(session):
    noor = persona(session, "partly_paid")
    bill = session.execute(select(Invoice).where(Invoice.customer_id == noor.id,
                                                 Invoice.status == InvoiceStatus.PARTIALLY_PAID)).scalar_one()
    left = bill.total_cents - sum(p.amount_cents for p in bill.payments)
    assert left < 6000 <= bill.total_cents  # the seeded story: half of a bill over 60 euros is paid
    assert refusal(plan_offer, session, noor.id, POLICY, TODAY) == "below_minimum"


# (open cents, min months, max months) from the bands in policy/arrangements.yml: up to 250.00 → 2..3,
# up to 1000.00 → 2..6, above → 2..12.
BANDS = [(6000, 2, 3), (25000, 2, 3), (25001, 2, 6), (100000, 2, 6), (100001, 2, 12), (10000000, 2, 12)]


@pytest.mark.parametrize("cents, low, high", BANDS)
def test_months_allowed_follow_the_amount_band(session, cents, low, high):
    customer = customer_owing(session, cents // 2, cents - cents // 2)  # two bills: the band is for their sum
    offer = plan_offer(session, customer.id, POLICY, TODAY)
    assert offer.total == Decimal(cents) / 100
    assert (offer.min_months, offer.max_months) == (low, high)
    assert check_months(offer, low) == low
    assert check_months(offer, high) == high
    for outside in (low - 1, high + 1):
        with pytest.raises(OutOfRange) as refused:
            check_months(offer, outside)
        assert (refused.value.minimum, refused.value.maximum) == (low, high)


@pytest.mark.parametrize("said, months", [("3", 3), (" 2 ", 2), (3.0, 3), ("2.5", None), ("three", None), (True, None), ("", None)])
def test_months_as_a_conversation_may_carry_them(session, said, months):
    offer = plan_offer(session, customer_owing(session, 20000).id, POLICY, TODAY)
    if months is None:
        with pytest.raises(OutOfRange):
            check_months(offer, said)
    else:
        assert check_months(offer, said) == months


def test_nothing_open_means_nothing_to_spread(session):
    assert refusal(plan_offer, session, persona(session, "all_paid").id, POLICY, TODAY) == "nothing_open"
    only_disputed = new_customer(session)
    new_invoice(session, only_disputed, 50000, TODAY - timedelta(days=10), InvoiceStatus.DISPUTED)
    assert refusal(plan_offer, session, only_disputed.id, POLICY, TODAY) == "nothing_open"


def test_disputed_invoices_are_never_in_a_plan(session):
    louis = persona(session, "disputed")
    disputed = session.execute(select(Invoice).where(Invoice.customer_id == louis.id,
                                                     Invoice.status == InvoiceStatus.DISPUTED)).scalar_one()
    offer = plan_offer(session, louis.id, POLICY, TODAY)
    assert disputed not in offer.invoices
    assert {invoice.status for invoice in offer.invoices} <= {InvoiceStatus.OPEN, InvoiceStatus.PARTIALLY_PAID}
    plan = create_plan(session, louis.id, 2, TODAY, POLICY, TODAY, NOW)
    assert disputed not in plan.invoices and disputed.status == InvoiceStatus.DISPUTED


@pytest.mark.parametrize("ended, refused", [
    (date(2025, 12, 22), True),    # 11 months ago
    (date(2025, 11, 23), True),    # a day short of 12 months
    (date(2025, 11, 22), False),   # 12 months ago to the day: no longer "within 12 months"
    (date(2025, 10, 22), False),   # 13 months ago
])
def test_a_plan_broken_within_twelve_months_blocks_a_new_one(session, ended, refused):
    customer = customer_owing(session, 30000)
    broken_plan(session, customer, ended)
    if refused:
        assert refusal(plan_offer, session, customer.id, POLICY, TODAY) == "broken_recently"
    else:
        assert plan_offer(session, customer.id, POLICY, TODAY).total == Decimal("300.00")


def test_only_broken_plans_count_and_zero_months_switches_the_rule_off(session):
    customer = customer_owing(session, 30000)
    broken_plan(session, customer, TODAY - timedelta(days=1), status=PlanStatus.CANCELLED)
    broken_plan(session, customer, TODAY - timedelta(days=1), status=PlanStatus.COMPLETED)
    assert plan_offer(session, customer.id, POLICY, TODAY)
    broken_plan(session, customer, TODAY - timedelta(days=1))
    assert refusal(plan_offer, session, customer.id, POLICY, TODAY) == "broken_recently"
    assert plan_offer(session, customer.id, plan_rules(no_broken_plan_within_months=0), TODAY)


def test_one_active_plan_at_a_time(session):
    lucas = persona(session, "overdue")
    create_plan(session, lucas.id, 2, TODAY, POLICY, TODAY, NOW)
    # Everything open is now in the plan: the running plan is the reason, not "nothing open".
    assert refusal(plan_offer, session, lucas.id, POLICY, TODAY) == "active_plan"
    newer = new_invoice(session, lucas, 20000, TODAY + timedelta(days=30))
    assert refusal(plan_offer, session, lucas.id, POLICY, TODAY) == "active_plan"
    assert refusal(create_plan, session, lucas.id, 2, TODAY, POLICY, TODAY, NOW) == "active_plan"
    two_allowed = plan_rules(max_active_plans=2)
    offer = plan_offer(session, lucas.id, two_allowed, TODAY)
    assert offer.invoices == [newer]  # in-plan invoices are never in a second plan
    create_plan(session, lucas.id, 2, TODAY, two_allowed, TODAY, NOW)
    assert refusal(plan_offer, session, lucas.id, two_allowed, TODAY) == "active_plan"


# -- when the first instalment is due -------------------------------------------------------------


@pytest.mark.parametrize("start, allowed", [
    (date(2026, 11, 22), True),    # today
    (date(2026, 12, 23), True),    # today + 31 days
    (date(2026, 12, 24), False),   # today + 32 days
    (date(2026, 11, 21), False),   # yesterday
])
def test_the_first_instalment_is_due_between_today_and_31_days_on(session, start, allowed):
    offer = plan_offer(session, customer_owing(session, 20000).id, POLICY, TODAY)
    assert offer.latest_start == date(2026, 12, 23)
    if allowed:
        assert check_start(offer, start, TODAY, POLICY) == start
    else:
        with pytest.raises(OutOfRange) as refused:
            check_start(offer, start, TODAY, POLICY)
        assert (refused.value.minimum, refused.value.maximum) == (date(2026, 11, 22), date(2026, 12, 23))


# -- schedules ------------------------------------------------------------------------------------


def test_schedules_add_up_exactly_in_near_equal_parts():
    rng = random.Random(2026)
    totals = [1, 2, 11, 12, 13, 99, 100, 101, 6000, 25000, 25001, 99_999_999, 100_000_000]
    totals += [rng.randint(1, 100_000_000) for _ in range(400)]
    for total in totals:
        for months in range(2, 13):
            parts = schedule(total, months, date(2027, 1, 31))
            amounts = [part.amount_cents for part in parts]
            assert [part.number for part in parts] == list(range(1, months + 1))
            assert sum(amounts) == total
            assert max(amounts) - min(amounts) <= 1
            assert amounts == sorted(amounts, reverse=True)  # the odd cents go to the first parts


def test_the_odd_cents_go_one_each_to_the_first_instalments():
    assert [p.amount_cents for p in schedule(100000, 3, TODAY)] == [33334, 33333, 33333]
    assert [p.amount_cents for p in schedule(1000, 6, TODAY)] == [167, 167, 167, 167, 166, 166]
    assert [p.amount_cents for p in schedule(1200, 12, TODAY)] == [100] * 12
    assert [p.amount_cents for p in schedule(1, 4, TODAY)] == [1, 0, 0, 0]


def test_due_dates_keep_the_day_and_clamp_to_short_months():
    assert [p.due_date for p in schedule(1200, 12, date(2027, 1, 31))] == [
        date(2027, 1, 31), date(2027, 2, 28), date(2027, 3, 31), date(2027, 4, 30), date(2027, 5, 31),
        date(2027, 6, 30), date(2027, 7, 31), date(2027, 8, 31), date(2027, 9, 30), date(2027, 10, 31),
        date(2027, 11, 30), date(2027, 12, 31),
    ]
    assert [p.due_date for p in schedule(300, 3, date(2028, 1, 30))] == [date(2028, 1, 30), date(2028, 2, 29), date(2028, 3, 30)]
    assert [p.due_date for p in schedule(300, 3, date(2026, 11, 30))] == [date(2026, 11, 30), date(2026, 12, 30), date(2027, 1, 30)]


def test_due_dates_are_monthly_from_any_first_day():
    for first in [date(2026, 11, 22), date(2026, 12, 31), date(2027, 1, 29), date(2027, 8, 31), date(2028, 2, 29)]:
        for months in range(2, 13):
            for index, part in enumerate(schedule(10000, months, first)):
                year, month = first.year + (first.month - 1 + index) // 12, (first.month - 1 + index) % 12 + 1
                assert part.due_date == date(year, month, min(first.day, calendar.monthrange(year, month)[1]))


def test_a_schedule_needs_months_and_a_positive_amount():
    with pytest.raises(ValueError):
        schedule(1000, 0, TODAY)
    with pytest.raises(ValueError):
        schedule(-1, 3, TODAY)


# -- storing a plan -------------------------------------------------------------------------------


def test_create_plan_stores_instalments_and_puts_the_invoices_in_the_plan(session):
    lucas = persona(session, "overdue")
    open_bills = session.execute(select(Invoice).where(Invoice.customer_id == lucas.id,
                                                       Invoice.status == InvoiceStatus.OPEN)).scalars().all()
    owed = sum(bill.total_cents for bill in open_bills)  # nothing paid on them yet
    assert len(open_bills) == 2 and not any(bill.payments for bill in open_bills)
    plan = create_plan(session, lucas.id, 3, date(2026, 12, 5), POLICY, TODAY, NOW)
    assert re.fullmatch(r"PLAN-[A-Z0-9]{6}", plan.reference)
    assert (plan.status, plan.created_at, plan.ended_at, plan.total_cents) == (PlanStatus.ACTIVE, NOW, None, owed)
    assert [i.due_date for i in plan.instalments] == [date(2026, 12, 5), date(2027, 1, 5), date(2027, 2, 5)]
    assert sum(i.amount_cents for i in plan.instalments) == owed
    assert all(i.paid_cents == 0 for i in plan.instalments)
    assert {bill.status for bill in open_bills} == {InvoiceStatus.IN_PLAN}
    linked = session.execute(select(plan_invoices.c.invoice_id).where(plan_invoices.c.plan_id == plan.id)).scalars().all()
    assert sorted(linked) == sorted(bill.id for bill in open_bills)


def test_create_plan_covers_what_is_left_on_partly_paid_bills(session):
    customer = new_customer(session)
    partly = new_invoice(session, customer, 20000, TODAY, InvoiceStatus.PARTIALLY_PAID, paid_cents=5000)
    new_invoice(session, customer, 8000, TODAY + timedelta(days=4))
    plan = create_plan(session, customer.id, 2, TODAY, POLICY, TODAY, NOW)
    assert plan.total_cents == 15000 + 8000
    assert [i.amount_cents for i in plan.instalments] == [11500, 11500]
    assert partly.status == InvoiceStatus.IN_PLAN


@pytest.mark.parametrize("months, start", [(4, TODAY), (1, TODAY), (2, TODAY - timedelta(days=1)), (2, TODAY + timedelta(days=32))])
def test_create_plan_checks_months_and_start_again_and_stores_nothing_when_wrong(session, months, start):
    customer = customer_owing(session, 20000)  # 200.00: 2 to 3 months
    with pytest.raises(OutOfRange):
        create_plan(session, customer.id, months, start, POLICY, TODAY, NOW)
    assert session.execute(select(func.count()).select_from(InstalmentPlan)
                           .where(InstalmentPlan.customer_id == customer.id)).scalar_one() == 0
    assert customer.invoices[0].status == InvoiceStatus.OPEN


def test_create_plan_checks_eligibility_again(session):
    assert refusal(create_plan, session, persona(session, "all_paid").id, 2, TODAY, POLICY, TODAY, NOW) == "nothing_open"
    assert refusal(create_plan, session, customer_owing(session, 5999).id, 2, TODAY, POLICY, TODAY, NOW) == "below_minimum"


def test_a_taken_plan_reference_is_drawn_again(session, monkeypatch):
    broken_plan(session, new_customer(session), TODAY).reference = "PLAN-AAAAAA"
    session.flush()
    letters = iter("A" * 6 + "B" * 6)
    monkeypatch.setattr(arrangements.secrets, "choice", lambda alphabet: next(letters))
    plan = create_plan(session, customer_owing(session, 20000).id, 2, TODAY, POLICY, TODAY, NOW)
    assert plan.reference == "PLAN-BBBBBB"


def test_active_plan_shows_paid_left_and_the_next_instalment(session):
    customer = customer_owing(session, 30001)  # 300.01: 2 to 6 months
    assert active_plan(session, customer.id) is None
    plan = create_plan(session, customer.id, 3, date(2026, 12, 1), POLICY, TODAY, NOW)
    first, second, third = plan.instalments
    assert (first.amount_cents, second.amount_cents, third.amount_cents) == (10001, 10000, 10000)
    first.paid_cents, second.paid_cents = 10001, 100
    session.flush()
    summary = active_plan(session, customer.id)
    assert summary.reference == plan.reference
    assert (summary.total, summary.paid, summary.left) == (Decimal("300.01"), Decimal("101.01"), Decimal("199.00"))
    number, due, left = summary.next_instalment
    assert (number, due, left) == (2, date(2027, 1, 1), Decimal("99.00"))
    assert [(i.number, i.due_date, i.amount, i.paid) for i in summary.instalments] == [
        (1, date(2026, 12, 1), Decimal("100.01"), Decimal("100.01")),
        (2, date(2027, 1, 1), Decimal("100.00"), Decimal("1.00")),
        (3, date(2027, 2, 1), Decimal("100.00"), Decimal("0.00")),
    ]
    second.paid_cents = third.paid_cents = 10000
    session.flush()
    assert active_plan(session, customer.id).next_instalment is None


# -- breaking late plans --------------------------------------------------------------------------


def test_plans_break_only_when_an_instalment_is_more_than_14_days_late(session):
    late_customer = new_customer(session)
    partly = new_invoice(session, late_customer, 20000, TODAY, InvoiceStatus.PARTIALLY_PAID, paid_cents=5000)
    untouched = new_invoice(session, late_customer, 8000, TODAY)
    settled = new_invoice(session, late_customer, 3000, TODAY)
    late = create_plan(session, late_customer.id, 2, TODAY, POLICY, TODAY, NOW)
    late.instalments[0].due_date = date(2026, 11, 7)      # 15 days late
    session.add(Payment(invoice_id=settled.id, amount_cents=3000, paid_at=NOW, method="card", reference="TEST-SETTLED"))

    on_the_edge = create_plan(session, customer_owing(session, 20000).id, 2, TODAY, POLICY, TODAY, NOW)
    on_the_edge.instalments[0].due_date = date(2026, 11, 8)  # 14 days late: not yet
    paid_long_ago = create_plan(session, customer_owing(session, 20000).id, 2, TODAY, POLICY, TODAY, NOW)
    paid_long_ago.instalments[0].due_date = date(2026, 9, 1)
    paid_long_ago.instalments[0].paid_cents = paid_long_ago.instalments[0].amount_cents
    session.flush()

    broken = break_late_plans(session, POLICY, TODAY, NOW)
    mine = {late.id, on_the_edge.id, paid_long_ago.id}
    assert {plan.id for plan in broken} & mine == {late.id}
    assert (late.status, late.ended_at) == (PlanStatus.BROKEN, NOW)
    assert on_the_edge.status == paid_long_ago.status == PlanStatus.ACTIVE
    assert (partly.status, untouched.status, settled.status) == (
        InvoiceStatus.PARTIALLY_PAID, InvoiceStatus.OPEN, InvoiceStatus.PAID)
    assert late.id not in {plan.id for plan in break_late_plans(session, POLICY, TODAY, NOW)}
    assert refusal(plan_offer, session, late_customer.id, POLICY, TODAY) == "broken_recently"


def test_the_lateness_threshold_comes_from_the_policy(session):
    plan = create_plan(session, customer_owing(session, 20000).id, 2, TODAY, POLICY, TODAY, NOW)
    plan.instalments[0].due_date = date(2026, 11, 7)  # 15 days late
    session.flush()
    assert plan.id not in {p.id for p in break_late_plans(session, plan_rules(broken_after_days_late=15), TODAY, NOW)}
    assert plan.id in {p.id for p in break_late_plans(session, plan_rules(broken_after_days_late=14), TODAY, NOW)}


# -- extensions -----------------------------------------------------------------------------------


def test_without_a_number_the_open_bill_due_first_is_offered(session):
    lucas = persona(session, "overdue")
    oldest = min(session.execute(select(Invoice).where(Invoice.customer_id == lucas.id,
                                                       Invoice.status == InvoiceStatus.OPEN)).scalars(),
                 key=lambda bill: bill.due_date)
    assert 0 < (TODAY - oldest.due_date).days <= 30
    offer = extension_offer(session, lucas.id, None, POLICY, TODAY)
    assert (offer.invoice, offer.current_due) == (oldest, oldest.due_date)
    assert offer.latest == date(2026, 12, 6)  # overdue: 14 days from today
    assert extension_offer(session, lucas.id, f"  {oldest.number.lower()} ", POLICY, TODAY).invoice == oldest


def test_only_the_customers_own_invoices_can_be_named(session):
    lucas, emma = persona(session, "overdue"), persona(session, "usage_up")
    emmas = session.execute(select(Invoice.number).where(Invoice.customer_id == emma.id)).scalars().first()
    assert refusal(extension_offer, session, lucas.id, emmas, POLICY, TODAY) == "invoice_not_found"
    assert refusal(extension_offer, session, lucas.id, "INV-1999-000001", POLICY, TODAY) == "invoice_not_found"


def test_disputed_paid_and_in_plan_bills_get_no_extension(session):
    louis = persona(session, "disputed")
    disputed = session.execute(select(Invoice).where(Invoice.customer_id == louis.id,
                                                     Invoice.status == InvoiceStatus.DISPUTED)).scalar_one()
    with pytest.raises(NotEligibleForExtension) as refused:
        extension_offer(session, louis.id, disputed.number, POLICY, TODAY)
    assert (refused.value.reason, refused.value.invoice_number) == ("disputed", disputed.number)
    assert extension_offer(session, louis.id, None, POLICY, TODAY).invoice.status == InvoiceStatus.OPEN

    arthur = persona(session, "all_paid")
    paid = session.execute(select(Invoice.number).where(Invoice.customer_id == arthur.id)).scalars().first()
    assert refusal(extension_offer, session, arthur.id, paid, POLICY, TODAY) == "nothing_open"
    assert refusal(extension_offer, session, arthur.id, None, POLICY, TODAY) == "nothing_open"

    customer = customer_owing(session, 20000)
    create_plan(session, customer.id, 2, TODAY, POLICY, TODAY, NOW)
    assert refusal(extension_offer, session, customer.id, customer.invoices[0].number, POLICY, TODAY) == "in_plan"
    assert refusal(extension_offer, session, customer.id, None, POLICY, TODAY) == "in_plan"


@pytest.mark.parametrize("days_overdue, allowed", [(30, True), (31, False)])
def test_no_extension_beyond_30_days_overdue(session, days_overdue, allowed):
    customer = new_customer(session)
    new_invoice(session, customer, 9000, TODAY - timedelta(days=days_overdue))
    if allowed:
        offer = extension_offer(session, customer.id, None, POLICY, TODAY)
        assert offer.latest == date(2026, 12, 6)
        assert grant_extension(session, customer.id, None, date(2026, 12, 6), POLICY, TODAY, NOW).new_due_date == date(2026, 12, 6)
    else:
        assert refusal(extension_offer, session, customer.id, None, POLICY, TODAY) == "too_late"


def test_zero_days_overdue_allowed_means_only_bills_not_yet_late(session):
    strict = extension_rules(not_beyond_days_overdue=0)
    due_today, due_yesterday = new_customer(session), new_customer(session)
    new_invoice(session, due_today, 9000, TODAY)
    new_invoice(session, due_yesterday, 9000, TODAY - timedelta(days=1))
    assert extension_offer(session, due_today.id, None, strict, TODAY)
    assert refusal(extension_offer, session, due_yesterday.id, None, strict, TODAY) == "too_late"


@pytest.mark.parametrize("new_due, allowed", [
    (date(2026, 12, 11), True),    # current due 27 November + 14 days
    (date(2026, 12, 12), False),   # + 15 days
    (date(2026, 11, 28), True),    # the day after the current due date
    (date(2026, 11, 27), False),   # the current due date is no extension
])
def test_an_extension_is_at_most_14_days_after_the_current_due_date(session, new_due, allowed):
    customer = new_customer(session)
    bill = new_invoice(session, customer, 9000, date(2026, 11, 27))
    offer = extension_offer(session, customer.id, bill.number, POLICY, TODAY)
    assert (offer.current_due, offer.latest) == (date(2026, 11, 27), date(2026, 12, 11))
    if allowed:
        extension = grant_extension(session, customer.id, bill.number, new_due, POLICY, TODAY, NOW)
        assert (extension.invoice_id, extension.original_due_date, extension.new_due_date, extension.created_at) == (
            bill.id, date(2026, 11, 27), new_due, NOW)
        assert bill.due_date == new_due
    else:
        with pytest.raises(OutOfRange) as refused:
            grant_extension(session, customer.id, bill.number, new_due, POLICY, TODAY, NOW)
        assert (refused.value.minimum, refused.value.maximum) == (date(2026, 11, 28), date(2026, 12, 11))
        assert bill.due_date == date(2026, 11, 27)


def test_the_window_follows_max_days(session):
    customer = new_customer(session)
    bill = new_invoice(session, customer, 9000, date(2026, 11, 27))
    assert extension_offer(session, customer.id, bill.number, extension_rules(max_days=7), TODAY).latest == date(2026, 12, 4)


def test_an_overdue_bill_gets_a_new_date_from_today(session):
    customer = new_customer(session)
    bill = new_invoice(session, customer, 9000, date(2026, 11, 12))
    for refused_day in (date(2026, 11, 21), date(2026, 12, 7)):  # yesterday; today + 15
        with pytest.raises(OutOfRange):
            grant_extension(session, customer.id, bill.number, refused_day, POLICY, TODAY, NOW)
    assert grant_extension(session, customer.id, bill.number, TODAY, POLICY, TODAY, NOW).new_due_date == TODAY


def test_an_invoice_is_extended_once(session):
    customer = new_customer(session)
    bill = new_invoice(session, customer, 9000, date(2026, 11, 27))
    grant_extension(session, customer.id, bill.number, date(2026, 12, 4), POLICY, TODAY, NOW)
    assert refusal(grant_extension, session, customer.id, bill.number, date(2026, 12, 5), POLICY, TODAY, NOW) == "already_extended"
    assert refusal(extension_offer, session, customer.id, None, POLICY, TODAY) == "already_extended"
    assert bill.due_date == date(2026, 12, 4)


def test_a_second_extension_stored_at_the_same_moment_is_refused(session, monkeypatch):
    customer = new_customer(session)
    bill = new_invoice(session, customer, 9000, date(2026, 11, 27))
    grant_extension(session, customer.id, bill.number, date(2026, 12, 4), POLICY, TODAY, NOW)
    # The other conversation checked before the first extension was stored: only the database can say no.
    monkeypatch.setattr(arrangements, "_already_extended", lambda session, invoice: False)
    assert refusal(grant_extension, session, customer.id, bill.number, date(2026, 12, 5), POLICY, TODAY, NOW) == "already_extended"
    stored = session.execute(select(Extension).where(Extension.invoice_id == bill.id)).scalars().all()
    assert [e.new_due_date for e in stored] == [date(2026, 12, 4)] and bill.due_date == date(2026, 12, 4)


def test_a_due_date_moved_by_another_conversation_after_the_check_is_left_alone(session, monkeypatch):
    customer = new_customer(session)
    bill = new_invoice(session, customer, 9000, date(2026, 11, 27))

    def checked_just_before_the_other_conversation_wrote(session, invoice):
        session.execute(update(Invoice).where(Invoice.id == invoice.id).values(due_date=date(2026, 12, 1))
                        .execution_options(synchronize_session=False))
        return False

    monkeypatch.setattr(arrangements, "_already_extended", checked_just_before_the_other_conversation_wrote)
    assert refusal(grant_extension, session, customer.id, bill.number, date(2026, 12, 4), POLICY, TODAY, NOW) == "already_extended"
    session.expire(bill)
    assert bill.due_date == date(2026, 12, 1)
    assert session.execute(select(func.count()).select_from(Extension).where(Extension.invoice_id == bill.id)).scalar_one() == 0


# -- dates as customers write them ----------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    ("next Friday", date(2026, 11, 27)),
    ("friday", date(2026, 11, 27)),
    ("Friday.", date(2026, 11, 27)),
    ("sunday", date(2026, 11, 22)),              # today is a Sunday: on or after today
    ("next sunday", date(2026, 11, 29)),
    ("15 March", date(2027, 3, 15)),
    ("15/03", date(2027, 3, 15)),
    ("15.03", date(2027, 3, 15)),
    ("15/03/2027", date(2027, 3, 15)),
    ("15-03-2027", date(2027, 3, 15)),
    ("2027-03-15", date(2027, 3, 15)),
    ("1/12", date(2026, 12, 1)),                 # day first: 1 December, not 12 January
    ("21/11", date(2027, 11, 21)),               # yesterday's day and month: next year
    ("22 November", date(2026, 11, 22)),         # today's day and month: today
    ("tomorrow", date(2026, 11, 23)),
    ("in 2 weeks", date(2026, 12, 6)),
    ("1st of December", date(2026, 12, 1)),
    ("first of december", date(2026, 12, 1)),
    ("the 15th", date(2026, 12, 15)),
    ("on the 5th", date(2026, 12, 5)),
    ("the 22nd", date(2026, 11, 22)),
    ("the 31st", date(2026, 12, 31)),
    ("the first of next month", date(2026, 12, 1)),
    ("end of the month", date(2026, 11, 30)),
    ("End of month", date(2026, 11, 30)),
    ("end of next month", date(2026, 12, 31)),
    ("29/02", date(2028, 2, 29)),
    ("I can pay on friday please", date(2026, 11, 27)),
    ("I may pay on friday", date(2026, 11, 27)),
    ("maybe 15 march?", date(2027, 3, 15)),
    ("I can pay on the 5th", date(2026, 12, 5)),
    ("5 December 2025", date(2025, 12, 5)),      # a year said is kept: check_start refuses it
])
def test_natural_dates_from_sunday_22_november_2026(text, expected):
    assert parse_date(text, TODAY) == expected


@pytest.mark.parametrize("text", ["", "   ", "hello", "I can't pay", "yes", "3", "12.50", "31/11", "in March", "I may pay later"])
def test_text_without_a_date_is_none(text):
    assert parse_date(text, TODAY) is None


def test_dates_are_relative_to_the_given_day_not_the_clock():
    assert parse_date("tomorrow", date(2026, 12, 31)) == date(2027, 1, 1)
    assert parse_date("end of the month", date(2026, 11, 30)) == date(2026, 11, 30)
    assert parse_date("end of the month", date(2027, 2, 3)) == date(2027, 2, 28)
    assert parse_date("15/03", date(2027, 3, 15)) == date(2027, 3, 15)
    assert parse_date("15/03", date(2027, 3, 16)) == date(2028, 3, 15)
    assert parse_date("next friday", date(2026, 11, 27)) == date(2026, 12, 4)
    assert parse_date("friday", date(2026, 11, 27)) == date(2026, 11, 27)


def test_a_parsed_past_date_is_refused_as_a_start(session):
    offer = plan_offer(session, customer_owing(session, 20000).id, POLICY, TODAY)
    with pytest.raises(OutOfRange):
        check_start(offer, parse_date("5 December 2025", TODAY), TODAY, POLICY)


def test_importing_the_rules_does_not_load_dateparser():
    code = "import sys, settle.arrangements.plans; sys.exit('dateparser' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0


# -- the use cases, each in its own unit of work --------------------------------------------------


def unit_of_work_on(url: str) -> UnitOfWork:
    settings = replace(Settings.from_environment(), database_url=url, link_secret="unit-test-link-secret")
    return UnitOfWork(settings, FixedClock(NOW))


@pytest.fixture
def fresh_url(tmp_path) -> str:
    """A database of its own, for use cases that commit what they store."""
    return seeded_sqlite(tmp_path / "settle.db", customers=10)


def persona_id(url: str, shape: str) -> int:
    with session_factory(url)() as session:
        return persona(session, shape).id


def stored(url: str, model) -> int:
    """The rows the test stored (the demo history's are from before today)."""
    with session_factory(url)() as session:
        return session.execute(select(func.count()).select_from(model).where(model.created_at >= HISTORY_ENDS)).scalar_one()


def test_a_refused_plan_comes_with_the_minimum_and_the_open_total(database_url):
    refused = services.offer_plan(unit_of_work_on(database_url), persona_id(database_url, "partly_paid"))
    assert isinstance(refused, services.PlanRefusal) and refused.reason == "below_minimum"
    assert refused.minimum == POLICY.instalment_plan.minimum_open_amount
    assert 0 < refused.total_open < refused.minimum


def test_a_possible_plan_gives_its_terms(database_url):
    terms = services.offer_plan(unit_of_work_on(database_url), persona_id(database_url, "overdue"))
    assert (terms.min_months, terms.max_months) == (2, 3)
    assert terms.latest_start == TODAY + timedelta(days=POLICY.instalment_plan.latest_start_in_days)


@pytest.mark.parametrize("typed, months", [("3 months please", 3), ("two", 2), ("3", 3)])
def test_months_are_read_as_typed(database_url, typed, months):
    details = services.read_plan_details(unit_of_work_on(database_url), persona_id(database_url, "overdue"), typed)
    assert (details.months, details.start) == (months, None)


@pytest.mark.parametrize("typed", ["6 months", "six"])
def test_months_outside_the_band_are_said_but_not_taken_and_the_band_comes_along(database_url, typed):
    details = services.read_plan_details(unit_of_work_on(database_url), persona_id(database_url, "overdue"), typed)
    assert (details.months, details.months_said) == (None, typed)
    assert (details.min_months, details.max_months) == (2, 3)


@pytest.mark.parametrize("typed, months, start", [
    ("i want to pay in 3 months starting 20 december", 3, date(2026, 12, 20)),
    ("2 months from 1 December", 2, date(2026, 12, 1)),
    ("next friday", None, date(2026, 11, 27)),  # a date where months were asked is kept, not refused
    ("the 9th", None, date(2026, 12, 9)),  # never nine months
    ("1 December", None, date(2026, 12, 1)),  # the bot's own example
])
def test_months_and_first_date_in_one_message_are_both_read(database_url, typed, months, start):
    details = services.read_plan_details(unit_of_work_on(database_url), persona_id(database_url, "overdue"), typed)
    assert (details.months, details.start) == (months, start)


@pytest.mark.parametrize("typed", ["whenever", "yesterday", "in three months"])
def test_a_start_that_is_no_date_or_too_early_is_not_taken(database_url, typed):
    details = services.read_plan_details(unit_of_work_on(database_url), persona_id(database_url, "overdue"), typed)
    assert details.start is None
    assert details.latest_start == TODAY + timedelta(days=POLICY.instalment_plan.latest_start_in_days)


def test_the_example_start_is_one_the_plan_accepts(database_url):
    details = services.read_plan_details(unit_of_work_on(database_url), persona_id(database_url, "overdue"), "")
    assert details.example_start == date(2026, 12, 1)
    assert TODAY <= details.example_start <= details.latest_start


@pytest.mark.parametrize("today", [date(2026, 11, 22), date(2027, 3, 14), date(2027, 1, 31), date(2027, 2, 1)])
def test_the_example_start_is_always_within_the_window(today):
    latest = today + timedelta(days=POLICY.instalment_plan.latest_start_in_days)
    assert today <= arrangements.example_start(today, latest) <= latest


def test_the_schedule_to_confirm_adds_up_to_the_cents_agreed_to(database_url):
    customer_id = persona_id(database_url, "overdue")
    chosen = services.plan_schedule(unit_of_work_on(database_url), customer_id, 3, TODAY + timedelta(days=3))
    assert chosen.total_cents == to_cents(chosen.total) == sum(part.amount_cents for part in chosen.instalments)
    assert [part.number for part in chosen.instalments] == [1, 2, 3]


def test_an_agreed_plan_is_stored_with_the_link_for_its_first_instalment(fresh_url):
    customer_id, start = persona_id(fresh_url, "overdue"), TODAY + timedelta(days=3)
    agreed_cents = services.plan_schedule(unit_of_work_on(fresh_url), customer_id, 2, start).total_cents
    plan = services.agree_plan(unit_of_work_on(fresh_url), customer_id, 2, start, agreed_cents)
    assert plan.reference.startswith("PLAN-") and "/pay/" in plan.link_url and plan.first_due == start
    with session_factory(fresh_url)() as session:
        stored_plan = session.execute(select(InstalmentPlan).where(InstalmentPlan.reference == plan.reference)).scalar_one()
        link = session.execute(select(PaymentLink).where(PaymentLink.customer_id == customer_id)).scalar_one()
        assert link.instalment_id == stored_plan.instalments[0].id
        assert plan.first_amount == Decimal(stored_plan.instalments[0].amount_cents) / 100


def test_a_plan_whose_total_changed_since_it_was_shown_stores_neither_plan_nor_link(fresh_url):
    customer_id, start = persona_id(fresh_url, "overdue"), TODAY + timedelta(days=3)
    agreed_cents = services.plan_schedule(unit_of_work_on(fresh_url), customer_id, 2, start).total_cents
    with pytest.raises(OutOfRange):
        services.agree_plan(unit_of_work_on(fresh_url), customer_id, 2, start, agreed_cents + 500)
    assert stored(fresh_url, InstalmentPlan) == stored(fresh_url, PaymentLink) == 0


def test_an_extension_date_outside_the_window_is_refused_with_the_window(database_url):
    customer_id = persona_id(database_url, "usage_up")
    terms = services.offer_extension(unit_of_work_on(database_url), customer_id, None)
    too_far = services.check_extension_date(unit_of_work_on(database_url), customer_id, terms.invoice_number, "in 2 months")
    assert (too_far.chosen, too_far.current_due, too_far.latest) == (None, terms.current_due, terms.latest)
    no_date = services.check_extension_date(unit_of_work_on(database_url), customer_id, terms.invoice_number, "whenever")
    assert no_date.chosen is None
    fine = services.check_extension_date(unit_of_work_on(database_url), customer_id, terms.invoice_number, "in 5 days")
    assert fine.chosen == TODAY + timedelta(days=5)


def test_an_extension_is_granted_once(fresh_url):
    customer_id = persona_id(fresh_url, "usage_up")
    terms = services.offer_extension(unit_of_work_on(fresh_url), customer_id, None)
    new_due = TODAY + timedelta(days=5)
    granted = services.grant_extension(unit_of_work_on(fresh_url), customer_id, terms.invoice_number, new_due)
    assert (granted.invoice_number, granted.new_due_date) == (terms.invoice_number, new_due)
    with pytest.raises(NotEligibleForExtension) as refused:
        services.grant_extension(unit_of_work_on(fresh_url), customer_id, terms.invoice_number, new_due)
    assert refused.value.reason == "already_extended"
