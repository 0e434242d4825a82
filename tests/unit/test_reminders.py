"""The reminder engine: which bills get which reminder when, never twice, and how each one is delivered.

Dates are chosen around Monday 23 November 2026 (the seeded test database is seen from Sunday 22 November)
in Europe/Brussels, where 10:00 local is 09:00 UTC in winter. Expected values are worked out by hand from
policy/reminders.yml (heads_up -3 for opted-in customers, nudge +1, second +10, review +25 flagged;
instalment_nudge +1, instalment_second +7; chat → email → sms, 3 attempts, retries after 5 then 30 minutes;
quiet 20:00–09:00 and Sundays; hardship pause 30 days), never copied from a run.
"""
from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select, text

from settle import schema
from settle.arrangements.plans import create_plan, grant_extension
from settle.config import Settings
from settle.db import engine_for, session_factory
from settle.errors import SendError
from settle.models import (
    Channel,
    ChatConversation,
    Customer,
    HardshipReport,
    Invoice,
    InvoiceStatus,
    OutboxMessage,
    Payment,
    PlanStatus,
    Reminder,
)
from settle.outreach.reminders import (
    RunSummary,
    claim_deliverable,
    content_for,
    next_allowed_moment,
    record_attempt,
    run,
    safe_error,
    select_due,
    still_wanted,
)
from settle.outreach.senders import ReminderContent
from settle.payments.links import open_link
from settle.policy import load_policy, load_reminder_policy
from settle.signing import sign
from tests.conftest import BACKENDS, HISTORY_ENDS, TODAY, postgres_url, seeded_sqlite
from tests.unit.builders import add_invoice

ROOT = Path(__file__).resolve().parents[2]
POLICY = load_reminder_policy(ROOT / "policy" / "reminders.yml")
ARRANGEMENTS = load_policy(ROOT / "policy" / "arrangements.yml")
ZONE = "Europe/Brussels"
BRUSSELS = ZoneInfo(ZONE)
MONDAY = date(2026, 11, 23)
SECRET = "unit-test-reminder-secret"
_serial = itertools.count(1)


