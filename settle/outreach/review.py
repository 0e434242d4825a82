"""Accounts the reminder engine flagged for a person to review, and what a person did about them.

An account is on the list from its latest flagged reminder until a person marks it reviewed; a later
flagged reminder puts it back. A person may note a call, pause the customer's reminders, and offer more
time or a plan on the way: through the same rules (settle.arrangements.plans) as the chat.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from settle.arrangements import plans
from settle.billing.invoices import InvoiceSummary, open_balance
from settle.config import Settings
from settle.errors import FlaggedAccountNotFound, NotEligibleForExtension, NotEligibleForPlan, ReviewProblem
from settle.models import (
    AccountReviewEntry,
    Customer,
    Dispute,
    HardshipReport,
    Instalment,
    Invoice,
    InvoiceStatus,
    OutboxMessage,
    Reminder,
    ReminderSubject,
    ReviewAction,
)
from settle.money import to_cents
from settle.outreach.opt_outs import Choice, choices, opted_out_channels
from settle.payments.links import LinkOffer, offer_instalment_link
from settle.policy import ArrangementPolicy

MAX_NOTE_LENGTH = 2000
#: How many accounts the list shows at once: those waiting longest, so the list is worked from the top.
LIST_LENGTH = 50


@dataclass(frozen=True)
class FlaggedAccount:
    """One line of the review list."""

    customer_id: int
    customer_number: str
    name: str
    flagged_at: datetime
    total_open: Decimal
    days_late: int
    reminders_paused: bool


@dataclass(frozen=True)
class FlaggedList:
    """The first `LIST_LENGTH` accounts waiting for review, and how many wait in all."""

    accounts: list[FlaggedAccount]
    waiting: int


@dataclass(frozen=True)
class PausedAccount:
    """A customer whose reminders a person paused, listed (reviewed or not) so that nobody is forgotten."""

    customer_id: int
    customer_number: str
    name: str
    paused_at: datetime


@dataclass(frozen=True)
class Delivery:
    channel: str
    status: str
    sent_at: datetime | None
    error: str | None


@dataclass(frozen=True)
class SentReminder:
    """A reminder with its messages and what came of it: the bill's (or instalment's) state now."""

    stage: str
    decided_at: datetime
    flagged: bool
    about: str
    outcome: str
    deliveries: tuple[Delivery, ...]


@dataclass(frozen=True)
class FiledDispute:
    reference: str
    invoice_number: str
    status: str
    reason: str
    filed_at: datetime


@dataclass(frozen=True)
class ReviewEntry:
    action: ReviewAction
    by: str
    at: datetime
    note: str | None


@dataclass(frozen=True)
class MoreTime:
    """Whether a bill may still get a later due date, by the chat's rules: the window, or why not."""

    invoice_number: str
    current_due: date
    latest: date | None
    refusal: str | None


@dataclass(frozen=True)
class PlanChoice:
    """What a new plan could be by the chat's rules (total, months allowed, latest first due date), or why not."""

    total: Decimal | None
    total_cents: int | None
    min_months: int | None
    max_months: int | None
    latest_start: date | None
    refusal: str | None


@dataclass(frozen=True)
class AccountReview:
    """Everything a person needs to decide about one flagged account."""

    account: FlaggedAccount
    email: str | None
    phone: str | None
    preferred_channel: str
    open_bills: tuple[InvoiceSummary, ...]
    reminders: tuple[SentReminder, ...]
    hardship_reported: tuple[datetime, ...]
    disputes: tuple[FiledDispute, ...]
    entries: tuple[ReviewEntry, ...]
    more_time: tuple[MoreTime, ...]
    plan: PlanChoice
    #: The channels the customer opted out of now, and every opt-out and opt-in, newest first.
    opted_out: frozenset[str]
    reminder_choices: tuple[Choice, ...]


def _waiting_for_review(customer_id: int | None = None):
    """(customer id, latest flag) of every account (or only this customer's) flagged since it was last marked reviewed."""
    only = [] if customer_id is None else [Reminder.customer_id == customer_id]
    flagged = (
        select(Reminder.customer_id, func.max(Reminder.created_at).label("flagged_at"))
        .where(Reminder.flagged_for_review.is_(True), *only).group_by(Reminder.customer_id).subquery()
    )
    only_reviews = [] if customer_id is None else [AccountReviewEntry.customer_id == customer_id]
    reviewed = (
        select(AccountReviewEntry.customer_id, func.max(AccountReviewEntry.created_at).label("reviewed_at"))
        .where(AccountReviewEntry.action == ReviewAction.REVIEWED, *only_reviews)
        .group_by(AccountReviewEntry.customer_id).subquery()
    )
    return (
        select(flagged.c.customer_id, flagged.c.flagged_at)
        .outerjoin(reviewed, reviewed.c.customer_id == flagged.c.customer_id)
        .where(or_(reviewed.c.reviewed_at.is_(None), reviewed.c.reviewed_at < flagged.c.flagged_at))
    )


