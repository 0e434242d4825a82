"""The accounts the reminder engine flags for a person: listed once until reviewed, with what a person did."""
from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from settle.config import Settings
from settle.errors import FlaggedAccountNotFound, NotEligibleForExtension, OutOfRange, ReviewProblem
from settle.models import Agent, Customer, Dispute, HardshipReport, InvoiceStatus, OutboxMessage, ReviewAction
from settle.outreach.reminders import select_due, still_wanted
from settle.outreach.review import (
    account_review,
    agree_plan,
    flagged_accounts,
    grant_more_time,
    paused_accounts,
    record,
    resume_reminders,
)
from settle.policy import load_policy, load_reminder_policy
from settle.tooling.seed import DEMO_OPERATIONS_EMAIL
from tests.unit.builders import add_invoice

ROOT = Path(__file__).parents[2]
POLICY = load_reminder_policy(ROOT / "policy" / "reminders.yml")
ARRANGEMENTS = load_policy(ROOT / "policy" / "arrangements.yml")
ZONE = "Europe/Brussels"
MONDAY = date(2026, 11, 23)
MORNING = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
SETTINGS = replace(Settings.from_environment(), link_secret="unit-test-link-secret", public_url="https://pay.example")
_serial = itertools.count(1)


def new_customer(session, name: str = "Flagged") -> Customer:
    customer = Customer(customer_number=f"7{next(_serial):07d}", first_name=name, last_name="Customer", postcode="1000",
                        date_of_birth=date(1980, 1, 1), municipality="Brussel", region="Brussels", email="f@example.com",
                        phone="+32 470 111111", preferred_channel="email")
    session.add(customer)
    session.flush()
    return customer


def late_bill(session, customer: Customer, cents: int, days_late: int):
    return add_invoice(session, customer.id, f"FLAG-{next(_serial):06d}", cents, MONDAY - timedelta(days=days_late))


def run_on(session, day: date):
    """The reminder engine's choice on `day` at 10:00 in Brussels."""
    moment = datetime(day.year, day.month, day.day, 9, 0, tzinfo=timezone.utc)
    return select_due(session, POLICY, day, moment, ARRANGEMENTS, ZONE)


@pytest.fixture
def operations_id(session) -> int:
    return session.execute(select(Agent.id).where(Agent.email == DEMO_OPERATIONS_EMAIL)).scalar_one()


def listed(session, customer: Customer, today: date = MONDAY) -> list:
    return [account for account in flagged_accounts(session, today, limit=1000).accounts if account.customer_id == customer.id]


def test_an_account_with_two_flagged_bills_is_listed_once_with_what_is_open_and_how_late(session):
    customer = new_customer(session)
    late_bill(session, customer, 8000, 25)
    late_bill(session, customer, 4050, 40)
    run_on(session, MONDAY)
    account, = listed(session, customer)
    assert (str(account.total_open), account.days_late, account.reminders_paused) == ("120.50", 40, False)


def test_the_list_shows_those_waiting_longest_first_and_counts_them_all(session):
    customers = [new_customer(session, name) for name in ("Older", "Newer")]
    late_bill(session, customers[0], 8000, 26)
    run_on(session, MONDAY - timedelta(days=1))
    late_bill(session, customers[1], 8000, 25)
    run_on(session, MONDAY)
    everyone = flagged_accounts(session, MONDAY, limit=1000)
    ours = [account.name for account in everyone.accounts if account.name.endswith(" Customer")]
    assert ours == ["Older Customer", "Newer Customer"]
    first = flagged_accounts(session, MONDAY, limit=1)
    assert (len(first.accounts), first.waiting) == (1, everyone.waiting)


def test_an_account_reminded_but_not_flagged_is_not_listed(session):
    customer = new_customer(session)
    late_bill(session, customer, 8000, 10)
    assert [r.stage for r in run_on(session, MONDAY) if r.customer_id == customer.id] == ["second"]
    assert listed(session, customer) == []
    with pytest.raises(FlaggedAccountNotFound):
        account_review(session, customer.id, MONDAY, ARRANGEMENTS)


def test_marked_reviewed_it_leaves_the_list_until_a_later_reminder_flags_it_again(session, operations_id):
    customer = new_customer(session)
    late_bill(session, customer, 8000, 25)
    run_on(session, MONDAY)
    record(session, customer.id, operations_id, ReviewAction.REVIEWED, MORNING + timedelta(hours=2))
    assert listed(session, customer) == []
    with pytest.raises(FlaggedAccountNotFound):
        record(session, customer.id, operations_id, ReviewAction.REVIEWED, MORNING + timedelta(hours=3))
    late_bill(session, customer, 3000, 24)  # reaches the review stage tomorrow
    run_on(session, MONDAY + timedelta(days=1))
    assert len(listed(session, customer, MONDAY + timedelta(days=1))) == 1


def test_a_call_note_needs_words_and_is_kept_with_who_wrote_it(session, operations_id):
    customer = new_customer(session)
    late_bill(session, customer, 8000, 25)
    run_on(session, MONDAY)
    with pytest.raises(ReviewProblem):
        record(session, customer.id, operations_id, ReviewAction.CALL_NOTED, MORNING, "   ")
    record(session, customer.id, operations_id, ReviewAction.CALL_NOTED, MORNING, " Will pay on Friday. ")
    entry, = account_review(session, customer.id, MONDAY, ARRANGEMENTS).entries
    assert (entry.action, entry.by, entry.note) == (ReviewAction.CALL_NOTED, "Olga", "Will pay on Friday.")
    assert len(listed(session, customer)) == 1  # a note alone does not take it off the list


