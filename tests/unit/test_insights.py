"""The KPI figures on small hand-built data with known answers (docs/kpis.md defines each one), on SQLite
and PostgreSQL; and the events they need, recorded where they happen.

The figures' period is the first half of November 2026 in Brussels (UTC+1 then): it starts at
2026-10-31 23:00 UTC and ends before 2026-11-15 23:00 UTC. The data puts rows just inside and just outside
both ends. "Now" is the tests' NOW, 2026-11-22 10:00 UTC.
"""
from __future__ import annotations

import csv
import io
import os
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import func, literal, select, text

from bench.kpis import figures_timing
from settle import schema
from settle.clock import FixedClock
from settle.config import Settings
from settle.db import engine_for, session_factory
from settle.errors import BadPeriod
from settle.identity import services as identity
from settle.identity.verification import Answers
from settle.insights import services
from settle.insights.export import rows, write_csv
from settle.insights.figures import (
    DAY,
    ChoiceCount,
    Counted,
    Deliveries,
    Median,
    PaidAfter,
    Share,
    seconds_between,
    seconds_within,
)
from settle.models import (
    Agent,
    Channel,
    Checkout,
    Conversation,
    Customer,
    Dispute,
    DisputeStatus,
    Escalation,
    EscalationMessage,
    EscalationReason,
    Extension,
    HardshipReport,
    Instalment,
    InstalmentPlan,
    Invoice,
    InvoiceStatus,
    LinkStatus,
    MessageAuthor,
    OptOutSource,
    OutboxMessage,
    OutboxStatus,
    Payment,
    PaymentLink,
    PlanStatus,
    ReceivedPayment,
    Reminder,
    ReminderChoice,
    ReminderSubject,
    UTCDateTime,
)
from settle.payments import services as payments
from settle.payments.incoming import receive_payment
from settle.tooling.seed import PERSONAS
from settle.unit_of_work import UnitOfWork
from tests.conftest import BACKENDS, HISTORY_ENDS, NOW, postgres_url, seeded_sqlite
from tests.unit.builders import add_invoice

PG_SCHEMA = "insights_unit"
FIRST_HALF_OF_NOVEMBER = (date(2026, 11, 1), date(2026, 11, 15))
#: The period's first and last moments, and the moments just outside it.
OPENS = datetime(2026, 10, 31, 23, 0, tzinfo=timezone.utc)
BEFORE = OPENS - timedelta(seconds=1)
LAST = datetime(2026, 11, 15, 22, 59, 59, tzinfo=timezone.utc)
AFTER = LAST + timedelta(seconds=1)


def utc(day: int, hour: int = 9, minute: int = 0, second: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, second, tzinfo=timezone.utc)


def uow_on(url: str, moment: datetime = NOW) -> UnitOfWork:
    return UnitOfWork(replace(Settings.from_environment(), database_url=url), FixedClock(moment))


# -- The hand-built data ----------------------------------------------------------------------------


def customer(session, number: str) -> Customer:
    person = Customer(customer_number=number, first_name="Test", last_name="Customer", postcode="1000",
                      date_of_birth=date(1980, 1, 1), municipality="Brussel", region="Brussels", preferred_channel=Channel.CHAT)
    session.add(person)
    session.flush()
    return person


def paid_invoice(session, person: Customer, number: str, paid_at: datetime, due: date = date(2026, 11, 1)):
    invoice = add_invoice(session, person.id, number, 10_000, due, InvoiceStatus.PAID)
    session.add(Payment(invoice_id=invoice.id, amount_cents=10_000, paid_at=paid_at, method="card", reference=f"P-{number}"))
    session.flush()
    return invoice


