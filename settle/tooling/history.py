"""Six weeks of past activity for the demo data, so the dashboard and the conversation review show something
on a fresh machine: chats in three languages with what NLU made of each message, hand-overs answered by the
demo agent, payment links issued, opened and paid, reminders by stage and channel, extensions, plans,
hardship reports and disputes, and opt-outs from reminders (and some back in).

Each event is written to the table the product writes it to, through the product's own functions where they
work at a past moment (a payment received, a hand-over, a hardship report), so the figures count them as
real events. Only ordinary customers' bills that are paid by today take part, so the personas keep their
stories and today's reminder run finds the same accounts. The same `today` and customers give the same history.
"""
from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from settle.arrangements.hardship import report_hardship
from settle.arrangements.plans import schedule
from settle.handoff.escalations import escalate
from settle.identity.privacy import PLACEHOLDERS
from settle.models import (
    Agent,
    Channel,
    Conversation,
    ConversationMessage,
    Customer,
    Dispute,
    DisputeStatus,
    EscalationMessage,
    EscalationReason,
    EscalationStatus,
    Extension,
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
    Reminder,
    ReminderChoice,
    ReminderSubject,
    Role,
)
from settle.payments.incoming import receive_payment

HISTORY_DAYS = 42
LINK_DAYS = 7
#: The reminder stages of policy/reminders.yml the history uses, with their order and offset from the due date.
HEADS_UP, NUDGE, SECOND = ("heads_up", 1, -3), ("nudge", 2, 1), ("second", 3, 10)
FALLBACK_ORDER = (Channel.CHAT, Channel.EMAIL, Channel.SMS)
CUSTOMER_NUMBER, SECRET = PLACEHOLDERS["customer_number"], PLACEHOLDERS["verification_answer"]
VERIFY = "validate_verify_customer_form"

