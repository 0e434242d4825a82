"""Can't pay now, one function per use case: instalment plans, extensions, disputes and hardship.

Every function opens its own unit of work; those that store something check every rule again there,
whatever the conversation said before. Callers put the results and the exceptions into words.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from settle.arrangements import disputes, hardship, plans
from settle.arrangements.hardship import WelfareService
from settle.arrangements.plans import PlanSummary, ScheduledInstalment
from settle.billing import choosing
from settle.billing.invoices import open_balance
from settle.errors import NotEligibleForExtension, NotEligibleForPlan, OutOfRange
from settle.handoff.office_hours import OfficeHours
from settle.handoff.takeover import hand_over
from settle.models import Customer, EscalationReason, Invoice
from settle.money import euros, to_cents
from settle.numbers import parse_count
from settle.payments.incoming import open_cents
from settle.payments.links import offer_instalment_link
from settle.unit_of_work import UnitOfWork

# -- instalment plans -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanTerms:
    """What a new plan would cover now: the open total, the months allowed, the latest first due date."""

    total: Decimal
    min_months: int
    max_months: int
    latest_start: date


@dataclass(frozen=True)
class PlanRefusal:
    """Why no plan is possible, with the policy's minimum and the customer's open total to say so."""

    reason: str
    minimum: Decimal
    total_open: Decimal
    #: Whether more time is possible instead, so a refusal never points to a door that is shut too.
    extension_possible: bool


def offer_plan(uow: UnitOfWork, customer_id: int) -> PlanSummary | PlanTerms | PlanRefusal:
    """The plan already running, or what a new plan could be, or why there can't be one."""
    with uow:
        running = plans.active_plan(uow.session, customer_id)
        if running is not None:
            return running
        try:
            offer = plans.plan_offer(uow.session, customer_id, uow.policy, uow.clock.today())
        except NotEligibleForPlan as refusal:
            minimum = uow.policy.instalment_plan.minimum_open_amount
            total_open = open_balance(uow.session, customer_id).total_open
            return PlanRefusal(refusal.reason, minimum, total_open, _extension_possible(uow, customer_id))
        return PlanTerms(offer.total, offer.min_months, offer.max_months, offer.latest_start)


@dataclass(frozen=True)
class PlanDetails:
    """A plan's months and first due date read from one message, each None when not said or not allowed."""

    months: int | None
    #: The months as typed ("6 months"), also when not allowed, to say so; None when not said.
    months_said: str | None
    start: date | None
    start_said: bool
    min_months: int
    max_months: int
    latest_start: date
    #: A first due date to show as an example: one the plan accepts.
    example_start: date


def read_plan_details(uow: UnitOfWork, customer_id: int, typed: str) -> PlanDetails:
    """The months and the first due date in what the customer typed ("6 months starting next Friday"), checked
    against the plan's rules; NotEligibleForPlan when no plan is possible any more."""
    with uow:
        today = uow.clock.today()
        offer = plans.plan_offer(uow.session, customer_id, uow.policy, today)
        typed_details = plans.plan_details_typed(typed, today)
        months = start = None
        if typed_details.months is not None:
            try:
                months = plans.check_months(offer, parse_count(typed_details.months) or 0)
            except OutOfRange:
                months = None
        if typed_details.start is not None:
            try:
                start = plans.check_start(offer, typed_details.start, today, uow.policy)
            except OutOfRange:
                start = None
        return PlanDetails(
            months, typed_details.months, start, typed_details.start is not None,
            offer.min_months, offer.max_months, offer.latest_start, plans.example_start(today, offer.latest_start),
        )


@dataclass(frozen=True)
class PlanSchedule:
    """The schedule to confirm; `total_cents` is what the customer agrees to when they say yes."""

    total: Decimal
    total_cents: int
    instalments: list[ScheduledInstalment]


def plan_schedule(uow: UnitOfWork, customer_id: int, months: int, start: date) -> PlanSchedule:
    """The instalments the chosen plan would have, for the customer to confirm; NotEligibleForPlan if none is possible."""
    with uow:
        offer = plans.plan_offer(uow.session, customer_id, uow.policy, uow.clock.today())
        total_cents = to_cents(offer.total)
        return PlanSchedule(offer.total, total_cents, plans.schedule(total_cents, months, start))