def at(day: date, hour: int = 10, minute: int = 0) -> datetime:
    """A local Brussels moment on `day`, as the aware UTC instant the engine is given."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BRUSSELS).astimezone(timezone.utc)


@pytest.fixture
def settings() -> Settings:
    return replace(Settings.from_environment(), link_secret=SECRET, public_url="https://pay.example", timezone=ZONE)


def new_customer(session, *, channel="chat", email="test@example.com", phone="+32 470 123456", chat=True,
                 heads_up=False, first_name="Test", language="en") -> Customer:
    customer = Customer(customer_number=f"8{next(_serial):07d}", first_name=first_name, last_name="Customer",
                        postcode="1000", date_of_birth=date(1980, 1, 1), municipality="Brussel", region="Brussels",
                        email=email, phone=phone, preferred_channel=Channel(channel), wants_heads_up=heads_up,
                        language=language)
    session.add(customer)
    session.flush()
    if chat:
        session.add(ChatConversation(customer_id=customer.id, conversation_id=f"conversation-{customer.id}",
                                     last_seen_at=at(MONDAY) - timedelta(days=3)))
        session.flush()
    return customer


def new_invoice(session, customer, cents: int, due: date, status=InvoiceStatus.OPEN, paid_cents: int = 0) -> Invoice:
    serial = next(_serial)
    invoice = add_invoice(session, customer.id, f"REM-{serial:06d}", cents, due, status)
    if paid_cents:
        pay(session, invoice, paid_cents, status=None)
    return invoice


def pay(session, invoice: Invoice, cents: int, status=InvoiceStatus.PAID) -> None:
    session.add(Payment(invoice_id=invoice.id, amount_cents=cents, paid_at=at(MONDAY) - timedelta(days=1),
                        method="card", reference=f"REM-PAY-{next(_serial)}"))
    if status is not None:
        invoice.status = status
    session.flush()


def due_on(session, today: date, hour: int = 10, policy=POLICY):
    return select_due(session, policy, today, at(today, hour), ARRANGEMENTS, ZONE)


def stages_for(reminders, subject_id: int, subject: str = "invoice") -> list[str]:
    return [r.stage for r in reminders if r.subject == subject and r.subject_id == subject_id]


def stored_stages(session, subject_id: int, subject: str = "invoice") -> set[str]:
    return set(session.execute(
        select(Reminder.stage).where(Reminder.subject == subject, Reminder.subject_id == subject_id)
    ).scalars())


def messages_of(session, reminder_id: int) -> list[OutboxMessage]:
    return session.execute(
        select(OutboxMessage).where(OutboxMessage.reminder_id == reminder_id).order_by(OutboxMessage.id)
    ).scalars().all()


def queued(session, customer, invoice, channel="chat", stage="nudge", now=None) -> OutboxMessage:
    """A reminder for `invoice` with one pending message on `channel`, as select_due would leave it."""
    now = now or at(MONDAY)
    reminder = Reminder(subject="invoice", subject_id=invoice.id, customer_id=customer.id, stage=stage,
                        stage_order=1, created_at=now)
    session.add(reminder)
    session.flush()
    message = OutboxMessage(reminder_id=reminder.id, channel=channel, status="pending", attempts=0, next_attempt_at=now)
    session.add(message)
    session.flush()
    return message


class FakeSender:
    """Records what it was given; fails with `error` for the first `failures` sends (or always, if None)."""

    def __init__(self, channel: str, error: SendError | None = None, failures: int | None = None, only=None):
        self.channel = channel
        self.error = error
        self.failures = failures
        self.only = only  # fail only for contents this predicate picks
        self.sent: list[ReminderContent] = []
        self.tried: list[ReminderContent] = []

    def send(self, content: ReminderContent) -> None:
        self.tried.append(content)
        picked = self.only is None or self.only(content)
        if self.error is not None and picked and (self.failures is None or self.failures > 0):
            if self.failures is not None:
                self.failures -= 1
            raise self.error
        self.sent.append(content)


# -- stage boundaries -----------------------------------------------------------------------------


@pytest.mark.parametrize("days_late, expected", [
    (0, []),            # due today: not late yet, no heads-up any more
    (1, ["nudge"]),     # the nudge's day exactly
    (9, ["nudge"]),     # a day before the second reminder
    (10, ["second"]),
    (24, ["second"]),
    (25, ["review"]),
    (40, ["review"]),
])
def test_each_stage_starts_on_its_offset_day(session, days_late, expected):
    customer = new_customer(session)
    invoice = new_invoice(session, customer, 8000, MONDAY - timedelta(days=days_late))
    assert stages_for(due_on(session, MONDAY), invoice.id) == expected


@pytest.mark.parametrize("days_before, expected", [(4, []), (3, ["heads_up"]), (1, ["heads_up"])])
def test_a_heads_up_goes_three_days_before_the_due_date_to_those_who_asked(session, days_before, expected):
    customer = new_customer(session, heads_up=True)
    invoice = new_invoice(session, customer, 8000, MONDAY + timedelta(days=days_before))
    assert stages_for(due_on(session, MONDAY), invoice.id) == expected


def test_no_heads_up_without_opting_in(session):
    customer = new_customer(session, heads_up=False)
    invoice = new_invoice(session, customer, 8000, MONDAY + timedelta(days=3))
    assert stages_for(due_on(session, MONDAY), invoice.id) == []
    # The day after the due date the nudge comes as for anyone.
    assert stages_for(due_on(session, MONDAY + timedelta(days=4)), invoice.id) == ["nudge"]


def test_the_review_stage_is_flagged_for_a_person(session):
    customer = new_customer(session)
    invoice = new_invoice(session, customer, 8000, MONDAY - timedelta(days=25))
    reminder, = [r for r in due_on(session, MONDAY) if r.subject_id == invoice.id]
    assert (reminder.stage, reminder.flagged_for_review, reminder.stage_order) == ("review", True, 25)


# -- exclusions -----------------------------------------------------------------------------------


def test_paid_disputed_cancelled_and_fully_paid_bills_get_nothing(session):
    customer = new_customer(session)
    due = MONDAY - timedelta(days=12)
    paid = new_invoice(session, customer, 8000, due, InvoiceStatus.PAID, paid_cents=8000)
    disputed = new_invoice(session, customer, 8000, due, InvoiceStatus.DISPUTED)
    cancelled = new_invoice(session, customer, 8000, due, InvoiceStatus.CANCELLED)
    paid_but_still_open = new_invoice(session, customer, 8000, due, InvoiceStatus.OPEN, paid_cents=8000)
    partly_paid = new_invoice(session, customer, 8000, due, InvoiceStatus.PARTIALLY_PAID, paid_cents=7999)
    claimed = due_on(session, MONDAY)
    for invoice in (paid, disputed, cancelled, paid_but_still_open):
        assert stages_for(claimed, invoice.id) == []
    assert stages_for(claimed, partly_paid.id) == ["second"]


def test_bills_in_a_plan_get_no_bill_reminder(session):
    customer = new_customer(session)
    invoice = new_invoice(session, customer, 30000, MONDAY - timedelta(days=3))
    create_plan(session, customer.id, 3, MONDAY + timedelta(days=5), ARRANGEMENTS, MONDAY, at(MONDAY))
    assert invoice.status == InvoiceStatus.IN_PLAN
    assert stages_for(due_on(session, MONDAY), invoice.id) == []


def test_an_extension_moves_the_reminders_with_the_due_date(session):
    customer = new_customer(session)
    invoice = new_invoice(session, customer, 8000, MONDAY)
    new_due = MONDAY + timedelta(days=10)  # Thursday 3 December
    grant_extension(session, customer.id, invoice.number, new_due, ARRANGEMENTS, MONDAY, at(MONDAY))
    assert stages_for(due_on(session, MONDAY + timedelta(days=1)), invoice.id) == []   # the old nudge day
    assert stages_for(due_on(session, new_due), invoice.id) == []
    assert stages_for(due_on(session, new_due + timedelta(days=1)), invoice.id) == ["nudge"]
    assert stages_for(due_on(session, new_due + timedelta(days=10)), invoice.id) == ["second"]


@pytest.mark.parametrize("days_ago, paused", [(1, True), (29, True), (31, False)])
def test_no_reminders_within_the_hardship_pause(session, days_ago, paused):
    customer = new_customer(session)
    other = new_customer(session)
    invoice = new_invoice(session, customer, 8000, MONDAY - timedelta(days=1))
    others = new_invoice(session, other, 8000, MONDAY - timedelta(days=1))
    session.add(HardshipReport(customer_id=customer.id, reported_at=at(MONDAY) - timedelta(days=days_ago)))
    session.flush()
    claimed = due_on(session, MONDAY)
    assert stages_for(claimed, invoice.id) == ([] if paused else ["nudge"])
    assert stages_for(claimed, others.id) == ["nudge"]


# -- catching up, never twice ---------------------------------------------------------------------


def test_a_late_run_sends_only_the_latest_stage_and_never_an_earlier_one_after(session):
    customer = new_customer(session)
    due = MONDAY - timedelta(days=12)
    invoice = new_invoice(session, customer, 8000, due)
    assert stages_for(due_on(session, MONDAY), invoice.id) == ["second"]
    later = due_on(session, due + timedelta(days=25))
    assert stages_for(later, invoice.id) == ["review"]
    assert [r.flagged_for_review for r in later if r.subject_id == invoice.id] == [True]
    assert stages_for(due_on(session, due + timedelta(days=26)), invoice.id) == []
    assert stored_stages(session, invoice.id) == {"second", "review"}


def test_a_second_run_on_the_same_day_claims_nothing(session):
    customer = new_customer(session, heads_up=True)
    new_invoice(session, customer, 8000, MONDAY - timedelta(days=1))
    new_invoice(session, customer, 8000, MONDAY + timedelta(days=2))
    first = due_on(session, MONDAY)
    assert first
    assert due_on(session, MONDAY, hour=15) == []


def test_a_heads_up_does_not_stop_the_nudge(session):
    customer = new_customer(session, heads_up=True)
    invoice = new_invoice(session, customer, 8000, MONDAY + timedelta(days=3))
    assert stages_for(due_on(session, MONDAY), invoice.id) == ["heads_up"]
    assert stages_for(due_on(session, MONDAY + timedelta(days=4)), invoice.id) == ["nudge"]


# -- instalments ----------------------------------------------------------------------------------


def test_late_instalments_get_their_own_stages_until_the_plan_breaks(session):
    customer = new_customer(session)
    invoice = new_invoice(session, customer, 30000, MONDAY + timedelta(days=4))
    start = MONDAY + timedelta(days=5)
    plan = create_plan(session, customer.id, 3, start, ARRANGEMENTS, MONDAY, at(MONDAY))
    first = plan.instalments[0]
    assert (first.due_date, first.amount_cents) == (start, 10000)

    assert stages_for(due_on(session, start), first.id, "instalment") == []
    on_day_one = due_on(session, start + timedelta(days=1))
    assert stages_for(on_day_one, first.id, "instalment") == ["instalment_nudge"]
    assert stages_for(on_day_one, invoice.id) == []  # the bill itself is in the plan
    assert stages_for(due_on(session, start + timedelta(days=7)), first.id, "instalment") == ["instalment_second"]

    # 15 days late the plan breaks (more than 14): the bill, due 16 days ago, is chased as a bill again.
    after_break = due_on(session, start + timedelta(days=15))
    session.refresh(plan)
    assert plan.status == PlanStatus.BROKEN
    assert stages_for(after_break, first.id, "instalment") == []
    assert stages_for(after_break, invoice.id) == ["second"]


def test_a_paid_instalment_gets_nothing(session):
    customer = new_customer(session)
    new_invoice(session, customer, 30000, MONDAY + timedelta(days=4))
    start = MONDAY + timedelta(days=5)
    plan = create_plan(session, customer.id, 3, start, ARRANGEMENTS, MONDAY, at(MONDAY))
    plan.instalments[0].paid_cents = plan.instalments[0].amount_cents
    session.flush()
    assert stages_for(due_on(session, start + timedelta(days=3)), plan.instalments[0].id, "instalment") == []


# -- the first message: channel and time ----------------------------------------------------------


@pytest.mark.parametrize("preferred, chat, email, phone, expected", [
    ("chat", True, "a@example.com", "+32 470 1", "chat"),
    ("email", True, "a@example.com", "+32 470 1", "email"),
    ("sms", True, "a@example.com", "+32 470 1", "sms"),
    ("chat", False, "a@example.com", "+32 470 1", "email"),   # no chat conversation
    ("email", True, None, "+32 470 1", "chat"),               # preferred first, then the order: chat
    ("sms", False, "a@example.com", None, "email"),           # sms, chat unusable
    ("chat", False, None, "+32 470 1", "sms"),
])
def test_the_first_message_goes_to_the_first_channel_that_reaches_the_customer(session, preferred, chat, email,
                                                                                 phone, expected):
    customer = new_customer(session, channel=preferred, chat=chat, email=email, phone=phone)
    invoice = new_invoice(session, customer, 8000, MONDAY - timedelta(days=1))
    reminder, = [r for r in due_on(session, MONDAY) if r.subject_id == invoice.id]
    message, = messages_of(session, reminder.id)
    assert (message.channel, message.status, message.attempts) == (expected, "pending", 0)
    assert message.next_attempt_at == at(MONDAY)


def test_a_customer_no_channel_reaches_gets_a_failed_message(session):
    customer = new_customer(session, chat=False, email=None, phone=None)
    invoice = new_invoice(session, customer, 8000, MONDAY - timedelta(days=1))
    reminder, = [r for r in due_on(session, MONDAY) if r.subject_id == invoice.id]
    message, = messages_of(session, reminder.id)
    assert (message.channel, message.status) == ("chat", "failed")
    assert "no chat conversation" in message.last_error and "no an" not in message.last_error


def test_a_reminder_chosen_in_quiet_hours_waits_for_the_morning(session):
    customer = new_customer(session)
    saturday = date(2026, 11, 28)
    invoice = new_invoice(session, customer, 8000, saturday - timedelta(days=1))
    reminder, = [r for r in due_on(session, saturday, hour=21) if r.subject_id == invoice.id]
    message, = messages_of(session, reminder.id)
    # Saturday 21:00 is quiet, Sunday is a quiet day: Monday 30 November at 09:00.
    assert message.next_attempt_at == at(date(2026, 11, 30), 9)


@pytest.mark.parametrize("local, allowed", [
    (datetime(2026, 11, 23, 10, 0), None),                        # Monday morning: now
    (datetime(2026, 11, 23, 9, 0), None),                         # the quiet period's end is allowed
    (datetime(2026, 11, 23, 19, 59), None),
    (datetime(2026, 11, 23, 20, 0), datetime(2026, 11, 24, 9, 0)),
    (datetime(2026, 11, 24, 8, 59), datetime(2026, 11, 24, 9, 0)),
    (datetime(2026, 11, 24, 0, 30), datetime(2026, 11, 24, 9, 0)),
    (datetime(2026, 11, 28, 19, 0), None),                        # Saturday before 20:00
    (datetime(2026, 11, 28, 20, 0), datetime(2026, 11, 30, 9, 0)),  # Saturday evening → Monday
    (datetime(2026, 11, 22, 12, 0), datetime(2026, 11, 23, 9, 0)),  # Sunday noon → Monday
    (datetime(2026, 11, 22, 23, 0), datetime(2026, 11, 23, 9, 0)),
    (datetime(2026, 3, 29, 10, 0), datetime(2026, 3, 30, 9, 0)),    # the Sunday clocks go forward
])
def test_next_allowed_moment_skips_quiet_hours_and_days(local, allowed):
    now = local.replace(tzinfo=BRUSSELS).astimezone(timezone.utc)
    expected = now if allowed is None else allowed.replace(tzinfo=BRUSSELS)
    moment = next_allowed_moment(now, POLICY, ZONE)
    assert moment == expected
    if allowed is None:
        assert moment is now


def test_quiet_hours_that_do_not_cross_midnight():
    policy = POLICY.parse_obj({**POLICY.dict(), "quiet_hours": {"start": "12:00", "end": "13:30"}, "quiet_days": []})
    noon = datetime(2026, 11, 22, 12, 15, tzinfo=BRUSSELS)
    assert next_allowed_moment(noon, policy, ZONE) == datetime(2026, 11, 22, 13, 30, tzinfo=BRUSSELS)
    assert next_allowed_moment(noon.replace(hour=14), policy, ZONE) == noon.replace(hour=14)


def test_a_policy_without_any_allowed_moment_is_refused():
    policy = POLICY.parse_obj({**POLICY.dict(), "quiet_hours": {"start": "20:00", "end": "09:00"},
                               "quiet_days": ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                                              "sunday"]})
    with pytest.raises(ValueError):
        next_allowed_moment(at(MONDAY), policy, ZONE)


# -- attempts, retries, fallback ------------------------------------------------------------------


def test_a_sent_message_is_marked_sent(session):
    customer = new_customer(session)
    message = queued(session, customer, new_invoice(session, customer, 8000, MONDAY - timedelta(days=1)))
    record_attempt(session, message, None, at(MONDAY, 10, 1), POLICY)
    assert (message.status, message.sent_at, message.attempts) == ("sent", at(MONDAY, 10, 1), 1)
    assert len(messages_of(session, message.reminder_id)) == 1


def test_retries_wait_5_then_30_minutes_then_the_next_channel_gets_it(session):
    customer = new_customer(session)
    message = queued(session, customer, new_invoice(session, customer, 8000, MONDAY - timedelta(days=1)))
    busy = SendError("Rasa did not answer in time", retryable=True)
    t0 = at(MONDAY)
    record_attempt(session, message, busy, t0, POLICY)
    assert (message.status, message.attempts, message.next_attempt_at) == ("pending", 1, t0 + timedelta(minutes=5))
    t1 = t0 + timedelta(minutes=5)
    record_attempt(session, message, busy, t1, POLICY)
    assert (message.status, message.attempts, message.next_attempt_at) == ("pending", 2, t1 + timedelta(minutes=30))
    t2 = t1 + timedelta(minutes=30)
    record_attempt(session, message, busy, t2, POLICY)  # the third attempt: the channel's last
    assert (message.status, message.attempts, message.last_error) == ("failed", 3, "Rasa did not answer in time")
    chat, email = messages_of(session, message.reminder_id)
    assert (email.channel, email.status, email.attempts, email.next_attempt_at) == ("email", "pending", 0, t2)


def test_later_retries_keep_the_last_wait(session):
    policy = POLICY.copy(update={"channels": POLICY.channels.copy(update={"attempts_per_channel": 4})})
    customer = new_customer(session)
    message = queued(session, customer, new_invoice(session, customer, 8000, MONDAY - timedelta(days=1)))
    busy = SendError("busy", retryable=True)
    now = at(MONDAY)
    waits = []
    for _ in range(3):
        record_attempt(session, message, busy, now, policy)
        waits.append(message.next_attempt_at - now)
        now = message.next_attempt_at
    assert waits == [timedelta(minutes=5), timedelta(minutes=30), timedelta(minutes=30)]
    assert message.status == "pending"


def test_an_error_that_will_not_go_away_falls_back_at_once(session):
    customer = new_customer(session)
    message = queued(session, customer, new_invoice(session, customer, 8000, MONDAY - timedelta(days=1)))
    record_attempt(session, message, SendError("401 Unauthorized", retryable=False), at(MONDAY), POLICY)
    assert (message.status, message.attempts) == ("failed", 1)
    _, email = messages_of(session, message.reminder_id)
    assert (email.channel, email.status, email.next_attempt_at) == ("email", "pending", at(MONDAY))


def test_fallback_follows_the_customers_order_and_skips_what_cannot_reach_them(session):
    customer = new_customer(session, channel="sms", chat=False)
    message = queued(session, customer, new_invoice(session, customer, 8000, MONDAY - timedelta(days=1)), "sms")
    refused = SendError("refused", retryable=False)
    record_attempt(session, message, refused, at(MONDAY), POLICY)
    # sms first (preferred), then chat (no conversation: skipped), then email
    _, email = messages_of(session, message.reminder_id)
    assert email.channel == "email"
    record_attempt(session, email, refused, at(MONDAY), POLICY)
    assert [(m.channel, m.status) for m in messages_of(session, message.reminder_id)] == [
        ("sms", "failed"), ("email", "failed")]


def test_when_no_other_channel_can_reach_the_customer_the_message_fails(session):
    customer = new_customer(session, email=None, phone=None)
    message = queued(session, customer, new_invoice(session, customer, 8000, MONDAY - timedelta(days=1)))
    record_attempt(session, message, SendError("refused", retryable=False), at(MONDAY), POLICY)
    assert [(m.channel, m.status) for m in messages_of(session, message.reminder_id)] == [("chat", "failed")]


def test_the_stored_error_is_short_and_holds_no_secrets():
    error = SendError("refused https://sms.example/v1?key=abc123 for https://pay.example/pay/REF.SIG token=xyz "
                      + "x" * 400, retryable=False)
    stored = safe_error(error)
    assert len(stored) == 300
    for secret in ("abc123", "REF.SIG", "xyz"):
        assert secret not in stored


# -- right before sending -------------------------------------------------------------------------


def test_a_message_for_a_bill_paid_in_between_is_cancelled(session):
    customer = new_customer(session)
    invoice = new_invoice(session, customer, 8000, MONDAY - timedelta(days=1))
    message = queued(session, customer, invoice)
    assert still_wanted(session, message) and message.status == "pending"
    pay(session, invoice, 8000)
    assert not still_wanted(session, message)
    assert message.status == "cancelled"


@pytest.mark.parametrize("change", ["disputed", "in_plan", "paid_but_status_open", "extended"])
def test_a_message_for_a_bill_put_on_hold_in_between_is_cancelled(session, change):
    customer = new_customer(session)
    invoice = new_invoice(session, customer, 8000, MONDAY - timedelta(days=1))
    message = queued(session, customer, invoice, now=at(MONDAY, 9))
    if change == "disputed":
        invoice.status = InvoiceStatus.DISPUTED
    elif change == "in_plan":
        create_plan(session, customer.id, 2, MONDAY + timedelta(days=3), ARRANGEMENTS, MONDAY, at(MONDAY))
    elif change == "paid_but_status_open":
        pay(session, invoice, 8000, status=None)
    else:
        grant_extension(session, customer.id, invoice.number, MONDAY + timedelta(days=7), ARRANGEMENTS, MONDAY,
                        at(MONDAY))
    session.flush()
    assert not still_wanted(session, message)
    assert message.status == "cancelled"


def test_an_instalment_paid_in_between_is_not_reminded(session):
    customer = new_customer(session)
    new_invoice(session, customer, 30000, MONDAY + timedelta(days=4))
    plan = create_plan(session, customer.id, 3, MONDAY + timedelta(days=1), ARRANGEMENTS, MONDAY, at(MONDAY))
    reminder, = [r for r in due_on(session, MONDAY + timedelta(days=2)) if r.subject == "instalment"
                 and r.subject_id == plan.instalments[0].id]
    message, = messages_of(session, reminder.id)
    assert still_wanted(session, message)
    plan.instalments[0].paid_cents = plan.instalments[0].amount_cents
    session.flush()
    assert not still_wanted(session, message) and message.status == "cancelled"


# -- what the message says ------------------------------------------------------------------------


def test_content_carries_the_open_amount_a_personal_link_and_a_signed_token(session, settings):
    customer = new_customer(session, first_name="Ann", email="ann@example.com", phone="+32 470 111111")
    invoice = new_invoice(session, customer, 12345, date(2026, 11, 13), InvoiceStatus.PARTIALLY_PAID, paid_cents=2345)
    reminder, = [r for r in due_on(session, MONDAY) if r.subject_id == invoice.id]
    message, = messages_of(session, reminder.id)
    content = content_for(session, message, settings, at(MONDAY), POLICY)
    assert content.response == "utter_reminder_second"
    assert (content.customer_name, content.email, content.phone) == ("Ann Customer", "ann@example.com", "+32 470 111111")
    assert content.conversation_id == f"conversation-{customer.id}"
    values = dict(content.values)
    assert values.pop("link").startswith("https://pay.example/pay/")
    expires = values.pop("expires")
    assert int(expires) == int((at(MONDAY) + timedelta(hours=1)).timestamp())  # delivered at once, or not at all
    assert values == {"customer_id": str(customer.id), "first_name": "Ann", "invoice_number": invoice.number,
                      "amount": "€100.00", "due_date": "13 November 2026", "stage": "second", "language": "en"}
    assert content.language == "en"
    assert content.reminder_token == sign(
        SECRET.encode(), "reminder", customer.id, invoice.number, "second", f"conversation-{customer.id}", expires
    )
    assert content.subject_response == "utter_reminder_email_subject"


@pytest.mark.parametrize("language, amount, due_date", [
    ("nl", "€\xa0100,00", "13 november 2026"),
    ("fr", "100,00\xa0€", "13 novembre 2026"),
])
def test_content_is_in_the_customers_language(session, settings, language, amount, due_date):
    customer = new_customer(session, first_name="An", language=language)
    invoice = new_invoice(session, customer, 12345, date(2026, 11, 13), InvoiceStatus.PARTIALLY_PAID, paid_cents=2345)
    reminder, = [r for r in due_on(session, MONDAY) if r.subject_id == invoice.id]
    message, = messages_of(session, reminder.id)
    content = content_for(session, message, settings, at(MONDAY), POLICY)
    assert content.language == language
    assert (content.values["amount"], content.values["due_date"], content.values["language"]) == (amount, due_date, language)


def test_several_bills_are_listed_as_the_customers_language_lists_them(session, settings):
    customer = new_customer(session, first_name="Camille", language="fr")
    first = new_invoice(session, customer, 7000, MONDAY - timedelta(days=12))
    second = new_invoice(session, customer, 8000, MONDAY - timedelta(days=1))
    reminder, = [r for r in due_on(session, MONDAY) if r.subject_id == first.id]
    message, = messages_of(session, reminder.id)
    content = content_for(session, message, settings, at(MONDAY), POLICY)
    assert content.values["bills"] == (
        f"{first.number} (70,00\xa0€, 11 novembre 2026) et {second.number} (80,00\xa0€, 22 novembre 2026)"
    )


def test_content_for_an_instalment_names_what_is_left_on_it(session, settings):
    customer = new_customer(session, chat=False)
    invoice = new_invoice(session, customer, 30001, MONDAY + timedelta(days=4))
    start = MONDAY + timedelta(days=1)
    plan = create_plan(session, customer.id, 3, start, ARRANGEMENTS, MONDAY, at(MONDAY))
    plan.instalments[0].paid_cents = 1
    session.flush()
    reminder, = [r for r in due_on(session, start + timedelta(days=1)) if r.subject == "instalment"]
    message, = messages_of(session, reminder.id)
    content = content_for(session, message, settings, at(start + timedelta(days=1)), POLICY)
    assert content.response == "utter_reminder_instalment_nudge"
    assert content.conversation_id is None
    # 300.01 in three parts: the first carries the odd cent (100.01), one cent of it is paid.
    assert content.values["amount"] == "€100.00"
    assert content.values["due_date"] == "24 November 2026"
    assert content.values["invoice_number"] == invoice.number
    assert content.values["link"].startswith("https://pay.example/pay/")


# -- claiming deliverable messages ----------------------------------------------------------------


def test_claim_takes_pending_due_messages_oldest_first(session):
    customer = new_customer(session)
    invoices = [new_invoice(session, customer, 8000, MONDAY - timedelta(days=1)) for _ in range(4)]
    now = at(MONDAY)
    for existing in session.execute(select(OutboxMessage).where(OutboxMessage.status == "pending")).scalars():
        existing.status = "sent"  # messages of other tests' data, out of the way
    late = queued(session, customer, invoices[0], now=now - timedelta(minutes=1))
    early = queued(session, customer, invoices[1], now=now - timedelta(hours=1))
    queued(session, customer, invoices[2], now=now + timedelta(minutes=1))  # not due yet
    sent = queued(session, customer, invoices[3], now=now - timedelta(hours=2))
    sent.status = "sent"
    session.flush()
    assert [m.id for m in claim_deliverable(session, now)] == [early.id, late.id]
    assert [m.id for m in claim_deliverable(session, now, limit=1)] == [early.id]


# -- whole runs on their own database -------------------------------------------------------------

PG_SCHEMA = "reminders_unit"


@pytest.fixture(params=BACKENDS)
def empty_database(request, tmp_path):
    """A migrated database without customers, committed to for real, on each backend."""
    if request.param == "sqlite":
        yield seeded_sqlite(tmp_path / "reminders.db", customers=0)
        return
    base_url = postgres_url()
    url = f"{base_url}{'&' if '?' in base_url else '?'}options=-csearch_path%3D{PG_SCHEMA}"
    with engine_for(base_url).begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {PG_SCHEMA}"))
    schema.upgrade(url)
    yield url
    engine_for(url).dispose()
    with engine_for(base_url).begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))


def postgresql_only(url: str) -> None:
    if not url.startswith("postgresql"):
        pytest.skip("row locks and concurrent inserts are PostgreSQL's; SQLite lets one writer at a time")


def test_a_run_sends_retries_falls_back_and_sums_it_up(empty_database, settings):
    factory = session_factory(empty_database)
    with factory.begin() as session:
        ann = new_customer(session, first_name="Ann", channel="chat")
        ann_bill = new_invoice(session, ann, 8000, MONDAY - timedelta(days=1))              # nudge → chat
        ben = new_customer(session, first_name="Ben", channel="email", email="ben@example.com", chat=False)
        new_invoice(session, ben, 9000, MONDAY - timedelta(days=10))                        # second → email, busy
        cas = new_customer(session, first_name="Cas", channel="chat", email="cas@example.com")
        new_invoice(session, cas, 7000, MONDAY - timedelta(days=25))                        # review → chat refuses → email
        dirk = new_customer(session, first_name="Dirk", channel="sms", chat=False, email=None, phone=None)
        new_invoice(session, dirk, 6000, MONDAY - timedelta(days=3))                        # nudge, unreachable
        eva = new_customer(session, first_name="Eva", channel="sms", heads_up=True)
        new_invoice(session, eva, 5000, MONDAY + timedelta(days=2))                         # heads-up → sms
        fay = new_customer(session, first_name="Fay")
        new_invoice(session, fay, 5000, MONDAY - timedelta(days=5), InvoiceStatus.PAID, paid_cents=5000)
        cas_conversation = f"conversation-{cas.id}"
    chat = FakeSender("chat", SendError("404 no such conversation", retryable=False),
                      only=lambda content: content.conversation_id == cas_conversation)
    email = FakeSender("email", SendError("421 try later", retryable=True),
                       only=lambda content: content.email == "ben@example.com")
    sms = FakeSender("sms")
    senders = {"chat": chat, "email": email, "sms": sms}
    lines = []
    counted_before = {channel: REGISTRY.get_sample_value("settle_reminders_sent_total", {"channel": channel}) or 0
                      for channel in senders}

    summary = run(factory, POLICY, ARRANGEMENTS, senders, settings, at(MONDAY), progress=lines.append)

    assert summary.claimed == {"review": 1, "second": 1, "nudge": 2, "heads_up": 1}
    assert summary.sent == {"chat": 1, "email": 1, "sms": 1}
    assert {channel: REGISTRY.get_sample_value("settle_reminders_sent_total", {"channel": channel}) - counted_before[channel]
            for channel in senders} == {"chat": 1, "email": 1, "sms": 1}  # Prometheus's count (settle/metrics.py)
    assert (summary.failed, summary.retried, summary.fell_back, summary.cancelled) == (1, 1, 1, 0)
    assert (summary.flagged_for_review, summary.waiting_for_quiet_hours) == (1, 0)
    assert [c.values["first_name"] for c in chat.sent] == ["Ann"]
    assert chat.sent[0].values["invoice_number"] == ann_bill.number
    assert [c.values["first_name"] for c in email.sent] == ["Cas"]
    assert [c.values["stage"] for c in sms.sent] == ["heads_up"]
    assert lines and any("sent" in line for line in lines)
    assert summary.lines()[0].startswith("Claimed: ")

    with factory() as session:
        ben_message = session.execute(
            select(OutboxMessage).join(Reminder).where(Reminder.customer_id == ben.id)
        ).scalar_one()
        assert (ben_message.status, ben_message.attempts) == ("pending", 1)
        assert ben_message.next_attempt_at == at(MONDAY) + timedelta(minutes=5)

    # Five minutes later only Ben's retry is due; nothing is claimed or sent twice.
    again = run(factory, POLICY, ARRANGEMENTS, senders, settings, at(MONDAY, 10, 5))
    assert again.claimed == {} and again.sent == {} and again.retried == 1
    assert len(chat.sent) + len(email.sent) + len(sms.sent) == 3


def test_a_dry_run_stores_and_sends_nothing(empty_database, settings):
    factory = session_factory(empty_database)
    with factory.begin() as session:
        customer = new_customer(session)
        new_invoice(session, customer, 8000, MONDAY - timedelta(days=30))
    chat = FakeSender("chat")
    summary = run(factory, POLICY, ARRANGEMENTS, {"chat": chat}, settings, at(MONDAY), dry_run=True)
    assert (summary.claimed, summary.flagged_for_review, summary.sent) == ({"review": 1}, 1, {})
    assert "Dry run" in summary.lines()[-1]
    assert chat.tried == []
    with factory() as session:
        assert session.execute(select(func.count()).select_from(Reminder)).scalar_one() == 0
        assert session.execute(select(func.count()).select_from(OutboxMessage)).scalar_one() == 0


def test_quiet_hours_hold_messages_and_a_bill_paid_meanwhile_is_never_reminded(empty_database, settings):
    factory = session_factory(empty_database)
    sunday = MONDAY - timedelta(days=1)
    with factory.begin() as session:
        ann = new_customer(session, first_name="Ann")
        ben = new_customer(session, first_name="Ben")
        new_invoice(session, ann, 8000, sunday - timedelta(days=1))
        bens = new_invoice(session, ben, 8000, sunday - timedelta(days=1))
    chat = FakeSender("chat")

    sunday_run = run(factory, POLICY, ARRANGEMENTS, {"chat": chat}, settings, at(sunday, 11))
    assert sunday_run.claimed == {"nudge": 2}
    assert (sunday_run.sent, sunday_run.waiting_for_quiet_hours) == ({}, 2)
    assert chat.tried == []

    with factory.begin() as session:
        pay(session, session.get(Invoice, bens.id), 8000)
    early = run(factory, POLICY, ARRANGEMENTS, {"chat": chat}, settings, at(MONDAY, 8, 30))
    assert (early.sent, early.waiting_for_quiet_hours) == ({}, 2)
    monday_run = run(factory, POLICY, ARRANGEMENTS, {"chat": chat}, settings, at(MONDAY, 9, 0))
    assert monday_run.claimed == {}
    assert (monday_run.sent, monday_run.cancelled) == ({"chat": 1}, 1)
    assert [c.values["first_name"] for c in chat.sent] == ["Ann"]


def test_a_channel_without_a_sender_falls_back(empty_database, settings):
    factory = session_factory(empty_database)
    with factory.begin() as session:
        customer = new_customer(session, channel="sms")
        new_invoice(session, customer, 8000, MONDAY - timedelta(days=1))
    chat = FakeSender("chat")
    summary = run(factory, POLICY, ARRANGEMENTS, {"chat": chat}, settings, at(MONDAY))
    assert (summary.sent, summary.fell_back) == ({"chat": 1}, 1)
    with factory() as session:
        sms = session.execute(select(OutboxMessage).where(OutboxMessage.channel == "sms")).scalar_one()
        assert "no sender" in sms.last_error


def finished_within(thread: threading.Thread, seconds: float) -> bool:
    """Polls with sleeps: Python 3.10's timed join waits for a wall-clock deadline, which never comes under faketime."""
    deadline = time.monotonic() + seconds
    while thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    return not thread.is_alive()