#: What customers write, by language and intent, with placeholders where personal data was.
SAID: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "greet": ("hi", "hello there", "good morning"),
        "pay_bill": ("I want to pay my bill", "can I pay now?", "send me a link to pay"),
        "check_balance": ("how much do I owe?", "what is still open on my account"),
        "check_due_date": ("when do I have to pay?", "what's the due date of my bill"),
        "explain_bill": ("why is my bill so high this month?", "my bill went up, why?"),
        "ask_payment_methods": ("can I pay by bank transfer?", "which ways can I pay"),
        "request_payment_extension": ("can I pay a bit later?", "I need two more weeks for this bill"),
        "request_instalment_plan": ("can I pay in instalments?", "can I spread the payment over a few months"),
        "report_financial_hardship": ("I lost my job and can't pay right now", "money is really tight this month"),
        "dispute_bill": ("this bill is wrong, the meter reading is not mine", "I want to contest my last invoice"),
        "request_human": ("I want to talk to a person", "let me speak to someone please"),
        "express_frustration": ("this is ridiculous", "you're not helping at all"),
        "inform": ("in two weeks", "3 months", "the 15th"),
        "affirm": ("yes", "yes please", "ok"),
        "thank": ("thanks", "thank you!"),
        "out_of_scope": ("what's the weather tomorrow", "can you book me a table"),
        "nlu_fallback": ("the thing from before", "hmm the other one", "euh"),
    },
    "nl": {
        "greet": ("hallo", "goedemorgen", "dag"),
        "pay_bill": ("ik wil mijn factuur betalen", "kan ik nu betalen?", "stuur me een betaallink"),
        "check_balance": ("hoeveel moet ik nog betalen?", "wat staat er nog open"),
        "check_due_date": ("tegen wanneer moet ik betalen?", "wat is de vervaldag"),
        "explain_bill": ("waarom is mijn factuur zo hoog?", "mijn rekening is gestegen, hoe komt dat"),
        "ask_payment_methods": ("kan ik met een overschrijving betalen?", "hoe kan ik betalen"),
        "request_payment_extension": ("mag ik wat later betalen?", "ik heb nog twee weken nodig"),
        "request_instalment_plan": ("kan ik in schijven betalen?", "kan ik een afbetalingsplan krijgen"),
        "report_financial_hardship": ("ik ben mijn werk kwijt en kan niet betalen", "ik zit krap deze maand"),
        "dispute_bill": ("deze factuur klopt niet, de meterstand is fout", "ik betwist mijn laatste factuur"),
        "request_human": ("ik wil iemand spreken", "mag ik een medewerker"),
        "express_frustration": ("dit is belachelijk", "je helpt me helemaal niet"),
        "inform": ("over twee weken", "3 maanden", "de 15de"),
        "affirm": ("ja", "ja graag", "oké"),
        "thank": ("bedankt", "merci"),
        "out_of_scope": ("wat voor weer wordt het morgen", "hoe laat is het in Tokio"),
        "nlu_fallback": ("dat ding van vorige keer", "euh ja nee", "die andere"),
    },
    "fr": {
        "greet": ("bonjour", "salut", "bonsoir"),
        "pay_bill": ("je veux payer ma facture", "je peux payer maintenant ?", "envoyez-moi un lien de paiement"),
        "check_balance": ("combien je dois encore ?", "qu'est-ce qui reste à payer"),
        "check_due_date": ("quand dois-je payer ?", "c'est quoi la date d'échéance"),
        "explain_bill": ("pourquoi ma facture est si élevée ?", "ma facture a augmenté, pourquoi"),
        "ask_payment_methods": ("je peux payer par virement ?", "comment puis-je payer"),
        "request_payment_extension": ("je peux payer un peu plus tard ?", "il me faut deux semaines de plus"),
        "request_instalment_plan": ("je peux payer en plusieurs fois ?", "un plan de paiement c'est possible"),
        "report_financial_hardship": ("j'ai perdu mon emploi, je ne peux pas payer", "je suis en difficulté ce mois-ci"),
        "dispute_bill": ("cette facture est fausse, ce n'est pas mon relevé", "je conteste ma dernière facture"),
        "request_human": ("je veux parler à quelqu'un", "un conseiller svp"),
        "express_frustration": ("c'est n'importe quoi", "vous ne m'aidez pas du tout"),
        "inform": ("dans deux semaines", "3 mois", "le 15"),
        "affirm": ("oui", "oui merci", "d'accord"),
        "thank": ("merci", "merci beaucoup"),
        "out_of_scope": ("quel temps fera-t-il demain", "tu connais une bonne pizzeria"),
        "nlu_fallback": ("le truc de la dernière fois", "euh l'autre", "bof"),
    },
}
#: What the bot did in reply to each intent (the review shows it under the message).
ACTIONS = {
    "greet": ("utter_greet", "utter_how_can_i_help"), "pay_bill": ("action_send_payment_link",),
    "check_balance": ("action_tell_balance",), "check_due_date": ("action_tell_due_dates",),
    "explain_bill": ("action_explain_bill",), "ask_payment_methods": ("action_tell_payment_methods",),
    "request_payment_extension": ("action_offer_extension",), "request_instalment_plan": ("action_offer_plan",),
    "report_financial_hardship": ("action_handle_hardship",), "dispute_bill": ("validate_dispute_form",),
    "request_human": ("action_hand_over",), "express_frustration": ("action_hand_over",),
    "inform": ("action_finish_extension",), "affirm": ("action_finish_plan",), "thank": ("utter_you_are_welcome",),
    "out_of_scope": ("utter_out_of_scope",), "nlu_fallback": ("action_handle_fallback",),
}
#: The questions an anonymous chat asks, and the hand-overs it asks for.
ANONYMOUS_TOPICS = ("ask_payment_methods", "check_due_date", "explain_bill", "out_of_scope", "nlu_fallback", "request_human")
AGENT_REPLIES = {"en": "Hello, I'm here to help.", "nl": "Dag, ik help je graag verder.", "fr": "Bonjour, je suis là pour vous aider."}