@dataclass(frozen=True)
class AgreedPlan:
    """A stored plan and the payment link for its first instalment."""

    reference: str
    first_amount: Decimal
    first_due: date
    link_url: str


def agree_plan(uow: UnitOfWork, customer_id: int, months: int, start: date, agreed_total_cents: int | None) -> AgreedPlan:
    """Stores the plan the customer confirmed, with the link for its first instalment, in one transaction.

    Raises:
        NotEligibleForPlan: a rule no longer allows a plan.
        OutOfRange: the months or start are no longer allowed, or the open total is not the one agreed to.
    """
    with uow:
        now = uow.clock.now()
        plan = plans.create_plan(
            uow.session, customer_id, months, start, uow.policy, uow.clock.today(), now, agreed_total_cents=agreed_total_cents
        )
        link = offer_instalment_link(uow.session, plan, uow.settings, now)
        agreed = AgreedPlan(plan.reference, link.amount, plan.instalments[0].due_date, link.url)
        uow.commit()
        return agreed


# -- extensions -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExtensionTerms:
    """The bill that may get more time: its number and amount, its due date now, the latest new one."""

    invoice_number: str
    amount: Decimal
    current_due: date
    latest: date


def offer_extension(uow: UnitOfWork, customer_id: int, invoice_number: str | None) -> ExtensionTerms:
    """By when the named bill (or the open one due first) may be paid instead; NotEligibleForExtension says why
    not, and whether a payment plan is possible instead (`plan_possible`)."""
    with uow:
        try:
            offer = plans.extension_offer(uow.session, customer_id, invoice_number, uow.policy, uow.clock.today())
        except NotEligibleForExtension as refusal:
            raise NotEligibleForExtension(refusal.reason, refusal.invoice_number, _plan_possible(uow, customer_id)) from None
        # What is still open on it: a partly paid bill is not offered more time for its whole total.
        return ExtensionTerms(offer.invoice.number, euros(open_cents(uow.session, offer.invoice)), offer.current_due, offer.latest)


def _plan_possible(uow: UnitOfWork, customer_id: int) -> bool:
    try:
        plans.plan_offer(uow.session, customer_id, uow.policy, uow.clock.today())
    except NotEligibleForPlan:
        return False
    return True


def _extension_possible(uow: UnitOfWork, customer_id: int) -> bool:
    try:
        plans.extension_offer(uow.session, customer_id, None, uow.policy, uow.clock.today())
    except NotEligibleForExtension:
        return False
    return True


@dataclass(frozen=True)
class ExtensionDate:
    """The new due date the customer typed, or None when it isn't a date within the window."""

    chosen: date | None
    current_due: date
    latest: date


def check_extension_date(uow: UnitOfWork, customer_id: int, invoice_number: str | None, typed: str) -> ExtensionDate:
    """Reads the new due date the customer typed and checks it against the window; NotEligibleForExtension if none."""
    with uow:
        today = uow.clock.today()
        offer = plans.extension_offer(uow.session, customer_id, invoice_number, uow.policy, today)
        chosen = plans.parse_date(typed, today)
        try:
            if chosen is not None:
                chosen = plans.check_extension_date(offer, chosen, today)
        except OutOfRange:
            chosen = None
        return ExtensionDate(chosen, offer.current_due, offer.latest)


def means_go_back(typed: str) -> bool:
    """A request to go back to the plan being set up ("ok go back to the plan"), not for a new one. Needs no database."""
    return plans.says_go_back(typed)


def means_stop(typed: str) -> bool:
    """A no at a confirmation that stops ("never mind") rather than corrects ("no wait, the 9th")."""
    return plans.says_stop(typed)


@dataclass(frozen=True)
class GrantedExtension:
    invoice_number: str
    new_due_date: date


def grant_extension(uow: UnitOfWork, customer_id: int, invoice_number: str | None, new_due: date) -> GrantedExtension:
    """Moves the bill's due date, checking every rule again.

    Raises:
        NotEligibleForExtension: a rule says no now (e.g. granted in another chat a moment ago).
        OutOfRange: the date is no longer within the window.
    """
    with uow:
        extension = plans.grant_extension(
            uow.session, customer_id, invoice_number, new_due, uow.policy, uow.clock.today(), uow.clock.now()
        )
        granted = GrantedExtension(extension.invoice.number, extension.new_due_date)
        uow.commit()
        return granted