def build_containment_and_agents(session, ann: Customer) -> None:
    for name, started, verified in [
        ("conv-a", OPENS, True), ("conv-b", utc(5), False), ("conv-c", utc(10), True), ("conv-d", LAST, False),
        ("conv-e", utc(12), False), ("conv-before", BEFORE, True), ("conv-after", AFTER, False),
    ]:
        session.add(Conversation(conversation_id=name, started_at=started, last_message_at=started, messages=3,
                                 customer_id=ann.id if verified else None, verified_at=started if verified else None))
    dana = Agent(email="dana@example.com", name="Dana", password_hash="x", created_at=utc(1, month=10))
    joris = Agent(email="joris@example.com", name="Joris", password_hash="x", created_at=utc(1, month=10))
    session.add_all([dana, joris])
    session.flush()
    escalations = {
        "a": Escalation(reason=EscalationReason.ASKED, conversation_id="conv-a", created_at=utc(1), agent_id=dana.id,
                        callback_phone="+32 470 123456", callback_at=utc(2), callback_done_at=utc(2, 10), callback_done_by=dana.id),
        "old": Escalation(reason=EscalationReason.ASKED, conversation_id="conv-not-noted", created_at=utc(3, 10), agent_id=dana.id,
                          callback_phone="+32 470 654321", callback_at=utc(4)),
        "d": Escalation(reason=EscalationReason.REPEATED_FALLBACK, conversation_id="conv-d", created_at=LAST),
        "before": Escalation(reason=EscalationReason.UPSET, conversation_id="conv-before", created_at=BEFORE, agent_id=joris.id,
                             callback_phone="+32 470 111111", callback_at=BEFORE + timedelta(hours=1),
                             callback_done_at=BEFORE + timedelta(hours=2), callback_done_by=joris.id),
    }
    session.add_all(escalations.values())
    session.flush()
    for key, author, at in [
        ("a", MessageAuthor.CUSTOMER, utc(1, 9, 1)), ("a", MessageAuthor.NOTE, utc(1, 9, 2)),
        ("a", MessageAuthor.AGENT, utc(1, 9, 4)), ("a", MessageAuthor.AGENT, utc(1, 9, 10)),
        ("old", MessageAuthor.AGENT, utc(3, 10, 10)), ("before", MessageAuthor.AGENT, BEFORE + timedelta(minutes=1)),
    ]:
        session.add(EscalationMessage(escalation_id=escalations[key].id, author=author, text="…", created_at=at,
                                      agent_id=None if author == MessageAuthor.CUSTOMER else dana.id))


def build_paying(session, ann: Customer) -> None:
    for reference, created, opened, paid in [
        ("L1", utc(2, 10), utc(2, 10, 5), utc(2, 11)),
        ("L2", utc(4, 10), utc(4, 12), utc(6, 10)),
        ("L3", utc(8, 10), utc(8, 11), None),
        ("L-before", BEFORE, BEFORE, BEFORE + timedelta(hours=1)),
    ]:
        session.add(PaymentLink(reference=reference, customer_id=ann.id, amount_cents=5_000, created_at=created,
                                expires_at=created + timedelta(days=7), first_opened_at=opened, paid_at=paid,
                                status=LinkStatus.PAID if paid else LinkStatus.OPEN))
    for reference, source, method, cents, at in [
        ("mollie:1", "mollie", "creditcard", 10_000, OPENS), ("mollie:2", "mollie", "creditcard", 5_050, LAST),
        ("bank:1", "bank_statement", "bank_transfer", 2_000, utc(7)), ("mollie:early", "mollie", "creditcard", 99_900, BEFORE),
    ]:
        session.add(ReceivedPayment(external_reference=reference, source=source, method=method, amount_cents=cents,
                                    received_at=at, customer_id=ann.id))


def build_reminders(session, ann: Customer, plan_instalment: Instalment) -> None:
    inv1 = paid_invoice(session, ann, "R-INV-1", utc(5, 9))             # exactly 3 days after its reminder
    inv2 = add_invoice(session, ann.id, "R-INV-2", 10_000, date(2026, 10, 30))
    inv3 = paid_invoice(session, ann, "R-INV-3", utc(13, 9, 0, 1))      # 3 days and a second after
    inv4 = add_invoice(session, ann.id, "R-INV-4", 10_000, date(2026, 11, 10))
    inv5 = add_invoice(session, ann.id, "R-INV-5", 10_000, date(2026, 10, 20))
    for subject, subject_id, stage, order, created, flagged, outbox in [
        (ReminderSubject.INVOICE, inv1.id, "nudge", 1, utc(2, 8), False,
         [("chat", OutboxStatus.FAILED, None), ("email", OutboxStatus.SENT, utc(2, 9))]),
        (ReminderSubject.INVOICE, inv2.id, "nudge", 1, utc(3, 8), False, [("chat", OutboxStatus.SENT, utc(3, 9))]),
        (ReminderSubject.INSTALMENT, plan_instalment.id, "nudge", 1, utc(3, 8), False, [("chat", OutboxStatus.SENT, utc(3, 9))]),
        (ReminderSubject.INVOICE, inv3.id, "second", 2, utc(10, 8), False, [("email", OutboxStatus.SENT, utc(10, 9))]),
        (ReminderSubject.INVOICE, inv4.id, "nudge", 1, utc(14, 8), False, [("sms", OutboxStatus.FAILED, None)]),
        (ReminderSubject.INVOICE, inv5.id, "second", 2, utc(14, 8), False, []),   # named in another reminder's message
        (ReminderSubject.INVOICE, inv5.id, "review", 3, utc(15, 8), True, [("email", OutboxStatus.SENT, utc(15, 9))]),
        (ReminderSubject.INVOICE, inv2.id, "second", 2, BEFORE, False, [("chat", OutboxStatus.SENT, BEFORE)]),
    ]:
        reminder = Reminder(subject=subject, subject_id=subject_id, customer_id=ann.id, stage=stage, stage_order=order,
                            created_at=created, flagged_for_review=flagged)
        session.add(reminder)
        session.flush()
        for channel, status, sent_at in outbox:
            session.add(OutboxMessage(reminder_id=reminder.id, channel=Channel(channel), status=status, attempts=1,
                                      next_attempt_at=created, sent_at=sent_at))


