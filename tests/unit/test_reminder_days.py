"""The reminders' figures of final days are kept and added up (docs/kpis.md, "Speed"): on hand-built reminders over
November 2026, the figures with the kept days equal the figures counted live, in every language, also after a
write that changes the past; on SQLite and PostgreSQL.

The figures are asked on 1 December at noon: the days up to 16 November are final (14 days over), unless one of
their messages is still waiting to go. Ann speaks English, Noor Dutch.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import select, text

from settle import schema
from settle.clock import FixedClock
from settle.config import Settings
from settle.db import engine_for, session_factory
from settle.insights import reminders, services
from settle.insights.figures import Counted, Period, Share
from settle.models import (
    Channel,
    Customer,
    Instalment,
    InstalmentPlan,
    Invoice,
    OutboxMessage,
    OutboxStatus,
    PlanStatus,
    Reminder,
    ReminderDay,
    ReminderSubject,
)
from settle.payments.incoming import receive_payment
from settle.unit_of_work import UnitOfWork
from tests.conftest import BACKENDS, postgres_url, seeded_sqlite
from tests.unit.builders import add_invoice

PG_SCHEMA = "reminder_days_unit"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
FIRST, LAST = date(2026, 11, 1), date(2026, 12, 1)


def on(day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=timezone.utc)


def uow_on(url: str) -> UnitOfWork:
    return UnitOfWork(replace(Settings.from_environment(), database_url=url), FixedClock(NOW))


def kept_and_live(url: str, language: str | None):
    """The figures as the dashboard gets them (final days kept), and every day counted live."""
    kept = services.figures_for(uow_on(url), FIRST, LAST, language).reached_out_first
    uow = uow_on(url)
    with uow:
        live = reminders.reached_out_first(uow.session, Period.of(FIRST, LAST, uow.clock.zone), NOW, uow.clock.zone,
                                           language, keep_final_days=False)
    return kept, live


def kept_days(url: str) -> list[date]:
    with session_factory(url).begin() as session:
        return list(session.execute(select(ReminderDay.day).order_by(ReminderDay.day)).scalars())


@pytest.fixture(scope="module", params=BACKENDS)
def url(request, tmp_path_factory) -> str:
    """A migrated database with only the rows the tests build."""
    if request.param == "sqlite":
        yield seeded_sqlite(tmp_path_factory.mktemp("reminder-days") / "settle.db", customers=0, history=False)
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


@pytest.fixture(scope="module")
def november(url) -> str:
    """Reminders on final days (3, 4, 8 and 10 November) and on days still open (20 and 28 November):
    - 3 Nov: Ann's bill A1 (nudge, e-mail sent 10:10, paid on 5 Nov); Noor's bill N1 (second: SMS failed, then chat
      sent 11:00, not paid).
    - 4 Nov: Noor's instalment (instalment_nudge, chat sent, paid on 10 Nov: within 7 days, not 3).
    - 8 Nov: Ann's bill A3 (review, flagged): its e-mail still waits to go, so the day stays live.
    - 10 Nov: Ann's bill A4 (second, flagged): SMS failed, nothing else: reached nobody.
    - 20 Nov: Ann's bill A2 (nudge, e-mail sent, paid on 22 Nov). 28 Nov: Noor's bill N2 (nudge, e-mail sent)."""
    with session_factory(url).begin() as session:
        ann, noor = (Customer(customer_number=number, first_name=name, last_name="Test", postcode="1000",
                              date_of_birth=date(1980, 1, 1), municipality="Gent", region="Flanders",
                              preferred_channel=Channel.EMAIL, language=language)
                     for number, name, language in (("83000001", "Ann", "en"), ("83000002", "Noor", "nl")))
        session.add_all([ann, noor])
        session.flush()
        bills = {name: add_invoice(session, person.id, f"DAYS-{name}", 10_000, date(2026, 10, 25))
                 for name, person in (("A1", ann), ("N1", noor), ("A3", ann), ("A4", ann), ("A2", ann), ("N2", noor))}
        plan = InstalmentPlan(reference="DAYS-PLAN", customer_id=noor.id, total_cents=20_000, created_at=on(1),
                              status=PlanStatus.ACTIVE)
        session.add(plan)
        session.flush()
        instalment = Instalment(plan_id=plan.id, number=1, due_date=date(2026, 11, 3), amount_cents=10_000,
                                paid_cents=10_000, paid_at=on(10, 9))
        session.add(instalment)
        session.flush()

        def remind(person, subject, subject_id, stage, order, moment, *messages, flagged=False):
            reminder = Reminder(subject=subject, subject_id=subject_id, customer_id=person.id, stage=stage,
                                stage_order=order, created_at=moment, flagged_for_review=flagged)
            session.add(reminder)
            session.flush()
            for channel, status, sent_at in messages:
                session.add(OutboxMessage(reminder_id=reminder.id, channel=channel, status=status, attempts=1,
                                          next_attempt_at=moment, sent_at=sent_at))

        bill = ReminderSubject.INVOICE
        remind(ann, bill, bills["A1"].id, "nudge", 1, on(3), (Channel.EMAIL, OutboxStatus.SENT, on(3, 10, 10)))
        remind(noor, bill, bills["N1"].id, "second", 2, on(3, 10, 30), (Channel.SMS, OutboxStatus.FAILED, None),
               (Channel.CHAT, OutboxStatus.SENT, on(3, 11)))
        remind(noor, ReminderSubject.INSTALMENT, instalment.id, "instalment_nudge", 1, on(4),
               (Channel.CHAT, OutboxStatus.SENT, on(4, 10, 5)))
        remind(ann, bill, bills["A3"].id, "review", 3, on(8), (Channel.EMAIL, OutboxStatus.PENDING, None), flagged=True)
        remind(ann, bill, bills["A4"].id, "second", 2, on(10), (Channel.SMS, OutboxStatus.FAILED, None), flagged=True)
        remind(ann, bill, bills["A2"].id, "nudge", 1, on(20), (Channel.EMAIL, OutboxStatus.SENT, on(20, 10, 10)))
        remind(noor, bill, bills["N2"].id, "nudge", 1, on(28), (Channel.EMAIL, OutboxStatus.SENT, on(28, 10, 10)))
        for name, person, moment in (("A1", ann, on(5)), ("A2", ann, on(22))):
            receive_payment(session, external_reference=f"days:{name}", source="bank_statement", method="bank_transfer",
                            amount_cents=10_000, received_at=moment, invoices=[bills[name]], customer_id=person.id)
    return url


@pytest.mark.parametrize("language", [None, "en", "nl", "fr"])
def test_the_kept_days_give_the_same_figures_as_counting_every_day(november, language):
    kept, live = kept_and_live(november, language)
    assert kept == live
    # the final days are kept, except 8 November: its e-mail still waits to go
    assert kept_days(november) == [date(2026, 11, day) for day in range(1, 17) if day != 8]


def test_the_figures_over_kept_and_live_days_are_the_known_answers(november):
    seen = services.figures_for(uow_on(november), FIRST, LAST).reached_out_first
    assert seen.reminders_by_stage == (Counted("instalment_nudge", 1), Counted("nudge", 3), Counted("second", 2),
                                       Counted("review", 1))  # by stage order, then name
    assert seen.reached_nobody == 1 and seen.flagged_for_review == 2
    paid = {(row.stage, row.channel): row for row in seen.paid_after}
    assert paid[("nudge", "email")].within_3_days == Share(2, 3)  # A1 (kept) and A2 paid, N2 not (all windows over)
    assert paid[("nudge", "email")].within_14_days == Share(1, 1)  # only A1's 14 days are over
    assert paid[("instalment_nudge", "chat")].within_3_days == Share(0, 1)
    assert paid[("instalment_nudge", "chat")].within_7_days == Share(1, 1)
    assert paid[("second", "chat")].within_14_days == Share(0, 1)


def test_a_payment_dated_in_the_past_forgets_the_day_it_changes(november):
    services.figures_for(uow_on(november), FIRST, LAST)  # the final days are kept
    with session_factory(november).begin() as session:
        noor = session.execute(select(Customer).where(Customer.customer_number == "83000002")).scalar_one()
        n1 = session.execute(select(Invoice).where(Invoice.number == "DAYS-N1")).scalar_one()
        receive_payment(session, external_reference="days:N1", source="bank_statement", method="bank_transfer",
                        amount_cents=10_000, received_at=on(4, 9), invoices=[n1], customer_id=noor.id)
    assert date(2026, 11, 3) not in kept_days(november)  # forgotten: N1's reminder was decided on 3 November
    for language in ("nl", "en", None):
        kept, live = kept_and_live(november, language)
        assert kept == live
    paid = {(row.stage, row.channel): row for row in kept.paid_after}
    assert paid[("second", "chat")].within_3_days == Share(1, 1)  # paid 22 hours after the chat message
    assert date(2026, 11, 3) in kept_days(november)  # counted again


def test_a_reminder_written_with_a_past_moment_forgets_its_day(november):
    services.figures_for(uow_on(november), FIRST, LAST)
    with session_factory(november).begin() as session:
        ann = session.execute(select(Customer).where(Customer.customer_number == "83000001")).scalar_one()
        bill = add_invoice(session, ann.id, "DAYS-LATE", 10_000, date(2026, 10, 25))
        session.add(Reminder(subject=ReminderSubject.INVOICE, subject_id=bill.id, customer_id=ann.id, stage="nudge",
                             stage_order=1, created_at=on(12), flagged_for_review=False))
    assert date(2026, 11, 12) not in kept_days(november)
    kept, live = kept_and_live(november, "en")
    assert kept == live
    assert Counted("nudge", 3) in kept.reminders_by_stage  # A1, A2 and the late one