def flagged_accounts(session: Session, today: date, limit: int = LIST_LENGTH) -> FlaggedList:
    """The accounts waiting for a person, those flagged longest ago first, and how many wait."""
    waiting = _waiting_for_review().subquery()
    total = session.execute(select(func.count()).select_from(waiting)).scalar_one()
    rows = session.execute(
        select(Customer, waiting.c.flagged_at).join(waiting, waiting.c.customer_id == Customer.id)
        .order_by(waiting.c.flagged_at, Customer.id).limit(limit)
    ).all()
    return FlaggedList([_account(session, customer, flagged_at, today) for customer, flagged_at in rows], total)


def _account(session: Session, customer: Customer, flagged_at: datetime, today: date) -> FlaggedAccount:
    balance = open_balance(session, customer.id)
    return FlaggedAccount(
        customer_id=customer.id,
        customer_number=customer.customer_number,
        name=f"{customer.first_name} {customer.last_name}",
        flagged_at=flagged_at,
        total_open=balance.total_open,
        days_late=max((bill.days_overdue(today) for bill in balance.invoices), default=0),
        reminders_paused=customer.reminders_paused_at is not None,
    )


def _flagged_customer(session: Session, customer_id: int) -> tuple[Customer, datetime]:
    waiting = _waiting_for_review(customer_id).subquery()
    found = session.execute(
        select(Customer, waiting.c.flagged_at).join(waiting, waiting.c.customer_id == Customer.id).where(Customer.id == customer_id)
    ).first()
    if found is None:
        raise FlaggedAccountNotFound(customer_id)
    return found[0], found[1]


def account_review(session: Session, customer_id: int, today: date, policy: ArrangementPolicy) -> AccountReview:
    """The flagged account with its open bills, reminders, hardship, disputes and what people did so far.

    Raises:
        FlaggedAccountNotFound: the account is not waiting for review.
    """
    customer, flagged_at = _flagged_customer(session, customer_id)
    account = _account(session, customer, flagged_at, today)
    open_bills = open_balance(session, customer.id).invoices
    hardship = session.execute(
        select(HardshipReport.reported_at).where(HardshipReport.customer_id == customer.id).order_by(HardshipReport.reported_at)
    ).scalars().all()
    disputes = session.execute(
        select(Dispute).where(Dispute.customer_id == customer.id).order_by(Dispute.created_at)
    ).scalars().all()
    entries = session.execute(
        select(AccountReviewEntry).where(AccountReviewEntry.customer_id == customer.id).order_by(AccountReviewEntry.created_at)
    ).scalars().all()
    return AccountReview(
        account=account,
        email=customer.email,
        phone=customer.phone,
        preferred_channel=str(customer.preferred_channel),
        open_bills=tuple(open_bills),
        reminders=tuple(_reminders(session, customer.id)),
        hardship_reported=tuple(hardship),
        disputes=tuple(FiledDispute(d.reference, d.invoice.number, str(d.status), d.reason, d.created_at) for d in disputes),
        entries=tuple(ReviewEntry(ReviewAction(e.action), e.agent.name, e.created_at, e.note) for e in entries),
        more_time=tuple(_more_time(session, customer.id, bill, policy, today) for bill in open_bills
                        if bill.status in (InvoiceStatus.OPEN, InvoiceStatus.PARTIALLY_PAID)),
        plan=_plan_choice(session, customer.id, policy, today),
        opted_out=opted_out_channels(session, [customer.id]).get(customer.id, frozenset()),
        reminder_choices=tuple(choices(session, customer.id)),
    )


def _more_time(session: Session, customer_id: int, bill: InvoiceSummary, policy: ArrangementPolicy, today: date) -> MoreTime:
    try:
        offer = plans.extension_offer(session, customer_id, bill.number, policy, today)
    except NotEligibleForExtension as refusal:
        return MoreTime(bill.number, bill.due_date, None, refusal.reason)
    return MoreTime(bill.number, offer.current_due, offer.latest, None)


def _plan_choice(session: Session, customer_id: int, policy: ArrangementPolicy, today: date) -> PlanChoice:
    try:
        offer = plans.plan_offer(session, customer_id, policy, today)
    except NotEligibleForPlan as refusal:
        return PlanChoice(None, None, None, None, None, refusal.reason)
    return PlanChoice(offer.total, to_cents(offer.total), offer.min_months, offer.max_months, offer.latest_start, None)


def _reminders(session: Session, customer_id: int) -> list[SentReminder]:
    reminders = session.execute(
        select(Reminder).where(Reminder.customer_id == customer_id).order_by(Reminder.created_at.desc(), Reminder.id.desc())
    ).scalars().all()
    result = []
    for reminder in reminders:
        messages = session.execute(
            select(OutboxMessage).where(OutboxMessage.reminder_id == reminder.id).order_by(OutboxMessage.id)
        ).scalars().all()
        about, outcome = _subject(session, reminder)
        result.append(SentReminder(
            stage=reminder.stage, decided_at=reminder.created_at, flagged=reminder.flagged_for_review, about=about,
            outcome=outcome,
            deliveries=tuple(Delivery(str(m.channel), str(m.status), m.sent_at, m.last_error) for m in messages),
        ))
    return result