def build_reminder_choices(session, ann: Customer, ben: Customer) -> None:
    """Opt-outs and back in, inside and just outside the period."""
    for person, channel, opted_out, source, moment in (
        (ann, "sms", True, OptOutSource.LINK, OPENS),           # the period's first moment
        (ben, "sms", True, OptOutSource.LINK, utc(3)),
        (ann, "email", True, OptOutSource.CHAT, utc(4)),
        (ben, "all", True, OptOutSource.CONSOLE, utc(6)),
        (ann, "sms", False, OptOutSource.CHAT, LAST),           # back in, at the period's last moment
        (ann, "all", True, OptOutSource.CHAT, BEFORE),          # outside: before
        (ben, "email", True, OptOutSource.LINK, AFTER),         # outside: after
    ):
        session.add(ReminderChoice(customer_id=person.id, channel=channel, opted_out=opted_out, source=source,
                                   created_at=moment))
    session.flush()


def build_cant_pay_now(session, ann: Customer) -> Instalment:
    """Plans, instalments, extensions, hardship and disputes; returns the instalment a reminder was sent for."""
    plans = {
        "active": InstalmentPlan(reference="PLAN-1", customer_id=ann.id, total_cents=30_000, created_at=utc(2)),
        "completed": InstalmentPlan(reference="PLAN-2", customer_id=ann.id, total_cents=10_000, created_at=utc(5),
                                    status=PlanStatus.COMPLETED, ended_at=utc(12)),
        "broken": InstalmentPlan(reference="PLAN-3", customer_id=ann.id, total_cents=10_000, created_at=utc(20, month=10),
                                 status=PlanStatus.BROKEN, ended_at=utc(9)),
        "cancelled": InstalmentPlan(reference="PLAN-4", customer_id=ann.id, total_cents=10_000, created_at=utc(1, month=10),
                                    status=PlanStatus.CANCELLED, ended_at=utc(2, month=10)),
    }
    session.add_all(plans.values())
    session.flush()
    parts = [  # plan, due, paid cents of 5000, paid at
        ("active", date(2026, 11, 4), 5_000, utc(4)),                          # on time
        ("active", date(2026, 11, 10), 5_000, utc(10, 22, 59, 59)),            # 23:59:59 in Brussels: on time
        ("active", date(2026, 11, 12), 5_000, utc(12, 23)),                    # midnight in Brussels: late
        ("active", date(2026, 11, 14), 0, None),                               # not paid: late
        ("active", date(2026, 11, 6), 5_000, None),                            # paid before the moment was recorded
        ("active", date(2026, 11, 25), 0, None),                               # not due yet, and after the period
        ("cancelled", date(2026, 11, 7), 0, None),                             # its plan was cancelled
    ]
    instalments = []
    for number, (plan, due, paid_cents, paid_at) in enumerate(parts, start=1):
        instalments.append(Instalment(plan_id=plans[plan].id, number=number, due_date=due, amount_cents=5_000,
                                      paid_cents=paid_cents, paid_at=paid_at))
    session.add_all(instalments)
    extended = [  # created, new due date, paid at (None: unpaid)
        (utc(2), date(2026, 11, 9), utc(9, 22, 59, 59)),    # paid by the end of the new day: kept
        (utc(3), date(2026, 11, 10), utc(10, 23)),          # paid a minute into the next day (Brussels): not kept
        (utc(4), date(2026, 11, 12), None),                 # not paid: not kept
        (utc(14), date(2026, 11, 28), None),                # new date still ahead: not decided
        (BEFORE, date(2026, 11, 5), utc(4)),                # granted before the period
    ]
    for n, (created, new_due, paid_at) in enumerate(extended):
        invoice = (paid_invoice(session, ann, f"E-INV-{n}", paid_at) if paid_at
                   else add_invoice(session, ann.id, f"E-INV-{n}", 10_000, date(2026, 10, 28)))
        session.add(Extension(invoice_id=invoice.id, original_due_date=date(2026, 10, 28), new_due_date=new_due, created_at=created))
    session.add_all(HardshipReport(customer_id=ann.id, reported_at=at) for at in (utc(3), LAST, AFTER))
    disputed = add_invoice(session, ann.id, "D-INV", 10_000, date(2026, 11, 1), InvoiceStatus.DISPUTED)
    for reference, status, created in [("DIS-1", DisputeStatus.OPEN, utc(3)), ("DIS-2", DisputeStatus.RESOLVED, utc(6)),
                                       ("DIS-0", DisputeStatus.RESOLVED, BEFORE)]:
        session.add(Dispute(reference=reference, invoice_id=disputed.id, customer_id=ann.id, reason="wrong meter reading",
                            status=status, previous_invoice_status=InvoiceStatus.OPEN, created_at=created))
    session.flush()
    return instalments[0]