def test_paused_reminders_stop_what_waits_and_what_would_come_until_resumed(session, operations_id):
    customer = new_customer(session)
    late_bill(session, customer, 8000, 25)
    newer = late_bill(session, customer, 2000, 0)  # due today: its nudge would come tomorrow
    reminder, = [r for r in run_on(session, MONDAY) if r.customer_id == customer.id]
    waiting = session.execute(select(OutboxMessage).where(OutboxMessage.reminder_id == reminder.id)).scalar_one()
    record(session, customer.id, operations_id, ReviewAction.REMINDERS_PAUSED, MORNING)
    assert listed(session, customer)[0].reminders_paused
    assert not still_wanted(session, waiting)
    assert [r for r in run_on(session, MONDAY + timedelta(days=1)) if r.subject_id == newer.id] == []
    record(session, customer.id, operations_id, ReviewAction.REVIEWED, MORNING + timedelta(hours=1))
    assert customer.id in [paused.customer_id for paused in paused_accounts(session, limit=1000)]  # not forgotten
    assert resume_reminders(session, customer.id, operations_id, MORNING + timedelta(days=1)) == "Flagged Customer"
    assert customer.id not in [paused.customer_id for paused in paused_accounts(session, limit=1000)]
    with pytest.raises(ReviewProblem):
        resume_reminders(session, customer.id, operations_id, MORNING + timedelta(days=1))
    assert [r.stage for r in run_on(session, MONDAY + timedelta(days=2)) if r.subject_id == newer.id] == ["nudge"]


def test_the_review_shows_reminders_with_their_messages_hardship_and_disputes(session, operations_id):
    customer = new_customer(session)
    bill = late_bill(session, customer, 8000, 25)
    disputed = late_bill(session, customer, 1500, 50)
    run_on(session, MONDAY)
    session.add(HardshipReport(customer_id=customer.id, reported_at=MORNING - timedelta(days=60)))
    session.add(Dispute(reference="D-FLAG-1", invoice_id=disputed.id, customer_id=customer.id, reason="meter misread",
                        previous_invoice_status=InvoiceStatus.OPEN, created_at=MORNING))
    disputed.status = InvoiceStatus.DISPUTED
    session.flush()
    shown = account_review(session, customer.id, MONDAY, ARRANGEMENTS)
    reminder, = [r for r in shown.reminders if r.about == f"bill {bill.number}"]
    assert (reminder.stage, reminder.flagged, reminder.outcome) == ("review", True, "open")
    assert [(d.channel, d.status) for d in reminder.deliveries] == [("email", "pending")]
    assert shown.hardship_reported == (MORNING - timedelta(days=60),)
    assert [(d.reference, d.invoice_number, d.status) for d in shown.disputes] == [("D-FLAG-1", disputed.number, "open")]
    assert [(b.number, b.status) for b in shown.open_bills] == [(disputed.number, "disputed"), (bill.number, "open")]
    assert shown.account.days_late == 25  # a disputed bill is on hold, not late


def test_more_time_and_a_plan_go_through_the_chats_rules_and_are_kept_as_done(session, operations_id):
    customer = new_customer(session)
    bill = late_bill(session, customer, 8000, 25)
    run_on(session, MONDAY)
    shown = account_review(session, customer.id, MONDAY, ARRANGEMENTS)
    more_time, = shown.more_time
    assert (more_time.invoice_number, more_time.latest, more_time.refusal) == (bill.number, MONDAY + timedelta(days=14), None)
    assert (shown.plan.total_cents, shown.plan.min_months, shown.plan.max_months) == (8000, 2, 3)
    with pytest.raises(OutOfRange):
        grant_more_time(session, customer.id, operations_id, bill.number, MONDAY + timedelta(days=15), ARRANGEMENTS, MONDAY, MORNING)
    grant_more_time(session, customer.id, operations_id, bill.number, MONDAY + timedelta(days=7), ARRANGEMENTS, MONDAY, MORNING)
    assert bill.due_date == MONDAY + timedelta(days=7)
    with pytest.raises(NotEligibleForExtension):
        grant_more_time(session, customer.id, operations_id, bill.number, MONDAY + timedelta(days=8), ARRANGEMENTS, MONDAY, MORNING)
    with pytest.raises(OutOfRange):  # the page showed another total
        agree_plan(session, customer.id, operations_id, 2, MONDAY + timedelta(days=5), 7999, ARRANGEMENTS, SETTINGS, MONDAY, MORNING)
    link = agree_plan(session, customer.id, operations_id, 2, MONDAY + timedelta(days=5), 8000, ARRANGEMENTS, SETTINGS,
                      MONDAY, MORNING)
    assert link.amount == Decimal("40.00") and link.url.startswith("https://pay.example/pay/")
    assert bill.status == InvoiceStatus.IN_PLAN
    assert [e.action for e in account_review(session, customer.id, MONDAY, ARRANGEMENTS).entries] == [
        ReviewAction.EXTENSION_GRANTED, ReviewAction.PLAN_AGREED]


def test_a_bill_too_long_overdue_gets_no_more_time_and_says_why(session):
    customer = new_customer(session)
    late_bill(session, customer, 8000, 31)
    run_on(session, MONDAY)
    more_time, = account_review(session, customer.id, MONDAY, ARRANGEMENTS).more_time
    assert (more_time.latest, more_time.refusal) == (None, "too_late")
