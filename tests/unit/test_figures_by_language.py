"""The figures in one language, and the conversations customers abandoned, on small hand-built data with known
answers (docs/kpis.md: "A language", `containment.abandoned`), on SQLite and PostgreSQL.

Chats are noted as the bot notes them (every customer message, then the end of the bot's turn); money and
reminders are rows of two customers, Ann (English) and Noor (Dutch), and a payment nobody could be matched to.
The period is 17 November 2026 in Brussels; the figures are asked at noon, unless a test says otherwise.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import text

from settle import schema
from settle.clock import FixedClock
from settle.config import Settings
from settle.db import engine_for, session_factory
from settle.errors import UnknownLanguage
from settle.handoff import services as handoff
from settle.insights import services as insights
from settle.insights.figures import Average, ChoiceCount, Counted, Deliveries, Share
from settle.insights.messages import Understood
from settle.models import (
    Channel,
    Customer,
    Dispute,
    EscalationReason,
    Extension,
    HardshipReport,
    InstalmentPlan,
    InvoiceStatus,
    LinkStatus,
    OptOutSource,
    OutboxMessage,
    OutboxStatus,
    PaymentLink,
    ReceivedPayment,
    Reminder,
    ReminderChoice,
    ReminderSubject,
)
from settle.unit_of_work import UnitOfWork
from tests.conftest import BACKENDS, postgres_url, seeded_sqlite
from tests.unit.builders import add_invoice

PG_SCHEMA = "figures_by_language_unit"
DAY = date(2026, 11, 17)
NOON = datetime(2026, 11, 17, 12, 0, tzinfo=timezone.utc)


def at(hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 11, 17, hour, minute, second, tzinfo=timezone.utc)


def uow_on(url: str, moment: datetime) -> UnitOfWork:
    return UnitOfWork(replace(Settings.from_environment(), database_url=url), FixedClock(moment))


def says(url: str, conversation_id: str, moment: datetime, intent: str, language: str) -> None:
    insights.note_message(uow_on(url, moment), conversation_id, Understood("…", intent, 0.9, language=language))


def turn_ends(url: str, conversation_id: str, moment: datetime, waiting_for: str | None) -> None:
    insights.note_turn_end(uow_on(url, moment), conversation_id, waiting_for)


def figures(url: str, language: str | None = None, now: datetime = NOON):
    return insights.figures_for(uow_on(url, now), DAY, DAY, language)


@pytest.fixture(scope="module", params=BACKENDS)
def url(request, tmp_path_factory) -> str:
    """A migrated database with no demo customers and no history: only the rows the tests build."""
    if request.param == "sqlite":
        yield seeded_sqlite(tmp_path_factory.mktemp("by-language") / "settle.db", customers=0, history=False)
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
def chats(url) -> str:
    """Eight chats begun on 17 November, noted message by message as the bot notes them:
    - "form-left" (fr): the verification form asked the customer number; nothing came after.
    - "answered" (nl): answered plainly; nothing came after.
    - "rephrase-left" (en): a message not understood, asked to rephrase; nothing came after.
    - "handed" (nl): asked to rephrase, then handed to a person; nothing came after.
    - "came-back" (en): the form asked, the customer answered ten minutes later and was answered.
    - "switched" (en, then nl): an English message answered, a Dutch one the bot asked to rephrase; left.
    - "not-recorded" (en): its turns' ends were not recorded (as before migration 0014).
    - "crashed" (en): the bot's turn after its latest message was not recorded.
    - "typing" (en): the form asked at 11:45; at noon the customer has been quiet for only 15 minutes.
    """
    says(url, "form-left", at(9), "pay_bill", "fr")
    turn_ends(url, "form-left", at(9, 0, 2), "verify_customer_form:customer_number")
    says(url, "answered", at(9, 5), "check_balance", "nl")
    turn_ends(url, "answered", at(9, 5, 2), None)
    says(url, "rephrase-left", at(9, 10), "nlu_fallback", "en")
    turn_ends(url, "rephrase-left", at(9, 10, 2), "rephrase")
    says(url, "handed", at(9, 15), "nlu_fallback", "nl")
    turn_ends(url, "handed", at(9, 15, 2), "rephrase")
    handoff.hand_over(uow_on(url, at(9, 16)), EscalationReason.REPEATED_FALLBACK, "handed", None, [], [])
    says(url, "came-back", at(9, 20), "pay_bill", "en")
    turn_ends(url, "came-back", at(9, 20, 2), "verify_customer_form:customer_number")
    says(url, "came-back", at(9, 30), "inform", "en")
    turn_ends(url, "came-back", at(9, 30, 2), None)
    says(url, "switched", at(9, 40), "greet", "en")
    turn_ends(url, "switched", at(9, 40, 2), None)
    says(url, "switched", at(9, 41), "nlu_fallback", "nl")
    turn_ends(url, "switched", at(9, 41, 2), "rephrase")
    says(url, "not-recorded", at(10), "check_balance", "en")
    says(url, "crashed", at(10, 30), "pay_bill", "en")
    turn_ends(url, "crashed", at(10, 30, 2), "verify_customer_form:customer_number")
    says(url, "crashed", at(10, 35), "inform", "en")
    says(url, "typing", at(11, 45), "pay_bill", "en")
    turn_ends(url, "typing", at(11, 45, 2), "verify_customer_form:customer_number")
    return url


@pytest.fixture(scope="module")
def money(url) -> str:
    """Ann (English) and Noor (Dutch) on 17 November: a link each (Ann's paid), a payment each and one matched to
    nobody, a reminder each (Noor's failed), a plan, an extension, hardship, a dispute, an opt-out."""
    with session_factory(url).begin() as session:
        ann, noor = (Customer(customer_number=number, first_name=name, last_name="Test", postcode="1000",
                              date_of_birth=date(1980, 1, 1), municipality="Gent", region="Flanders",
                              preferred_channel=Channel.EMAIL, language=language)
                     for number, name, language in (("82000001", "Ann", "en"), ("82000002", "Noor", "nl")))
        session.add_all([ann, noor])
        session.flush()
        for person, paid in ((ann, True), (noor, False)):
            session.add(PaymentLink(reference=f"LANG-{person.id}", customer_id=person.id, amount_cents=5_000,
                                    created_at=at(8), expires_at=at(8) + timedelta(days=7), first_opened_at=at(8, 5),
                                    status=LinkStatus.PAID if paid else LinkStatus.OPEN, paid_at=at(9) if paid else None))
        for reference, customer_id, cents in (("lang:ann", ann.id, 1_000), ("lang:noor", noor.id, 2_000), ("lang:nobody", None, 4_000)):
            session.add(ReceivedPayment(external_reference=reference, source="bank_statement", method="bank_transfer",
                                        amount_cents=cents, received_at=at(10), customer_id=customer_id))
        for person, status in ((ann, OutboxStatus.SENT), (noor, OutboxStatus.FAILED)):
            bill = add_invoice(session, person.id, f"LANG-INV-{person.id}", 10_000, date(2026, 11, 1))
            reminder = Reminder(subject=ReminderSubject.INVOICE, subject_id=bill.id, customer_id=person.id, stage="nudge",
                                stage_order=1, created_at=at(7), flagged_for_review=False)
            session.add(reminder)
            session.flush()
            session.add(OutboxMessage(reminder_id=reminder.id, channel=Channel.EMAIL, status=status, attempts=1,
                                      next_attempt_at=at(7), sent_at=at(7, 5) if status == OutboxStatus.SENT else None))
            if person is ann:
                session.add(Extension(invoice_id=bill.id, original_due_date=date(2026, 11, 1), new_due_date=date(2026, 11, 30),
                                      created_at=at(11)))
                session.add(HardshipReport(customer_id=ann.id, reported_at=at(11)))
            else:
                session.add(InstalmentPlan(reference="LANG-PLAN", customer_id=noor.id, total_cents=10_000, created_at=at(11)))
                disputed = add_invoice(session, noor.id, "LANG-DIS", 10_000, date(2026, 11, 1), InvoiceStatus.DISPUTED)
                session.add(Dispute(reference="LANG-DIS-1", invoice_id=disputed.id, customer_id=noor.id, reason="not mine",
                                    previous_invoice_status=InvoiceStatus.OPEN, created_at=at(11)))
                session.add(ReminderChoice(customer_id=noor.id, channel="sms", opted_out=True, source=OptOutSource.LINK,
                                           created_at=at(11)))
    return url


# -- Abandoned conversations ------------------------------------------------------------------------


def test_a_chat_left_while_the_bot_waited_for_an_answer_is_abandoned(chats):
    seen = figures(chats).containment
    assert seen.conversations == 9
    # Decided: all but "not-recorded", "crashed" and "typing". Abandoned: "form-left", "rephrase-left", "switched".
    assert seen.abandoned == Share(3, 6) and seen.abandoned.percent == Decimal("50.0")
    assert seen.abandoned_while_waiting_for == (Counted("rephrase", 2), Counted("verify_customer_form:customer_number", 1))


def test_a_chat_is_abandoned_only_after_thirty_quiet_minutes(chats):
    just_before = figures(chats, now=at(12, 14, 59)).containment  # "typing" asked at 11:45
    thirty_minutes = figures(chats, now=at(12, 15)).containment
    assert (just_before.abandoned, thirty_minutes.abandoned) == (Share(3, 6), Share(4, 7))


def test_a_chat_handed_to_a_person_is_escalated_not_abandoned(chats):
    seen = figures(chats, "nl").containment
    assert seen.conversations == 3  # "answered", "handed", and "switched" (Dutch at its latest message)
    assert seen.escalated == Share(1, 3)
    assert seen.abandoned == Share(1, 3) and seen.abandoned_while_waiting_for == (Counted("rephrase", 1),)


def test_a_day_without_recorded_turn_ends_has_nothing_decided(chats):
    empty = insights.figures_for(uow_on(chats, NOON), date(2026, 11, 16), date(2026, 11, 16)).containment
    assert empty.abandoned == Share(0, 0) and empty.abandoned.percent is None
    assert empty.abandoned_while_waiting_for == ()


# -- Chats in one language ----------------------------------------------------------------------------


def test_chat_figures_follow_the_conversations_language(chats):
    french = figures(chats, "fr")
    assert french.containment.conversations == 1 and french.containment.abandoned == Share(1, 1)
    assert french.containment.escalations_by_reason == () and french.agents.handed_over == 0
    dutch = figures(chats, "nl")
    assert dutch.containment.escalations_by_reason == (Counted("repeated_fallback", 1),)
    assert dutch.agents.handed_over == 1
    english = figures(chats, "en")
    assert english.containment.conversations == 5 and english.agents.handed_over == 0


def test_understanding_follows_each_messages_language(chats):
    """The switched chat's greeting counts in English, its misread Dutch message in Dutch."""
    dutch, english = figures(chats, "nl").understanding, figures(chats, "en").understanding
    assert (dutch.messages, dutch.fell_back) == (3, Share(2, 3))
    assert (english.messages, english.fell_back) == (8, Share(1, 8))
    assert dutch.messages_per_conversation == Average(Decimal("1.33"), 3)  # 1, 1 and the switched chat's 2
    assert figures(chats).understanding.messages == 12


# -- Money and reminders in one language ------------------------------------------------------------


def test_money_figures_follow_the_customers_language(money):
    english, dutch, every = figures(money, "en"), figures(money, "nl"), figures(money)
    assert (english.paying.links_issued, english.paying.links_paid) == (1, Share(1, 1))
    assert (dutch.paying.links_issued, dutch.paying.links_paid) == (1, Share(0, 1))
    assert (english.paying.collected_total, dutch.paying.collected_total) == (Decimal("10.00"), Decimal("20.00"))
    assert every.paying.collected_total == Decimal("70.00")  # the payment matched to nobody counts only here


def test_reminder_figures_follow_the_customers_language(money):
    english, dutch = figures(money, "en").reached_out_first, figures(money, "nl").reached_out_first
    assert english.deliveries == (Deliveries("nudge", "email", sent=1, failed=0),)
    assert dutch.deliveries == (Deliveries("nudge", "email", sent=0, failed=1),)
    assert (english.reached_nobody, dutch.reached_nobody) == (0, 1)
    assert (english.opt_outs, dutch.opt_outs) == ((), (ChoiceCount("sms", "link", 1),))


def test_cant_pay_now_follows_the_customers_language(money):
    english, dutch = figures(money, "en").cant_pay_now, figures(money, "nl").cant_pay_now
    assert (english.extensions_granted, english.hardship_reports, english.plans_set_up, english.disputes_opened) == (1, 1, 0, 0)
    assert (dutch.extensions_granted, dutch.hardship_reports, dutch.plans_set_up, dutch.disputes_opened) == (0, 0, 1, 1)


def test_a_language_settle_does_not_speak_is_refused(url):
    with pytest.raises(UnknownLanguage):
        figures(url, "de")