@pytest.fixture(scope="module", params=BACKENDS)
def known_data(request, tmp_path_factory) -> str:
    """A database holding only the hand-built rows, on each backend."""
    if request.param == "sqlite":
        url = seeded_sqlite(tmp_path_factory.mktemp("insights") / "insights.db", customers=0)
    else:
        base_url = postgres_url()
        url = f"{base_url}{'&' if '?' in base_url else '?'}options=-csearch_path%3D{PG_SCHEMA}"
        with engine_for(base_url).begin() as connection:
            connection.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
            connection.execute(text(f"CREATE SCHEMA {PG_SCHEMA}"))
        schema.upgrade(url)
    with session_factory(url).begin() as session:
        ann = customer(session, "81000001")
        build_containment_and_agents(session, ann)
        build_paying(session, ann)
        instalment = build_cant_pay_now(session, ann)
        build_reminders(session, ann, instalment)
        build_reminder_choices(session, ann, customer(session, "81000002"))
    yield url
    if request.param != "sqlite":
        engine_for(url).dispose()
        with engine_for(postgres_url()).begin() as connection:
            connection.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))


@pytest.fixture(scope="module")
def november(known_data):
    return services.figures_for(uow_on(known_data), *FIRST_HALF_OF_NOVEMBER)


# -- The figures ------------------------------------------------------------------------------------


def test_containment_counts_the_conversations_begun_in_the_period(november):
    seen = november.containment
    assert seen.conversations == 5
    assert (seen.verified, seen.anonymous) == (Share(2, 5), Share(3, 5))
    assert seen.verified.percent == Decimal("40.0")
    assert (seen.escalated.percent, seen.without_a_person.percent) == (Decimal("40.0"), Decimal("60.0"))
    assert seen.escalations_by_reason == (Counted("asked", 2), Counted("repeated_fallback", 1))