@dataclass
class _Chat:
    """One conversation as it is told: who, when, in which language, and what the customer said."""

    conversation_id: str
    started_at: datetime
    language: str
    customer: Customer | None
    #: (text, intent, confidence, the bot's actions in reply)
    turns: list[tuple[str, str, float, tuple[str, ...]]] = field(default_factory=list)


class _History:
    def __init__(self, session: Session, today: date, zone: ZoneInfo) -> None:
        self.session, self.today, self.zone = session, today, zone
        self.rng = random.Random(f"settle-history-{today.isoformat()}")
        self.first_day = today - timedelta(days=HISTORY_DAYS)
        self.ends_before = datetime.combine(today, time(0), tzinfo=zone).astimezone(timezone.utc)
        self.agent = session.execute(select(Agent).where(Agent.role == Role.AGENT).order_by(Agent.id)).scalars().first()
        self.chats: list[_Chat] = []
        self.numbers = iter(range(1, 1_000_000))

    # -- moments ----------------------------------------------------------------------------------------

    def at(self, day: date, hour: int, minute: int = 0) -> datetime:
        """A local time on `day`, in UTC."""
        return datetime.combine(day, time(hour, minute), tzinfo=self.zone).astimezone(timezone.utc)

    def daytime(self, day: date) -> datetime:
        return self.at(day, self.rng.randrange(8, 21), self.rng.randrange(60))

    def past(self, moment: datetime) -> bool:
        return moment < self.ends_before

    # -- the stories --------------------------------------------------------------------------------

    def chat(self, customer: Customer | None, started_at: datetime, language: str, *intents: str) -> _Chat:
        """A conversation with the given intents (a verified one proves who it is after the first)."""
        chat = _Chat(f"demo-{self.rng.getrandbits(64):016x}", started_at, language, customer)
        for number, intent in enumerate(intents):
            text, _, confidence = self.said(language, intent)
            if customer is not None and number == 0:  # the bot asks who it is first, then answers
                chat.turns += [(text, intent, confidence, ("utter_ask_customer_number",)),
                               (CUSTOMER_NUMBER, "inform", self.confidence(), (VERIFY,)),
                               (SECRET, "inform", self.confidence(), (VERIFY,)),
                               (SECRET, "inform", self.confidence(), ("utter_verified", *ACTIONS[intent]))]
            else:
                chat.turns.append((text, intent, confidence, ACTIONS[intent]))
        self.chats.append(chat)
        return chat

    def said(self, language: str, intent: str) -> tuple[str, str, float]:
        text = self.rng.choice(SAID[language][intent])
        if intent == "nlu_fallback":
            return text, intent, 0.3
        return text, intent, self.confidence()

    def confidence(self) -> float:
        """Mostly sure, sometimes not (the review's "confidence below 0.5" finds those)."""
        if self.rng.random() < 0.12:
            return round(self.rng.uniform(0.32, 0.5), 2)
        return round(self.rng.uniform(0.62, 0.99), 2)

    def link(self, customer: Customer, invoice: Invoice, created_at: datetime, opened_after: timedelta | None) -> PaymentLink:
        link = PaymentLink(reference=f"demo{self.rng.getrandbits(64):016x}", customer_id=customer.id,
                           amount_cents=invoice.total_cents, created_at=created_at,
                           expires_at=created_at + timedelta(days=LINK_DAYS), status=LinkStatus.OPEN, invoices=[invoice])
        if opened_after is not None and self.past(created_at + opened_after):
            link.first_opened_at = created_at + opened_after
        self.session.add(link)
        return link

    def pay(self, invoice: Invoice, moment: datetime, how: str, link: PaymentLink | None = None, cents: int | None = None) -> None:
        """Money received for the bill, recorded as the payment pages and the statement import record it."""
        number = next(self.numbers)
        amount = invoice.total_cents if cents is None else cents
        if how == "link" and link is not None:
            receive_payment(self.session, external_reference=f"sandbox:demo_{number:06d}", source="sandbox", method="sandbox",
                            amount_cents=amount, received_at=moment, invoices=[invoice], customer_id=invoice.customer_id)
            link.status, link.paid_at = LinkStatus.PAID, moment
        elif how == "transfer":
            receive_payment(self.session, external_reference=f"statement:demo/{number:06d}", source="bank_statement",
                            method="bank_transfer", amount_cents=amount, received_at=moment, invoices=[invoice],
                            customer_id=invoice.customer_id)
        else:  # a direct debit collected by the bank, outside Settle
            self.session.add(Payment(invoice_id=invoice.id, amount_cents=amount, paid_at=moment, method="direct_debit",
                                     reference=f"DD-demo-{number:06d}"))
            self.session.flush()
            invoice.status = InvoiceStatus.PAID

    def remind(self, customer: Customer, invoice: Invoice, stage: tuple[str, int, int], decided_on: date, paid_at: datetime) -> None:
        """A reminder the engine decided in the morning, and its message: on the preferred channel, and on the
        next one when that fails."""
        name, order, _ = stage
        decided_at = self.at(decided_on, 7)
        if not self.past(decided_at) or decided_at >= paid_at:
            return
        reminder = Reminder(subject=ReminderSubject.INVOICE, subject_id=invoice.id, customer_id=customer.id,
                            stage=name, stage_order=order, created_at=decided_at, flagged_for_review=False)
        self.session.add(reminder)
        self.session.flush()
        channels = list(FALLBACK_ORDER[FALLBACK_ORDER.index(customer.preferred_channel):]) + list(FALLBACK_ORDER)
        unreachable = self.rng.random() < 0.03  # no channel works for this customer: the reminder reached nobody
        for tried, channel in enumerate(channels[:3]):
            failed = unreachable or self.rng.random() < (0.05 if channel == Channel.CHAT else 0.12)
            self.session.add(OutboxMessage(
                reminder_id=reminder.id, channel=channel, status=OutboxStatus.FAILED if failed else OutboxStatus.SENT,
                attempts=3 if failed else 1, next_attempt_at=decided_at + timedelta(minutes=90 * tried),
                last_error="the address did not accept the message" if failed else None,
                sent_at=None if failed else decided_at + timedelta(minutes=90 * tried + 2)))
            if not failed:
                break

    def hand_over(self, chat: _Chat, reason: EscalationReason, moment: datetime, answered: bool = True,
                  callback: bool = False) -> None:
        """The chat handed to a person through the agents' queue, claimed and answered by the demo agent, closed."""
        customer_id = chat.customer.id if chat.customer else None
        escalation = escalate(self.session, reason, chat.conversation_id, customer_id, {"language": chat.language}, moment)
        waited = timedelta(minutes=self.rng.choice((1, 2, 3, 4, 6, 8, 12, 18, 25, 40)), seconds=self.rng.randrange(60))
        if self.agent is None or not self.past(moment + waited):
            return
        escalation.agent_id, escalation.claimed_at = self.agent.id, moment + waited
        if callback and chat.customer is not None:
            escalation.callback_phone = chat.customer.phone
            escalation.callback_at = self.at((moment + timedelta(days=1)).astimezone(self.zone).date(), 10)
            if self.past(escalation.callback_at) and self.rng.random() < 0.8:  # the agent called as booked
                escalation.callback_done_at = escalation.callback_at + timedelta(minutes=self.rng.randrange(0, 40))
                escalation.callback_done_by = self.agent.id
        if answered:
            self.session.add(EscalationMessage(escalation_id=escalation.id, author=MessageAuthor.AGENT, agent_id=self.agent.id,
                                               text=AGENT_REPLIES[chat.language], created_at=moment + waited,
                                               delivered_at=moment + waited))
        escalation.status = EscalationStatus.RESOLVED if answered else EscalationStatus.HANDED_BACK
        escalation.closed_at = moment + waited + timedelta(minutes=self.rng.randrange(3, 20))