def test_two_selections_at_once_claim_each_reminder_once(empty_database):
    postgresql_only(empty_database)
    factory = session_factory(empty_database)
    with factory.begin() as session:
        customer = new_customer(session, heads_up=True)
        for days_late in (-2, 1, 12, 30):
            new_invoice(session, customer, 8000, MONDAY - timedelta(days=days_late))
    first, second = factory(), factory()
    try:
        claimed_first = select_due(first, POLICY, MONDAY, at(MONDAY), ARRANGEMENTS, ZONE)
        assert sorted(r.stage for r in claimed_first) == ["heads_up", "nudge", "review", "second"]
        result = {}

        def select_concurrently():
            result["claimed"] = select_due(second, POLICY, MONDAY, at(MONDAY), ARRANGEMENTS, ZONE)
            second.commit()

        worker = threading.Thread(target=select_concurrently)
        worker.start()
        time.sleep(1)
        assert worker.is_alive()  # waiting on the first run's uncommitted reminders
        first.commit()
        assert finished_within(worker, seconds=10)
        assert result["claimed"] == []
    finally:
        first.close()
        second.close()
    with factory() as session:
        assert session.execute(select(func.count()).select_from(Reminder)).scalar_one() == 4
        assert session.execute(select(func.count()).select_from(OutboxMessage)).scalar_one() == 1  # one customer