def test_paying_follows_the_links_issued_in_the_period(november):
    seen = november.paying
    assert seen.links_issued == 3
    assert seen.links_opened == Share(3, 3)
    assert seen.links_paid == Share(2, 3) and seen.links_paid.percent == Decimal("66.7")
    assert seen.time_to_pay == Median(seconds=(3_600 + 2 * 86_400) // 2, cases=2)


def test_money_collected_is_summed_by_source_and_method(november):
    seen = november.paying
    assert [(c.source, c.method, c.payments, c.amount) for c in seen.collected] == [
        ("bank_statement", "bank_transfer", 1, Decimal("20.00")),
        ("mollie", "creditcard", 2, Decimal("150.50")),
    ]
    assert seen.collected_total == Decimal("170.50")


def test_reminders_are_counted_by_stage_and_channel(november):
    seen = november.reached_out_first
    assert seen.reminders_by_stage == (Counted("nudge", 4), Counted("second", 2), Counted("review", 1))
    assert seen.deliveries == (
        Deliveries("nudge", "chat", sent=2, failed=1),
        Deliveries("nudge", "email", sent=1, failed=0),
        Deliveries("nudge", "sms", sent=0, failed=1),
        Deliveries("second", "email", sent=1, failed=0),
        Deliveries("review", "email", sent=1, failed=0),
    )
    assert (seen.reached_nobody, seen.flagged_for_review) == (1, 1)


def test_paid_after_a_reminder_counts_only_windows_that_have_passed(november):
    assert november.reached_out_first.paid_after == (
        PaidAfter("nudge", "chat", Share(1, 2), Share(1, 2), Share(1, 2)),    # the instalment paid; a bill not
        PaidAfter("nudge", "email", Share(1, 1), Share(1, 1), Share(1, 1)),   # paid exactly 72 hours later
        PaidAfter("second", "email", Share(0, 1), Share(1, 1), Share(0, 0)),  # a second too late for 3 days;
        PaidAfter("review", "email", Share(0, 1), Share(0, 1), Share(0, 0)),  # 14 days are not over for these
    )
    assert november.reached_out_first.paid_after[-1].within_14_days.percent is None


def test_opt_outs_are_counted_by_channel_and_source_inside_the_period(november):
    seen = november.reached_out_first
    assert seen.opt_outs == (
        ChoiceCount("all", "console", 1),
        ChoiceCount("email", "chat", 1),
        ChoiceCount("sms", "link", 2),
    )
    assert seen.opt_ins == (ChoiceCount("sms", "chat", 1),)


def test_cant_pay_now_says_what_was_agreed_and_whether_it_held(november):
    seen = november.cant_pay_now
    assert (seen.plans_set_up, seen.plans_completed, seen.plans_broken) == (2, 1, 1)
    assert seen.instalments_on_time == Share(2, 4)
    assert seen.extensions_granted == 4
    assert seen.extensions_kept == Share(1, 3) and seen.extensions_kept.percent == Decimal("33.3")
    assert seen.hardship_reports == 2
    assert (seen.disputes_opened, seen.disputes_resolved) == (2, Share(1, 2))


def test_agents_figures_time_the_first_reply_of_a_person(november):
    seen = november.agents
    assert seen.handed_over == 3
    assert seen.answered_by_a_person == Share(2, 3)
    assert seen.time_to_first_reply == Median(seconds=(4 * 60 + 10 * 60) // 2, cases=2)
    assert seen.handled_per_agent == (Counted("Dana", 2),)
    assert (seen.not_claimed, seen.callbacks_booked) == (1, 2)
    assert seen.callbacks_done == Share(1, 2) and seen.callbacks_done.percent == Decimal("50.0")


@pytest.mark.parametrize("after, counted", [
    (timedelta(seconds=-0.6), False), (timedelta(seconds=-0.4), True), (timedelta(0), True),
    (timedelta(days=3, seconds=0.4), True), (timedelta(days=3, seconds=0.6), False), (timedelta(days=3, seconds=1), False),
])
def test_a_payment_counts_within_the_window_to_the_rounded_second_on_every_backend(known_data, after, counted):
    sent = datetime(2026, 11, 3, 9, 0, 0, 250_000, tzinfo=timezone.utc)
    with session_factory(known_data).begin() as session:
        paid = literal(sent + after, UTCDateTime())
        within = session.execute(select(seconds_within(literal(sent, UTCDateTime()), paid, 0, 3 * DAY))).scalar_one()
        rounded = session.execute(select(seconds_between(literal(sent, UTCDateTime()), paid))).scalar_one()
    assert bool(within) is counted is (0 <= rounded <= 3 * DAY)


def test_one_day_holds_exactly_that_day(known_data):
    last_day = services.figures_for(uow_on(known_data), date(2026, 11, 15), date(2026, 11, 15))
    assert last_day.containment.conversations == 1          # conv-d, at 23:59:59 in Brussels
    assert last_day.containment.escalations_by_reason == (Counted("repeated_fallback", 1),)
    assert last_day.cant_pay_now.hardship_reports == 1
    assert last_day.paying.collected_total == Decimal("50.50")


def test_an_empty_period_has_no_percentages_and_no_medians(known_data):
    empty = services.figures_for(uow_on(known_data), date(2025, 1, 1), date(2025, 1, 31))
    assert empty.containment.conversations == 0 and empty.containment.escalated.percent is None
    assert empty.paying.links_paid == Share(0, 0) and empty.paying.time_to_pay == Median(None, 0)
    assert empty.paying.collected == () and empty.paying.collected_total == Decimal("0.00")
    assert empty.reached_out_first.paid_after == ()
    assert empty.reached_out_first.opt_outs == () and empty.reached_out_first.opt_ins == ()
    assert empty.cant_pay_now.instalments_on_time.percent is None
    assert empty.agents.time_to_first_reply == Median(None, 0)


def test_a_period_that_ends_before_it_starts_is_refused(known_data):
    with pytest.raises(BadPeriod):
        services.figures_for(uow_on(known_data), date(2026, 11, 15), date(2026, 11, 1))


# -- The CSV export ---------------------------------------------------------------------------------


def test_the_csv_holds_every_figure_with_its_breakdown(november):
    out = io.StringIO()
    write_csv(november, out)
    table = list(csv.DictReader(io.StringIO(out.getvalue())))
    by_name = {(row["section"], row["figure"], row["breakdown"]): row for row in table}
    assert by_name[("period", "from", "")]["value"] == "2026-11-01"
    conversion = by_name[("paying", "links_paid", "")]
    assert (conversion["value"], conversion["unit"], conversion["note"]) == ("66.7", "%", "2 of 3")
    assert by_name[("paying", "collected.amount", "mollie / creditcard")]["value"] == "150.50"
    assert by_name[("reached_out_first", "deliveries.failed", "nudge / chat")]["value"] == "1"
    waiting = by_name[("reached_out_first", "paid_after.within_14_days", "review / email")]
    assert (waiting["value"], waiting["note"]) == ("", "no cases: nothing to divide by")
    assert by_name[("agents", "time_to_first_reply", "")]["value"] == "420"
    assert by_name[("reached_out_first", "opt_outs", "sms / link")]["value"] == "2"
    assert by_name[("reached_out_first", "opt_ins", "sms / chat")]["unit"] == "count"
    assert (by_name[("period", "language", "")]["value"], by_name[("period", "language", "")]["note"]) == ("all", "every language")
    assert len(table) == len(rows(november)) + 3


def test_docs_define_every_figure_the_export_names(november):
    kpis = (Path(__file__).parents[2] / "docs" / "kpis.md").read_text()
    for row in rows(november):
        assert f"`{row.section}.{row.figure}`" in kpis, f"{row.section}.{row.figure} is not defined in docs/kpis.md"


# -- Recording the events the figures need ----------------------------------------------------------

LUCAS = next(p for p in PERSONAS if p.shape == "overdue")


@pytest.fixture
def demo_database(tmp_path, monkeypatch) -> str:
    monkeypatch.setenv("SETTLE_LINK_SECRET", "insights-tests-link-secret")
    monkeypatch.setenv("SETTLE_PAYMENT_PROVIDER", "sandbox")
    return seeded_sqlite(tmp_path / "settle.db", customers=10)


def test_a_chat_is_noted_at_its_first_message_and_verified_once(demo_database):
    services.note_message(uow_on(demo_database, utc(22, 10)), "conv-lucas")
    services.note_message(uow_on(demo_database, utc(22, 10, 1)), "conv-lucas")
    with session_factory(demo_database).begin() as session:
        lucas = session.execute(select(Customer).where(Customer.customer_number == LUCAS.customer_number)).scalar_one()
        answers = Answers(lucas.postcode, lucas.date_of_birth)
    identity.check_answers(uow_on(demo_database, utc(22, 10, 2)), "conv-lucas", "client-1", LUCAS.customer_number, answers)
    identity.check_answers(uow_on(demo_database, utc(22, 10, 5)), "conv-lucas", "client-1", LUCAS.customer_number, answers)
    with session_factory(demo_database).begin() as session:
        noted = session.get(Conversation, "conv-lucas")
        assert (noted.started_at, noted.last_message_at, noted.messages) == (utc(22, 10), utc(22, 10, 1), 2)
        assert (noted.customer_id, noted.verified_at) == (lucas.id, utc(22, 10, 2))


def test_a_link_notes_when_it_was_first_opened_and_when_it_was_paid(demo_database):
    with session_factory(demo_database).begin() as session:
        lucas_id = session.execute(select(Customer.id).where(Customer.customer_number == LUCAS.customer_number)).scalar_one()
    offer = payments.offer_payment_link(uow_on(demo_database, utc(22, 10)), lucas_id, None)
    payments.payment_page(uow_on(demo_database, utc(22, 10, 5)), offer.token)
    payments.payment_page(uow_on(demo_database, utc(22, 11)), offer.token)
    payments.start_checkout(uow_on(demo_database, utc(22, 11, 1)), offer.token, "en")
    with session_factory(demo_database).begin() as session:
        payment_id = session.execute(select(Checkout.provider_payment_id)).scalar_one()
    payments.sandbox_outcome(uow_on(demo_database, utc(22, 11, 2)), payment_id, succeeded=True)
    with session_factory(demo_database).begin() as session:
        link = session.execute(select(PaymentLink).where(PaymentLink.created_at >= HISTORY_ENDS)).scalar_one()
        assert (link.first_opened_at, link.status, link.paid_at) == (utc(22, 10, 5), LinkStatus.PAID, utc(22, 11, 2))
    seen = services.figures_for(uow_on(demo_database, utc(22, 12)), date(2026, 11, 22), date(2026, 11, 22)).paying
    assert (seen.links_opened, seen.links_paid, seen.time_to_pay) == (Share(1, 1), Share(1, 1), Median(62 * 60, 1))


def test_an_instalment_notes_when_its_last_cent_came_in(demo_database):
    with session_factory(demo_database).begin() as session:
        ann = customer(session, "81000002")
        bill = add_invoice(session, ann.id, "PLAN-INV", 10_000, date(2026, 11, 30), InvoiceStatus.IN_PLAN)
        plan = InstalmentPlan(reference="PLAN-X", customer_id=ann.id, total_cents=10_000, created_at=utc(20), invoices=[bill])
        session.add(plan)
        session.flush()
        session.add_all([Instalment(plan_id=plan.id, number=1, due_date=date(2026, 11, 30), amount_cents=5_000, paid_cents=0),
                         Instalment(plan_id=plan.id, number=2, due_date=date(2026, 12, 30), amount_cents=5_000, paid_cents=0)])
        session.flush()
        receive_payment(session, external_reference="bank:part", source="bank_statement", method="bank_transfer",
                        amount_cents=3_000, received_at=utc(21), invoices=[bill], customer_id=ann.id)
        receive_payment(session, external_reference="bank:rest", source="bank_statement", method="bank_transfer",
                        amount_cents=2_000, received_at=utc(22), invoices=[bill], customer_id=ann.id)
        first, second = session.execute(select(Instalment).where(Instalment.plan_id == plan.id).order_by(Instalment.number)).scalars()
        assert (first.paid_cents, first.paid_at) == (5_000, utc(22))
        assert (second.paid_cents, second.paid_at) == (0, None)


def test_a_bill_keeps_the_moment_of_its_latest_payment(demo_database):
    with session_factory(demo_database).begin() as session:
        latest = dict(session.execute(select(Payment.invoice_id, func.max(Payment.paid_at)).group_by(Payment.invoice_id)).all())
        kept = dict(session.execute(select(Invoice.id, Invoice.last_payment_at)).all())
        assert latest and kept == {invoice: latest.get(invoice) for invoice in kept}  # the demo's seed and history
        ann = customer(session, "81000003")
        bill = add_invoice(session, ann.id, "LATEST-INV", 10_000, date(2026, 11, 30))
        assert bill.last_payment_at is None
        for reference, cents, at in (("bank:first", 3_000, utc(21)), ("bank:second", 7_000, utc(22))):
            receive_payment(session, external_reference=reference, source="bank_statement", method="bank_transfer",
                            amount_cents=cents, received_at=at, invoices=[bill], customer_id=ann.id)
        assert session.execute(select(Invoice.last_payment_at).where(Invoice.id == bill.id)).scalar_one() == utc(22)


# -- The benchmark's data ---------------------------------------------------------------------------


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="the bulk data is PostgreSQL's")
def test_the_benchmark_times_figures_over_every_kind_of_event(monkeypatch):
    monkeypatch.setenv("SETTLE_NOW", NOW.isoformat())
    url = postgres_url("settle_kpis_bench_test")
    timing = figures_timing(url, 2_400, say=lambda line: None)
    assert set(timing) == {"invoices", "7_days_seconds", "30_days_seconds", "90_days_seconds", "dashboard_7_days_page_seconds",
                           "dashboard_30_days_page_seconds", "dashboard_90_days_page_seconds", "flagged_accounts_page_seconds"}
    month = services.figures_for(uow_on(url), date(2026, 10, 24), date(2026, 11, 22))
    assert month.containment.conversations > 0 and month.containment.escalated.part > 0
    assert month.paying.links_paid.part > 0 and month.paying.time_to_pay.cases > 0 and month.paying.collected
    assert month.reached_out_first.deliveries and month.reached_out_first.paid_after
    assert month.cant_pay_now.plans_set_up > 0 and month.cant_pay_now.instalments_on_time.whole > 0
    assert month.cant_pay_now.extensions_granted > 0 and month.cant_pay_now.disputes_opened > 0
    assert month.agents.time_to_first_reply.cases > 0 and month.agents.handled_per_agent
    engine_for(url).dispose()


def test_links_paid_before_migration_0008_get_the_moment_their_money_came_in(tmp_path):
    url = f"sqlite:///{tmp_path / 'before.db'}"
    command.upgrade(schema.alembic_config(url), "0007")
    with engine_for(url).begin() as connection:
        connection.execute(text(
            "INSERT INTO customers (id, customer_number, first_name, last_name, postcode, date_of_birth, preferred_channel,"
            " language, municipality, region) VALUES (1, '81000009', 'Old', 'Link', '1000', '1980-01-01', 'chat', 'en',"
            " 'Brussel', 'Brussels')"))
        for link, status in ((1, "paid"), (2, "open")):
            connection.execute(text(
                "INSERT INTO payment_links (id, reference, customer_id, amount_cents, created_at, expires_at, status)"
                f" VALUES ({link}, 'OLD{link}', 1, 5000, '2026-11-01 09:00:00.000000', '2026-11-08 09:00:00.000000', '{status}')"))
            connection.execute(text(
                "INSERT INTO checkouts (link_id, provider, provider_payment_id, checkout_url, amount_cents, status, created_at)"
                f" VALUES ({link}, 'sandbox', 'tr_{link}', 'http://x', 5000, '{status}', '2026-11-01 09:05:00.000000')"))
        connection.execute(text(
            "INSERT INTO received_payments (external_reference, source, method, amount_cents, received_at, needs_review)"
            " VALUES ('sandbox:tr_1', 'sandbox', 'sandbox', 5000, '2026-11-01 09:07:00.000000', 0)"))
    schema.upgrade(url)
    with session_factory(url).begin() as session:
        paid, still_open = session.execute(select(PaymentLink).order_by(PaymentLink.id)).scalars()
        assert (paid.paid_at, still_open.paid_at) == (utc(1, 9, 7), None)
        assert paid.first_opened_at is None  # never recorded, so not guessed


def test_migration_0012_gives_every_paid_bill_the_moment_of_its_latest_payment(tmp_path):
    url = f"sqlite:///{tmp_path / 'before.db'}"
    command.upgrade(schema.alembic_config(url), "0011")
    with engine_for(url).begin() as connection:
        connection.execute(text(
            "INSERT INTO customers (id, customer_number, first_name, last_name, postcode, date_of_birth, preferred_channel,"
            " language, municipality, region) VALUES (1, '81000009', 'Old', 'Bills', '1000', '1980-01-01', 'chat', 'en',"
            " 'Brussel', 'Brussels')"))
        for invoice, status in ((1, "paid"), (2, "open")):
            connection.execute(text(
                "INSERT INTO invoices (id, number, customer_id, period_start, period_end, issue_date, due_date, total_cents, status)"
                f" VALUES ({invoice}, 'OLD-{invoice}', 1, '2026-10-01', '2026-10-31', '2026-11-01', '2026-11-15', 5000, '{status}')"))
        for reference, at in (("P1", "2026-11-02 09:00:00.000000"), ("P2", "2026-11-09 17:30:00.000000")):
            connection.execute(text(
                "INSERT INTO payments (invoice_id, amount_cents, paid_at, method, reference)"
                f" VALUES (1, 2500, '{at}', 'bank_transfer', '{reference}')"))
    schema.upgrade(url)
    with session_factory(url).begin() as session:
        paid, still_open = session.execute(select(Invoice).order_by(Invoice.id)).scalars()
        assert (paid.last_payment_at, still_open.last_payment_at) == (utc(9, 17, 30), None)


def test_migration_0014_gives_each_conversation_the_language_of_its_latest_message(tmp_path):
    url = f"sqlite:///{tmp_path / 'before.db'}"
    command.upgrade(schema.alembic_config(url), "0013")
    with engine_for(url).begin() as connection:
        for conversation in ("switched", "silent"):
            connection.execute(text(
                "INSERT INTO conversations (conversation_id, started_at, last_message_at, messages)"
                f" VALUES ('{conversation}', '2026-11-02 09:00:00.000000', '2026-11-02 09:05:00.000000', 2)"))
        for position, language in ((1, "en"), (2, "nl")):
            connection.execute(text(
                "INSERT INTO conversation_messages (conversation_id, position, received_at, text, language, entities)"
                f" VALUES ('switched', {position}, '2026-11-02 09:0{position}:00.000000', '…', '{language}', '[]')"))
    schema.upgrade(url)
    with session_factory(url).begin() as session:
        switched, silent = (session.get(Conversation, name) for name in ("switched", "silent"))
        assert (switched.language, silent.language) == ("nl", None)
        assert (switched.turn_ended_at, switched.waiting_for) == (None, None)  # never recorded, so not guessed