def add_history(session: Session, today: date, zone: ZoneInfo, personas: frozenset[str]) -> None:
    """Adds the weeks of activity before `today` to freshly seeded demo data (see the module's docstring);
    the customers numbered in `personas` keep their stories untouched."""
    history = _History(session, today, zone)
    rng = history.rng
    ordinary = session.execute(
        select(Customer).where(Customer.customer_number.not_in(personas)).order_by(Customer.id)
    ).scalars().all()
    bills_paid = _bills_paid_lately(session, history)
    for customer in ordinary:
        language = customer.language
        for invoice in bills_paid.get(customer.id, []):
            story = rng.random()
            if invoice.due_date <= history.first_day + timedelta(days=3):
                if story < 0.06:
                    _paid_in_a_plan(history, customer, invoice, language)
            elif story < 0.30:
                _paid_late(history, customer, invoice, language)
            elif story < 0.42:
                _paid_by_link_from_a_chat(history, customer, invoice, language)
            elif story < 0.48:
                _paid_after_more_time(history, customer, invoice, language)
            elif story < 0.51:
                _paid_in_a_plan(history, customer, invoice, language)
            elif story < 0.53:
                _disputed_and_resolved(history, customer, invoice, language)
            elif rng.random() < 0.4:  # paid by transfer, matched from the bank statement
                moment = invoice.payments[0].paid_at
                _forget_payments(session, invoice)
                history.pay(invoice, moment, "transfer")
        if rng.random() < 0.06 and not _owes(session, customer):  # a report pauses reminders: only with nothing open
            _reported_hardship(history, customer, language)
        if rng.random() < 0.25:
            _asked_a_question(history, customer, language)
    for _ in range(len(ordinary) // 3):
        _anonymous_chat(history, rng.choice(("nl", "nl", "fr", "fr", "en")))
    _opted_out(history, [customer for customer in ordinary if not _owes(session, customer)])
    _note_chats(session, history.chats)


def _bills_paid_lately(session: Session, history: _History) -> dict[int, list[Invoice]]:
    """Ordinary customers' bills paid in full by today and due in the last ten weeks: the history retells how
    they were paid (those due before the six weeks only through a plan that ran into them)."""
    found: dict[int, list[Invoice]] = {}
    for invoice in session.execute(
        select(Invoice).where(Invoice.status == InvoiceStatus.PAID, Invoice.due_date > history.today - timedelta(days=70),
                              Invoice.due_date < history.today - timedelta(days=4))
        .order_by(Invoice.id)
    ).scalars():
        found.setdefault(invoice.customer_id, []).append(invoice)
    return found


def _owes(session: Session, customer: Customer) -> bool:
    return session.execute(
        select(Invoice.id).where(Invoice.customer_id == customer.id, Invoice.status != InvoiceStatus.PAID).limit(1)
    ).first() is not None


def _forget_payments(session: Session, invoice: Invoice) -> None:
    """The seed's payment goes: the history records how the bill was really paid."""
    session.execute(delete(Payment).where(Payment.invoice_id == invoice.id).execution_options(synchronize_session=False))
    session.execute(update(Invoice).where(Invoice.id == invoice.id).values(last_payment_at=None))
    session.expire(invoice, ["payments", "last_payment_at"])
    invoice.status = InvoiceStatus.OPEN


def _paid_late(history: _History, customer: Customer, invoice: Invoice, language: str) -> None:
    """Reminded after the due date, paid days later through the reminder's link, by transfer or by debit."""
    rng = history.rng
    days_late = rng.choice((1, 2, 2, 3, 4, 5, 6, 8, 9, 12, 13, 16, 19, 24))
    paid_on = min(invoice.due_date + timedelta(days=days_late), history.today - timedelta(days=1))
    paid_at = history.daytime(paid_on)
    _forget_payments(history.session, invoice)
    if customer.wants_heads_up:
        history.remind(customer, invoice, HEADS_UP, invoice.due_date + timedelta(days=HEADS_UP[2]), paid_at)
    history.remind(customer, invoice, NUDGE, invoice.due_date + timedelta(days=NUDGE[2]), paid_at)
    history.remind(customer, invoice, SECOND, invoice.due_date + timedelta(days=SECOND[2]), paid_at)
    nudged_at = history.at(invoice.due_date + timedelta(days=NUDGE[2]), 7)
    how = rng.choice(("link", "link", "transfer", "debit"))
    link = history.link(customer, invoice, nudged_at, timedelta(hours=rng.randrange(1, 30)) if how == "link" or rng.random() < 0.5 else None)
    if how == "link" and link.first_opened_at is None:
        link.first_opened_at = min(paid_at - timedelta(minutes=3), nudged_at + timedelta(hours=2))
    history.pay(invoice, paid_at, how if how != "link" or paid_at < link.expires_at else "transfer", link)


def _paid_by_link_from_a_chat(history: _History, customer: Customer, invoice: Invoice, language: str) -> None:
    """Asked the bot to pay, got a link, mostly paid it within the hour."""
    rng = history.rng
    started = history.daytime(invoice.due_date - timedelta(days=rng.randrange(0, 8)))
    if not history.past(started):
        return
    chat = history.chat(customer, started, language, "pay_bill", "thank")
    link = history.link(customer, invoice, started + timedelta(minutes=2), timedelta(minutes=rng.randrange(1, 10)))
    _forget_payments(history.session, invoice)
    if rng.random() < 0.8 and link.first_opened_at is not None:
        paid_at = link.first_opened_at + timedelta(minutes=rng.randrange(2, 300))
        history.pay(invoice, min(paid_at, history.ends_before - timedelta(hours=1)), "link", link)
    else:  # seen, then paid by transfer with the page's details
        history.pay(invoice, started + timedelta(days=rng.randrange(1, 4)), "transfer")
    if rng.random() < 0.1:
        history.hand_over(chat, EscalationReason.ASKED, started + timedelta(minutes=5))


def _paid_after_more_time(history: _History, customer: Customer, invoice: Invoice, language: str) -> None:
    """Asked for two more weeks before the due date; paid by the new date, or not (reminded, paid later)."""
    rng = history.rng
    asked_on = invoice.due_date - timedelta(days=rng.randrange(1, 4))
    new_due = invoice.due_date + timedelta(days=14)
    kept = rng.random() < 0.65
    paid_on = new_due - timedelta(days=rng.randrange(0, 10)) if kept else new_due + timedelta(days=rng.randrange(2, 8))
    if paid_on >= history.today or not history.past(history.at(asked_on, 8)):
        return
    chat = history.chat(customer, history.daytime(asked_on), language, "request_payment_extension", "inform", "affirm")
    _forget_payments(history.session, invoice)
    history.session.add(Extension(invoice_id=invoice.id, original_due_date=invoice.due_date, new_due_date=new_due,
                                  created_at=chat.started_at + timedelta(minutes=3)))
    invoice.due_date = new_due
    paid_at = history.daytime(paid_on)
    history.remind(customer, invoice, NUDGE, new_due + timedelta(days=NUDGE[2]), paid_at)
    history.pay(invoice, paid_at, rng.choice(("transfer", "debit")))


def _paid_in_a_plan(history: _History, customer: Customer, invoice: Invoice, language: str) -> None:
    """Agreed in the chat to pay the bill in two or three monthly instalments: those due by now are paid by
    transfer (on time, or a day late), the rest wait; or the first was missed, the plan broke 15 days later
    (policy/arrangements.yml) and the bill was paid by transfer after."""
    rng = history.rng
    started = history.daytime(invoice.due_date - timedelta(days=rng.randrange(0, 3)))
    first_due = started.astimezone(history.zone).date() + timedelta(days=rng.randrange(3, 11))
    parts = schedule(invoice.total_cents, rng.choice((2, 3)), first_due)
    broken_on = first_due + timedelta(days=15)
    breaks = rng.random() < 0.2 and broken_on < history.today - timedelta(days=1)
    if first_due >= history.today - timedelta(days=1):
        return
    chat = history.chat(customer, started, language, "request_instalment_plan", "inform", "affirm")
    _forget_payments(history.session, invoice)
    plan = InstalmentPlan(reference=f"PLAN-D{next(history.numbers):05d}", customer_id=customer.id,
                          total_cents=invoice.total_cents, created_at=chat.started_at + timedelta(minutes=4),
                          status=PlanStatus.ACTIVE, invoices=[invoice],
                          instalments=[Instalment(number=p.number, due_date=p.due_date, amount_cents=p.amount_cents, paid_cents=0)
                                       for p in parts])
    history.session.add(plan)
    invoice.status = InvoiceStatus.IN_PLAN
    history.session.flush()
    if breaks:
        plan.status, plan.ended_at = PlanStatus.BROKEN, history.at(broken_on, 6)
        invoice.status = InvoiceStatus.OPEN
        history.pay(invoice, history.daytime(broken_on + timedelta(days=1)), "transfer")
        return
    for part in parts:
        if part.due_date >= history.today:
            break  # not due yet: the plan runs on
        paid_on = min(part.due_date + timedelta(days=1 if rng.random() < 0.15 else -rng.randrange(0, 3)),
                      history.today - timedelta(days=1))
        # received by transfer: the import credits the plan's instalments and completes the plan with the last
        history.pay(invoice, history.daytime(paid_on), "transfer", cents=part.amount_cents)


def _disputed_and_resolved(history: _History, customer: Customer, invoice: Invoice, language: str) -> None:
    """Contested a paid bill in the chat (a person took it); billing resolved most, the rest are on hold."""
    rng = history.rng
    started = history.daytime(invoice.issue_date + timedelta(days=rng.randrange(1, 40)))
    if not history.past(started):
        return
    chat = history.chat(customer, started, language, "dispute_bill", "inform")
    resolved = rng.random() < 0.75
    history.session.add(Dispute(reference=f"DIS-D{next(history.numbers):05d}", invoice_id=invoice.id, customer_id=customer.id,
                                reason="The meter reading on this bill is not mine",
                                status=DisputeStatus.RESOLVED if resolved else DisputeStatus.OPEN,
                                previous_invoice_status=InvoiceStatus.PAID, created_at=started + timedelta(minutes=3)))
    if not resolved:  # on hold until billing has checked it
        invoice.status = InvoiceStatus.DISPUTED
    history.hand_over(chat, EscalationReason.DISPUTE, started + timedelta(minutes=3))


def _reported_hardship(history: _History, customer: Customer, language: str) -> None:
    """Said money is tight: the report (and the social service it was given), sometimes a person after."""
    started = history.daytime(history.first_day + timedelta(days=history.rng.randrange(1, HISTORY_DAYS)))
    if not history.past(started):
        return
    chat = history.chat(customer, started, language, "report_financial_hardship", "thank")
    report_hardship(history.session, customer.id, started + timedelta(minutes=2), history.zone)
    if history.rng.random() < 0.5:
        history.hand_over(chat, EscalationReason.HARDSHIP, started + timedelta(minutes=3), callback=history.rng.random() < 0.5)


def _asked_a_question(history: _History, customer: Customer, language: str) -> None:
    """A verified chat about the balance, a due date or why a bill is higher; now and then a person after."""
    rng = history.rng
    started = history.daytime(history.first_day + timedelta(days=rng.randrange(1, HISTORY_DAYS)))
    if not history.past(started):
        return
    topic = rng.choice(("check_balance", "check_due_date", "explain_bill", "explain_bill"))
    ending = rng.choice(("thank", "thank", "express_frustration", "request_human", "nlu_fallback"))
    chat = history.chat(customer, started, language, topic, ending)
    if ending in ("express_frustration", "request_human"):
        reason = EscalationReason.UPSET if ending == "express_frustration" else EscalationReason.ASKED
        history.hand_over(chat, reason, started + timedelta(minutes=4), answered=rng.random() < 0.85,
                          callback=rng.random() < 0.6)


#: How customers opt out in the history, in turn: mostly SMS from the link in an SMS, some e-mail, a few everything.
OPT_OUTS = (("sms", OptOutSource.LINK), ("email", OptOutSource.LINK), ("sms", OptOutSource.CHAT), ("sms", OptOutSource.LINK),
            ("all", OptOutSource.CHAT), ("sms", OptOutSource.LINK), ("email", OptOutSource.LINK), ("all", OptOutSource.CONSOLE))


def _opted_out(history: _History, customers: list[Customer]) -> None:
    """About one in five customers with nothing open opted out of reminders in the last four weeks, one in three of
    them came back later: only they take part, so today's reminder run is the same as without the history. A
    generator of its own keeps the rest of the history as it was."""
    rng = random.Random(f"settle-opt-outs-{history.today.isoformat()}")
    ways = itertools.cycle(OPT_OUTS)
    for number, customer in enumerate(customer for customer in customers if rng.random() < 0.2):
        channel, source = next(ways)
        moment = history.at(history.today - timedelta(days=rng.randrange(4, 29)), rng.randrange(8, 21), rng.randrange(60))
        by = history.agent.id if source == OptOutSource.CONSOLE and history.agent else None
        history.session.add(ReminderChoice(customer_id=customer.id, channel=channel, opted_out=True, source=source,
                                           agent_id=by, created_at=moment))
        if number % 3 == 2:  # one in three changed their mind a few days later, in the chat
            history.session.add(ReminderChoice(customer_id=customer.id, channel=channel, opted_out=False,
                                               source=OptOutSource.CHAT, created_at=moment + timedelta(days=rng.randrange(1, 4))))


def _anonymous_chat(history: _History, language: str) -> None:
    """A chat that never says who it is: a general question, something Settle does not do, or lost words."""
    rng = history.rng
    started = history.daytime(history.first_day + timedelta(days=rng.randrange(1, HISTORY_DAYS)))
    if not history.past(started):
        return
    topic = rng.choice(ANONYMOUS_TOPICS)
    intents = ["greet", topic] + (["nlu_fallback", "nlu_fallback"] if topic == "nlu_fallback" else [])
    chat = history.chat(None, started, language, *intents)
    if topic == "nlu_fallback":
        history.hand_over(chat, EscalationReason.REPEATED_FALLBACK, started + timedelta(minutes=2))
    elif topic == "request_human":
        history.hand_over(chat, EscalationReason.ASKED, started + timedelta(minutes=1), answered=rng.random() < 0.8)


def _note_chats(session: Session, chats: list[_Chat]) -> None:
    """Each chat's row and its messages as NLU understood them (already masked), as the action after every
    message notes them; a verified chat proves who it is with its fourth message (the last answer). The bot's
    last turn ends as the tracker store notes it: asking to rephrase after a message it did not understand."""
    for chat in chats:
        moments = list(_moments(chat))
        customer_id = chat.customer.id if chat.customer is not None and len(moments) > 3 else None
        last_actions = chat.turns[-1][3]
        session.add(Conversation(conversation_id=chat.conversation_id, started_at=chat.started_at,
                                 last_message_at=moments[-1], messages=len(chat.turns),
                                 customer_id=customer_id, verified_at=moments[3] if customer_id else None,
                                 language=chat.language, turn_ended_at=moments[-1] + timedelta(seconds=2),
                                 waiting_for="rephrase" if last_actions[-1:] == ("action_handle_fallback",) else None))
        for position, ((text, intent, confidence, actions), moment) in enumerate(zip(chat.turns, moments), start=1):
            later = position < len(chat.turns)  # the last message's actions are known at the next, which never came
            session.add(ConversationMessage(
                conversation_id=chat.conversation_id, position=position, received_at=moment, text=text,
                language=chat.language, intent=intent, confidence=confidence, entities=[],
                actions=list(actions) if later else None))
    session.flush()


def _moments(chat: _Chat) -> Iterator[datetime]:
    moment = chat.started_at
    for number in range(len(chat.turns)):
        yield moment + timedelta(seconds=20 * number)