def test_two_workers_never_claim_the_same_message(empty_database):
    postgresql_only(empty_database)
    factory = session_factory(empty_database)
    with factory.begin() as session:
        for _ in range(3):
            new_invoice(session, new_customer(session), 8000, MONDAY - timedelta(days=1))
        select_due(session, POLICY, MONDAY, at(MONDAY), ARRANGEMENTS, ZONE)
    with factory() as first, factory() as second:
        mine = claim_deliverable(first, at(MONDAY), limit=2)
        theirs = claim_deliverable(second, at(MONDAY))
        assert len(mine) == 2 and len(theirs) == 1
        assert not {m.id for m in mine} & {m.id for m in theirs}
        first.rollback()
        second.rollback()
        assert len(claim_deliverable(second, at(MONDAY))) == 3


def test_run_summary_lines_read_well():
    summary = RunSummary(claimed={"nudge": 2}, sent={"email": 1}, failed=1)
    lines = summary.lines()
    assert lines[0] == "Claimed: nudge 2"
    assert "Sent: email 1" in lines


def test_a_message_for_a_customer_who_reported_hardship_in_between_is_cancelled(session):
    from settle.arrangements.hardship import report_hardship

    customer = new_customer(session)
    invoice = new_invoice(session, customer, 8000, MONDAY - timedelta(days=1))
    message = queued(session, customer, invoice)
    reminder = session.get(Reminder, message.reminder_id)
    assert still_wanted(session, message)
    report_hardship(session, customer.id, reminder.created_at + timedelta(minutes=5), ZoneInfo("Europe/Brussels"))
    session.flush()
    assert not still_wanted(session, message) and message.status == "cancelled"