# -- disputes -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DisputableBill:
    number: str
    period_start: date
    total: Decimal


def disputable_bills(uow: UnitOfWork, customer_id: int | None) -> list[DisputableBill]:
    """The customer's recent bills that can be disputed, newest first (none before verification)."""
    if customer_id is None:
        return []
    with uow:
        return [_disputable(bill) for bill in disputes.disputable_invoices(uow.session, customer_id)]


def _disputable(bill: Invoice) -> DisputableBill:
    return DisputableBill(bill.number, bill.period_start, euros(bill.total_cents))


def match_disputable_bill(uow: UnitOfWork, customer_id: int | None, typed: str) -> str | None:
    """The number of the disputable bill the customer typed or named ("the october one"), or None when it is
    none of them; NoBillForMonth when the month named has no disputable bill (with the months that have one)."""
    if customer_id is None:
        return None
    with uow:
        bills = disputes.disputable_invoices(uow.session, customer_id)
        numbers = [bill.number for bill in bills]
        named = disputes.matching_invoice_number(numbers, typed) or choosing.number_meant(bills, typed, uow.clock.today())
        return named if named in numbers else None


def dispute_asked_about(uow: UnitOfWork, customer_id: int | None, message: str) -> str | None:
    """The bill of the customer's newest open dispute when the message asks how their complaint stands; None
    when it asks something else or there is no open dispute (then a new one is started)."""
    if customer_id is None or not disputes.asks_how_a_dispute_stands(message):
        return None
    with uow:
        return next(iter(disputes.under_open_dispute(uow.session, customer_id)), None)


def is_under_open_dispute(uow: UnitOfWork, customer_id: int | None, typed: str) -> bool:
    """Whether the customer typed the number of one of their bills already under an open dispute."""
    if customer_id is None:
        return False
    with uow:
        return disputes.matching_invoice_number(disputes.under_open_dispute(uow.session, customer_id), typed) is not None


def dispute_reason_in_request(message: str) -> str | None:
    """What is wrong, when the customer said it while asking to dispute; None when they only asked. Needs no database."""
    return disputes.reason_in_request(message)


def check_dispute_reason(reason: str) -> str:
    """The reason as typed, if it can be kept; UnusableDisputeReason says why not. Needs no database."""
    return disputes.check_reason(reason)


def open_dispute(uow: UnitOfWork, customer_id: int, invoice_number: str | None, reason: str, conversation_id: str) -> str:
    """Files the dispute (bill on hold, a person told) and gives its reference.

    Raises:
        AlreadyDisputed: carries the existing dispute's reference.
        InvoiceNotFound: no such bill of this customer.
        UnusableDisputeReason: the reason can't be kept.
    """
    with uow:
        dispute = disputes.open_dispute(uow.session, customer_id, invoice_number, reason, conversation_id, uow.clock.now())
        reference = dispute.reference
        uow.commit()
        return reference


# -- hardship -------------------------------------------------------------------------------------


def report_hardship(
    uow: UnitOfWork, customer_id: int | None, conversation_id: str, transcript: list[dict], topics: list[str]
) -> WelfareService:
    """Notes the hardship (only for a verified customer) and queues the chat for a person, together:
    either both are recorded or neither. Gives the social-welfare service to point the customer to."""
    with uow:
        customer = _customer(uow.session, customer_id)
        if customer is not None:
            hardship.report_hardship(uow.session, customer.id, uow.clock.now(), uow.clock.zone)
        service = hardship.welfare_service_for(customer)
        hand_over(
            uow.session, EscalationReason.HARDSHIP, conversation_id, customer_id, transcript, topics,
            OfficeHours.parse(uow.settings.office_hours, uow.settings.timezone),
            uow.settings.minutes_per_waiting_customer, uow.clock.now(),
        )
        uow.commit()
        return service


def _customer(session: Session, customer_id: int | None) -> Customer | None:
    return session.get(Customer, customer_id) if customer_id is not None else None