def _subject(session: Session, reminder: Reminder) -> tuple[str, str]:
    """What the reminder was about, and its state now: what came of it."""
    if reminder.subject == ReminderSubject.INVOICE:
        invoice = session.get(Invoice, reminder.subject_id)
        return f"bill {invoice.number}", str(invoice.status)
    instalment = session.get(Instalment, reminder.subject_id)
    state = "paid" if instalment.paid_cents >= instalment.amount_cents else "not paid yet"
    return f"instalment due {instalment.due_date.isoformat()}", state


def record(session: Session, customer_id: int, agent_id: int, action: ReviewAction, now: datetime, note: str = "") -> None:
    """Keeps what a person did about a flagged account; pausing also stops the customer's reminders.

    Raises:
        FlaggedAccountNotFound: the account is not waiting for review.
        ReviewProblem: a call noted without a note, or a note too long.
    """
    customer, _ = _flagged_customer(session, customer_id)
    note = (note or "").strip()
    if action == ReviewAction.CALL_NOTED and not note:
        raise ReviewProblem("Write what was said in the call before saving the note.")
    if len(note) > MAX_NOTE_LENGTH:
        raise ReviewProblem(f"A note holds at most {MAX_NOTE_LENGTH} characters.")
    if action == ReviewAction.REMINDERS_PAUSED and customer.reminders_paused_at is None:
        customer.reminders_paused_at = now
    session.add(AccountReviewEntry(customer_id=customer.id, agent_id=agent_id, action=action, note=note or None, created_at=now))
    session.flush()


def grant_more_time(session: Session, customer_id: int, agent_id: int, invoice_number: str, new_due: date,
                    policy: ArrangementPolicy, today: date, now: datetime) -> None:
    """Moves a bill's due date as the chat would (every rule checked again), and keeps it as done by this person.

    Raises:
        FlaggedAccountNotFound: the account is not waiting for review.
        NotEligibleForExtension: a rule says no; OutOfRange: the date is outside the window.
    """
    _flagged_customer(session, customer_id)
    extension = plans.grant_extension(session, customer_id, invoice_number, new_due, policy, today, now)
    record(session, customer_id, agent_id, ReviewAction.EXTENSION_GRANTED, now,
           f"{extension.invoice.number} now due {extension.new_due_date.isoformat()}")


def agree_plan(session: Session, customer_id: int, agent_id: int, months: int, start: date, agreed_total_cents: int,
               policy: ArrangementPolicy, settings: Settings, today: date, now: datetime) -> LinkOffer:
    """Sets up the plan the customer agreed to on the phone as the chat would, and gives the link for its first
    instalment (to pass on); the plan is kept as done by this person.

    Raises:
        FlaggedAccountNotFound: the account is not waiting for review.
        NotEligibleForPlan: a rule says no; OutOfRange: the months, the start or the open total are not allowed
            or changed since the page showed them.
    """
    _flagged_customer(session, customer_id)
    plan = plans.create_plan(session, customer_id, months, start, policy, today, now, agreed_total_cents=agreed_total_cents)
    link = offer_instalment_link(session, plan, settings, now)
    record(session, customer_id, agent_id, ReviewAction.PLAN_AGREED, now,
           f"Plan {plan.reference}: {months} instalments, the first due {start.isoformat()}")
    return link


def paused_accounts(session: Session, limit: int = LIST_LENGTH) -> list[PausedAccount]:
    """The customers whose reminders are paused, paused longest ago first."""
    customers = session.execute(
        select(Customer).where(Customer.reminders_paused_at.is_not(None))
        .order_by(Customer.reminders_paused_at, Customer.id).limit(limit)
    ).scalars().all()
    return [PausedAccount(c.id, c.customer_number, f"{c.first_name} {c.last_name}", c.reminders_paused_at) for c in customers]


def resume_reminders(session: Session, customer_id: int, agent_id: int, now: datetime) -> str:
    """Lets the engine remind the customer again from its next run, flagged or reviewed; gives their name.

    Raises:
        ReviewProblem: the customer's reminders are not paused.
    """
    customer = session.get(Customer, customer_id)
    if customer is None or customer.reminders_paused_at is None:
        raise ReviewProblem("Reminders are not paused for this customer.")
    customer.reminders_paused_at = None
    session.add(AccountReviewEntry(customer_id=customer.id, agent_id=agent_id, action=ReviewAction.REMINDERS_RESUMED,
                                   created_at=now))
    session.flush()
    return f"{customer.first_name} {customer.last_name}"