# -- one message per customer a day ---------------------------------------------------------------


def sent_by(senders: dict) -> list[ReminderContent]:
    return [content for sender in senders.values() for content in sender.sent]


def test_several_bills_at_different_stages_make_one_message_in_the_latest_tone_with_one_link_for_all(
        empty_database, settings):
    factory = session_factory(empty_database)
    with factory.begin() as session:
        ann = new_customer(session, first_name="Ann")
        nudged = new_invoice(session, ann, 8000, MONDAY - timedelta(days=1))            # nudge
        second = new_invoice(session, ann, 9050, MONDAY - timedelta(days=12), InvoiceStatus.PARTIALLY_PAID,
                             paid_cents=1050)                                           # second, €80.00 left
        review = new_invoice(session, ann, 7000, MONDAY - timedelta(days=30))           # review
        coming = new_invoice(session, ann, 6000, MONDAY + timedelta(days=20))           # not due yet
        new_invoice(session, ann, 5000, MONDAY - timedelta(days=40), InvoiceStatus.DISPUTED)  # on hold
        numbers = [review.number, second.number, nudged.number, coming.number]          # oldest first
    senders = {"chat": FakeSender("chat"), "email": FakeSender("email"), "sms": FakeSender("sms")}

    summary = run(factory, POLICY, ARRANGEMENTS, senders, settings, at(MONDAY))

    assert summary.claimed == {"review": 1, "second": 1, "nudge": 1}
    assert summary.flagged_for_review == 1
    message, = sent_by(senders)
    assert message.response == "utter_reminder_review_several"
    assert message.subject_response == "utter_reminder_email_subject_several"
    assert message.values["stage"] == "review"
    assert message.values["bill_count"] == "4"
    assert message.values["amount"] == "€290.00"       # 70 + 80 + 80 + 60; the disputed bill is left out
    assert message.values["bills"] == (
        f"{review.number} (€70.00, 24 October 2026), {second.number} (€80.00, 11 November 2026), "
        f"{nudged.number} (€80.00, 22 November 2026), and {coming.number} (€60.00, 13 December 2026)"
    )
    assert (message.values["invoice_number"], message.values["due_date"]) == (review.number, "24 October 2026")
    with factory() as session:
        link = open_link(session, message.values["link"].rsplit("/", 1)[1], settings, at(MONDAY))
        assert sorted(invoice.number for invoice in link.invoices) == sorted(numbers)
        assert link.amount_cents == 29000
        assert {stage: stored_stages(session, bill.id) for stage, bill in
                (("nudge", nudged), ("second", second), ("review", review), ("none", coming))} == {
            "nudge": {"nudge"}, "second": {"second"}, "review": {"review"}, "none": set()}

    # Later the same day nothing more goes out, on any channel.
    assert run(factory, POLICY, ARRANGEMENTS, senders, settings, at(MONDAY, 15)).claimed == {}
    assert len(sent_by(senders)) == 1

    # Nine days later yesterday's nudge reaches its second stage: one message again, still in the review tone.
    later = run(factory, POLICY, ARRANGEMENTS, senders, settings, at(MONDAY + timedelta(days=9)))
    assert later.claimed == {"second": 1}
    assert [(m.response, m.values["bill_count"]) for m in sent_by(senders)[1:]] == [("utter_reminder_review_several", "4")]


def test_one_bill_keeps_its_own_wording_and_a_link_for_it(empty_database, settings):
    factory = session_factory(empty_database)
    with factory.begin() as session:
        ben = new_customer(session, first_name="Ben", channel="email", chat=False)
        bill = new_invoice(session, ben, 8000, MONDAY - timedelta(days=1))
    email = FakeSender("email")
    run(factory, POLICY, ARRANGEMENTS, {"email": email}, settings, at(MONDAY))
    message, = email.sent
    assert (message.response, message.subject_response) == ("utter_reminder_nudge", "utter_reminder_email_subject")
    assert (message.values["invoice_number"], message.values["amount"]) == (bill.number, "€80.00")
    assert "bills" not in message.values


def test_a_customer_reminded_this_morning_hears_nothing_more_until_tomorrow(empty_database, settings):
    factory = session_factory(empty_database)
    with factory.begin() as session:
        cas = new_customer(session, first_name="Cas")
        new_invoice(session, cas, 8000, MONDAY - timedelta(days=1))
    chat = FakeSender("chat")
    assert run(factory, POLICY, ARRANGEMENTS, {"chat": chat}, settings, at(MONDAY, 9)).claimed == {"nudge": 1}
    with factory.begin() as session:  # a bill that turns out late is added during the day
        late = new_invoice(session, session.get(Customer, cas.id), 4000, MONDAY - timedelta(days=11))

    assert run(factory, POLICY, ARRANGEMENTS, {"chat": chat}, settings, at(MONDAY, 16)).claimed == {}
    tomorrow = run(factory, POLICY, ARRANGEMENTS, {"chat": chat}, settings, at(MONDAY + timedelta(days=1), 9))
    assert tomorrow.claimed == {"second": 1}
    assert len(chat.sent) == 2
    assert chat.sent[1].values["bills"].startswith(f"{late.number} (€40.00, ")


def test_a_message_goes_out_while_one_of_its_bills_is_still_open(empty_database, settings):
    factory = session_factory(empty_database)
    with factory.begin() as session:
        dirk = new_customer(session, first_name="Dirk")
        review = new_invoice(session, dirk, 7000, MONDAY - timedelta(days=30))
        nudged = new_invoice(session, dirk, 8000, MONDAY - timedelta(days=2))
    sunday = MONDAY - timedelta(days=1)
    chat = FakeSender("chat")
    # Chosen on Sunday (a quiet day), sent on Monday morning; the late bill is paid in between.
    assert run(factory, POLICY, ARRANGEMENTS, {"chat": chat}, settings, at(sunday, 11)).claimed == {"review": 1, "nudge": 1}
    with factory.begin() as session:
        pay(session, session.get(Invoice, review.id), 7000)
    monday = run(factory, POLICY, ARRANGEMENTS, {"chat": chat}, settings, at(MONDAY, 9))
    message, = chat.sent
    assert (monday.sent, monday.cancelled) == ({"chat": 1}, 0)
    assert (message.values["invoice_number"], message.values["amount"]) == (nudged.number, "€80.00")


def test_over_the_demo_data_every_customer_gets_at_most_one_message_per_run(tmp_path, settings):
    factory = session_factory(seeded_sqlite(tmp_path / "demo.db", customers=200))
    senders = {"chat": FakeSender("chat"), "email": FakeSender("email"), "sms": FakeSender("sms")}
    monday = TODAY + timedelta(days=1)  # the demo data is seen from Sunday, when nothing goes out

    summary = run(factory, POLICY, ARRANGEMENTS, senders, settings, at(monday))

    per_customer = Counter(content.values["customer_id"] for content in sent_by(senders))
    assert len(per_customer) > 50 and max(per_customer.values()) == 1
    with factory() as session:
        this_run = Reminder.created_at >= HISTORY_ENDS  # the demo history's reminders are from before today
        reminders_per_customer = Counter(session.execute(select(Reminder.customer_id).where(this_run)).scalars())
        assert sum(summary.claimed.values()) == sum(reminders_per_customer.values())
        assert max(reminders_per_customer.values()) > 1  # some customers had several bills to remind of
        messages_per_customer = Counter(session.execute(
            select(Reminder.customer_id).join(OutboxMessage, OutboxMessage.reminder_id == Reminder.id)
            .where(OutboxMessage.status != "failed", this_run)
        ).scalars())
        assert max(messages_per_customer.values()) == 1
    several = [content for content in sent_by(senders) if "bills" in content.values]
    assert several and all(c.response.endswith("_several") for c in several)

    again = run(factory, POLICY, ARRANGEMENTS, senders, settings, at(monday, 15))
    assert (again.claimed, again.sent) == ({}, {})
