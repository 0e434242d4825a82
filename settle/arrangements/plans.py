"""Can't pay now: instalment plans and extensions, by the rules in the arrangements policy.

Every function that stores something checks the rules again itself: what a conversation said earlier
is never trusted. Money is integer cents in the database and Decimal euros in what is returned.
"""
from __future__ import annotations

import calendar
import re
import secrets
import string
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

from sqlalchemy import exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from settle.errors import NotEligibleForExtension, NotEligibleForPlan, OutOfRange
from settle.models import (
    Customer,
    Extension,
    Instalment,
    InstalmentPlan,
    Invoice,
    InvoiceStatus,
    PlanStatus,
)
from settle.money import euros
from settle.numbers import WORDS as COUNT_WORDS
from settle.payments.incoming import open_cents
from settle.policy import ArrangementPolicy
from settle.words import dates_in_english, names_a_date, plain

#: Invoices a plan or an extension may cover: disputed and in-plan invoices never are.
ARRANGEABLE_STATUSES = (InvoiceStatus.OPEN, InvoiceStatus.PARTIALLY_PAID)

_REFERENCE_ALPHABET = string.ascii_uppercase + string.digits
_REFERENCE_TRIES = 5


@dataclass(frozen=True)
class PlanOffer:
    """What a plan may cover now: the invoices, their open total, the months allowed, the latest start."""

    invoices: list[Invoice]
    total: Decimal
    min_months: int
    max_months: int
    latest_start: date


@dataclass(frozen=True)
class ScheduledInstalment:
    """One monthly part of a schedule, before or after it is stored."""

    number: int
    due_date: date
    amount_cents: int


class NextInstalment(NamedTuple):
    """The instalment to pay next and what is still to pay on it; unpacks as (number, due_date, left)."""

    number: int
    due_date: date
    left: Decimal


@dataclass(frozen=True)
class InstalmentSummary:
    """One instalment of a running plan, in euros."""

    number: int
    due_date: date
    amount: Decimal
    paid: Decimal

    @property
    def left(self) -> Decimal:
        """What is still to pay on this instalment."""
        return self.amount - self.paid


@dataclass(frozen=True)
class PlanSummary:
    """A running plan as the customer sees it: what is paid, what is left, what comes next."""

    reference: str
    total: Decimal
    paid: Decimal
    left: Decimal
    next_instalment: NextInstalment | None
    instalments: list[InstalmentSummary]


@dataclass(frozen=True)
class ExtensionOffer:
    """The invoice that may get more time, its due date now, and the latest new due date."""

    invoice: Invoice
    current_due: date
    latest: date


# -- instalment plans -----------------------------------------------------------------------------


def plan_offer(session: Session, customer_id: int, policy: ArrangementPolicy, today: date) -> PlanOffer:
    """What a plan could cover and for how many months, or why there can't be one.

    Account-wide refusals come first (a running plan), then what is open, then a recent broken plan.
    """
    rules = policy.instalment_plan
    active = session.execute(
        select(func.count()).select_from(InstalmentPlan).where(
            InstalmentPlan.customer_id == customer_id, InstalmentPlan.status == PlanStatus.ACTIVE
        )
    ).scalar_one()
    if active >= rules.max_active_plans:
        raise NotEligibleForPlan("active_plan")
    invoices, total_cents = _arrangeable_invoices(session, customer_id)
    if not invoices:
        raise NotEligibleForPlan("nothing_open")
    total = euros(total_cents)
    if total < rules.minimum_open_amount:
        raise NotEligibleForPlan("below_minimum")
    if _broke_recently(session, customer_id, rules.no_broken_plan_within_months, today):
        raise NotEligibleForPlan("broken_recently")
    band = rules.band_for(total)
    return PlanOffer(
        invoices=invoices,
        total=total,
        min_months=band.min_months,
        max_months=band.max_months,
        latest_start=today + timedelta(days=rules.latest_start_in_days),
    )


def _arrangeable_invoices(session: Session, customer_id: int) -> tuple[list[Invoice], int]:
    """The customer's open and partly paid invoices with something still to pay, oldest due first."""
    candidates = session.execute(
        select(Invoice)
        .where(Invoice.customer_id == customer_id, Invoice.status.in_(ARRANGEABLE_STATUSES))
        .order_by(Invoice.due_date, Invoice.id)
    ).scalars().all()
    owed = [(invoice, open_cents(session, invoice)) for invoice in candidates]
    owed = [(invoice, cents) for invoice, cents in owed if cents > 0]
    return [invoice for invoice, _ in owed], sum(cents for _, cents in owed)


def _broke_recently(session: Session, customer_id: int, months: int, today: date) -> bool:
    """Whether a plan of the customer broke after the day `months` months before today."""
    since = datetime.combine(_add_months(today, -months) + timedelta(days=1), time.min, tzinfo=timezone.utc)
    return session.execute(
        select(
            exists().where(
                InstalmentPlan.customer_id == customer_id,
                InstalmentPlan.status == PlanStatus.BROKEN,
                InstalmentPlan.ended_at >= since,
            )
        )
    ).scalar_one()


def check_months(offer: PlanOffer, months) -> int:
    """The number of months if the offer allows it, so a form can refuse anything else."""
    try:
        value = Decimal(str(months).strip())
        whole = int(value) if value == value.to_integral_value() else None
    except (InvalidOperation, ValueError, OverflowError):
        whole = None
    if isinstance(months, bool) or whole is None or not offer.min_months <= whole <= offer.max_months:
        raise OutOfRange(f"{months!r} months is not within {offer.min_months}..{offer.max_months}",
                         offer.min_months, offer.max_months)
    return whole


def check_start(offer: PlanOffer, start: date, today: date, policy: ArrangementPolicy) -> date:
    """The first due date if it lies between today and the latest start the policy allows."""
    if isinstance(start, datetime):
        start = start.date()
    latest = today + timedelta(days=policy.instalment_plan.latest_start_in_days)
    if not today <= start <= latest:
        raise OutOfRange(f"start {start.isoformat()} is not within {today.isoformat()}..{latest.isoformat()}", today, latest)
    return start


def schedule(total_cents: int, months: int, first_due: date) -> list[ScheduledInstalment]:
    """Equal monthly parts that add up to the total exactly; the first parts carry the odd cents."""
    if months < 1:
        raise ValueError("a schedule needs at least one month")
    if total_cents < 0:
        raise ValueError("a schedule can't be made for a negative amount")
    part, odd_cents = divmod(total_cents, months)
    return [
        ScheduledInstalment(number=index + 1, due_date=_add_months(first_due, index),
                            amount_cents=part + (1 if index < odd_cents else 0))
        for index in range(months)
    ]


def _add_months(day: date, months: int) -> date:
    """The same day of the month `months` later (or earlier), or that month's last day if it is shorter."""
    month_index = day.year * 12 + day.month - 1 + months
    year, month = divmod(month_index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def create_plan(
    session: Session,
    customer_id: int,
    months: int,
    start: date,
    policy: ArrangementPolicy,
    today: date,
    now: datetime,
    agreed_total_cents: int | None = None,
) -> InstalmentPlan:
    """Stores a plan after checking every rule again, and puts its invoices in the plan.

    With `agreed_total_cents` (the total of the schedule the customer confirmed), a total that changed
    since (a payment in between) raises OutOfRange instead of storing a schedule nobody agreed to.
    """
    # Taken first, so two conversations of one customer can't both pass the active-plan check.
    session.execute(select(Customer.id).where(Customer.id == customer_id).with_for_update())
    offer = plan_offer(session, customer_id, policy, today)
    months = check_months(offer, months)
    start = check_start(offer, start, today, policy)
    total_cents = sum(open_cents(session, invoice) for invoice in offer.invoices)
    if agreed_total_cents is not None and total_cents != agreed_total_cents:
        raise OutOfRange(f"the open total changed from {agreed_total_cents} to {total_cents} cents since it was agreed")
    plan = _insert_plan(session, customer_id, total_cents, now)
    plan.instalments = [
        Instalment(number=part.number, due_date=part.due_date, amount_cents=part.amount_cents, paid_cents=0)
        for part in schedule(total_cents, months, start)
    ]
    plan.invoices = list(offer.invoices)
    for invoice in offer.invoices:
        invoice.status = InvoiceStatus.IN_PLAN
    session.flush()
    return plan


def _insert_plan(session: Session, customer_id: int, total_cents: int, now: datetime) -> InstalmentPlan:
    """A new plan row under a random reference no other plan has (36^6 references: a clash is rare)."""
    for _ in range(_REFERENCE_TRIES):
        reference = "PLAN-" + "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(6))
        if session.execute(select(InstalmentPlan.id).where(InstalmentPlan.reference == reference)).first() is None:
            plan = InstalmentPlan(reference=reference, customer_id=customer_id, total_cents=total_cents,
                                  created_at=now, status=PlanStatus.ACTIVE)
            session.add(plan)
            session.flush()
            return plan
    raise RuntimeError("could not find a free plan reference")


def active_plan(session: Session, customer_id: int) -> PlanSummary | None:
    """The running plan, what is paid and left, and the next instalment to pay, for the chat to show."""
    plan = session.execute(
        select(InstalmentPlan)
        .where(InstalmentPlan.customer_id == customer_id, InstalmentPlan.status == PlanStatus.ACTIVE)
        .order_by(InstalmentPlan.created_at.desc(), InstalmentPlan.id.desc())
        .limit(1)
        .options(selectinload(InstalmentPlan.instalments))
    ).scalar_one_or_none()
    if plan is None:
        return None
    parts = [
        InstalmentSummary(number=part.number, due_date=part.due_date, amount=euros(part.amount_cents),
                          paid=euros(min(part.paid_cents, part.amount_cents)))
        for part in plan.instalments
    ]
    total = euros(plan.total_cents)
    paid = sum((part.paid for part in parts), Decimal("0.00"))
    upcoming = next((part for part in parts if part.left > 0), None)
    return PlanSummary(
        reference=plan.reference,
        total=total,
        paid=paid,
        left=total - paid,
        next_instalment=NextInstalment(upcoming.number, upcoming.due_date, upcoming.left) if upcoming else None,
        instalments=parts,
    )


def break_late_plans(session: Session, policy: ArrangementPolicy, today: date, now: datetime) -> list[InstalmentPlan]:
    """Ends plans with an instalment unpaid too long, so their invoices are chased as usual again."""
    late_since = today - timedelta(days=policy.instalment_plan.broken_after_days_late)
    late_instalment = (
        select(Instalment.id)
        .where(
            Instalment.plan_id == InstalmentPlan.id,
            Instalment.paid_cents < Instalment.amount_cents,
            Instalment.due_date < late_since,
        )
        .exists()
    )
    plans = session.execute(
        select(InstalmentPlan)
        .where(InstalmentPlan.status == PlanStatus.ACTIVE, late_instalment)
        .order_by(InstalmentPlan.id)
        .with_for_update(of=InstalmentPlan)
    ).scalars().all()
    for plan in plans:
        plan.status = PlanStatus.BROKEN
        plan.ended_at = now
        for invoice in plan.invoices:
            if invoice.status == InvoiceStatus.IN_PLAN:
                invoice.status = _status_outside_plan(session, invoice)
    session.flush()
    return plans


def _status_outside_plan(session: Session, invoice: Invoice) -> InvoiceStatus:
    """What an invoice leaving a plan is: open, partly paid, or paid, from its payments."""
    left = open_cents(session, invoice)
    if left <= 0:
        return InvoiceStatus.PAID
    return InvoiceStatus.PARTIALLY_PAID if left < invoice.total_cents else InvoiceStatus.OPEN


# -- extensions -----------------------------------------------------------------------------------


def extension_offer(
    session: Session, customer_id: int, invoice_number: str | None, policy: ArrangementPolicy, today: date
) -> ExtensionOffer:
    """The invoice that would get more time and the latest new due date, or why it can't.

    The window ends `max_days` after the current due date, or after today for an overdue invoice,
    so a bill that may still be extended always has at least one date to choose.
    """
    rules = policy.extension
    invoice = _invoice_for_extension(session, customer_id, invoice_number)
    number = invoice.number
    if invoice.status == InvoiceStatus.DISPUTED:
        raise NotEligibleForExtension("disputed", number)
    if invoice.status == InvoiceStatus.IN_PLAN:
        raise NotEligibleForExtension("in_plan", number)
    if invoice.status not in ARRANGEABLE_STATUSES or open_cents(session, invoice) <= 0:
        raise NotEligibleForExtension("nothing_open", number)
    if _already_extended(session, invoice):
        raise NotEligibleForExtension("already_extended", number)
    if (today - invoice.due_date).days > rules.not_beyond_days_overdue:
        raise NotEligibleForExtension("too_late", number)
    return ExtensionOffer(
        invoice=invoice,
        current_due=invoice.due_date,
        latest=max(invoice.due_date, today) + timedelta(days=rules.max_days),
    )


def _already_extended(session: Session, invoice: Invoice) -> bool:
    """Whether the invoice had its one extension (another conversation may be adding it right now)."""
    return session.execute(select(exists().where(Extension.invoice_id == invoice.id))).scalar_one()


def _invoice_for_extension(session: Session, customer_id: int, invoice_number: str | None) -> Invoice:
    """The named invoice of this customer, or else their open invoice due first."""
    if invoice_number and invoice_number.strip():
        invoice = session.execute(
            select(Invoice).where(
                Invoice.customer_id == customer_id,
                func.upper(Invoice.number) == invoice_number.strip().upper(),
            )
        ).scalar_one_or_none()
        if invoice is None:
            raise NotEligibleForExtension("invoice_not_found")
        return invoice
    invoices, _ = _arrangeable_invoices(session, customer_id)
    if invoices:
        return invoices[0]
    held = set(session.execute(
        select(Invoice.status).where(
            Invoice.customer_id == customer_id, Invoice.status.in_((InvoiceStatus.IN_PLAN, InvoiceStatus.DISPUTED))
        )
    ).scalars())
    if InvoiceStatus.IN_PLAN in held:
        raise NotEligibleForExtension("in_plan")
    if InvoiceStatus.DISPUTED in held:
        raise NotEligibleForExtension("disputed")
    raise NotEligibleForExtension("nothing_open")


def check_extension_date(offer: ExtensionOffer, new_due: date, today: date) -> date:
    """A new due date after the current one (and not in the past), at the latest the offer's last day."""
    if isinstance(new_due, datetime):
        new_due = new_due.date()
    earliest = max(offer.current_due + timedelta(days=1), today)
    if not earliest <= new_due <= offer.latest:
        raise OutOfRange(f"new due date {new_due.isoformat()} is not within {earliest.isoformat()}..{offer.latest.isoformat()}",
                         earliest, offer.latest)
    return new_due


def grant_extension(
    session: Session,
    customer_id: int,
    invoice_number: str | None,
    new_due: date,
    policy: ArrangementPolicy,
    today: date,
    now: datetime,
) -> Extension:
    """Moves an invoice's due date once, after checking every rule again."""
    offer = extension_offer(session, customer_id, invoice_number, policy, today)
    new_due = check_extension_date(offer, new_due, today)
    invoice = offer.invoice
    # Moving the due date first, only if nobody moved it since the check, locks the invoice's row:
    # a second conversation granting at the same moment waits here, then finds the date moved.
    if not _move_due_date(session, invoice, offer.current_due, new_due):
        raise NotEligibleForExtension("already_extended", invoice.number)
    extension = Extension(invoice=invoice, original_due_date=offer.current_due, new_due_date=new_due, created_at=now)
    try:
        with session.begin_nested():
            session.add(extension)
            session.flush()
    except IntegrityError:  # stored by another conversation that checked at the same moment
        _move_due_date(session, invoice, new_due, offer.current_due)
        raise NotEligibleForExtension("already_extended", invoice.number) from None
    return extension


def _move_due_date(session: Session, invoice: Invoice, current: date, new: date) -> bool:
    """Sets a new due date if the stored one is still `current`; whether it was."""
    moved = session.execute(
        update(Invoice)
        .where(Invoice.id == invoice.id, Invoice.due_date == current)
        .values(due_date=new)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.expire(invoice, ["due_date"])
    return moved == 1


# -- a no that corrects, a no that stops ------------------------------------------------------------

_STOP = re.compile(
    r"\b(?:never\s*mind|nevermind|cancel|forget\s+(?:it|about\s+it)|stop|leave\s+it|no\s+thanks|don'?t\s+bother"
    r"|laat\s+maar|laat\s+(?:het|maar)\s+zitten|annuleer|annuleren|stoppen|nee\s+(?:bedankt|dank\s+u)|hoeft\s+niet"
    r"|laisse[rz]?\s+tomber|annule[rz]?|arr[eê]te[rz]?|non\s+merci|oublie[rz]?\s+(?:ça|ca))\b")


def says_stop(text: str | None) -> bool:
    """Whether a no means "stop" ("never mind", "laat maar", "laissez tomber") rather than "not that" ("no wait",
    "no, the 9th", "nee wacht", "non, le 9")."""
    return bool(_STOP.search((text or "").lower()))


_GO_BACK = re.compile(
    r"\b(?:(?:go|get|come)\s+back|back\s+to|continue|carry\s+on|resume|where\s+(?:we|i)\s+(?:were|was|left)"
    r"|terug\s+naar|verder\s+(?:gaan\s+)?met|doorgaan|ga\s+(?:maar\s+)?(?:verder|door)|waar\s+we\s+(?:waren|gebleven)"
    r"|revenons|retour(?:ner)?\s+(?:au|a)|reprenons|reprendre|continuons|continuer)\b")


def says_go_back(text: str | None) -> bool:
    """Whether the customer asks to go back to the plan they were setting up ("ok go back to the plan", "terug naar
    het plan", "revenons au plan") rather than for a new one."""
    return bool(_GO_BACK.search(plain(text or "")))


# -- plan details typed together ------------------------------------------------------------------

_COUNT_WORDS = "|".join(sorted((re.escape(word) for word in COUNT_WORDS), key=len, reverse=True))
#: "6 months", "six months", "3 mths", "zes maanden", "six mois": a number of months said as such (a bare "3" is read as months too).
_MONTHS_PHRASE = re.compile(rf"\b(?:\d+|{_COUNT_WORDS})\s*-?\s*(?:months?|mths?|maanden|maand|mnd|mois)\b", re.IGNORECASE)
_BARE_NUMBER = re.compile(r"^\s*(?:\d+|" + _COUNT_WORDS + r")\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class PlanDetailsTyped:
    """What a message says of a plan's months and first due date ("4 months starting 20 December")."""

    months: str | None
    start: date | None


def example_start(today: date, latest: date) -> date:
    """A first due date to give as an example: the first of next month when the plan allows it, else in a week."""
    first_of_next_month = _month_end(today) + timedelta(days=1)
    return first_of_next_month if first_of_next_month <= latest else min(today + timedelta(days=7), latest)


def plan_details_typed(text: str | None, today: date) -> PlanDetailsTyped:
    """Splits the months from the first due date, so "3 months" is never read as a date three months away and
    "the 9th" never as nine months; a bare number is months."""
    text = text or ""
    said = _MONTHS_PHRASE.search(text)
    if said is not None:
        rest = (text[: said.start()] + " " + text[said.end():]).strip()
        return PlanDetailsTyped(said.group(), parse_date(rest, today) if re.search(r"[a-z0-9]", rest, re.IGNORECASE) else None)
    if _BARE_NUMBER.match(text):
        return PlanDetailsTyped(text.strip(), None)
    return PlanDetailsTyped(None, parse_date(text, today))


# -- dates as customers write them ----------------------------------------------------------------

_MONTH_NAMES = {
    "jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4, "april": 4, "may": 5,
    "jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8, "sep": 9, "sept": 9, "september": 9,
    "oct": 10, "october": 10, "nov": 11, "november": 11, "dec": 12, "december": 12,
}
_WEEKDAYS = {
    "mon": 0, "monday": 0, "tue": 1, "tues": 1, "tuesday": 1, "wed": 2, "wednesday": 2, "thu": 3, "thur": 3,
    "thurs": 3, "thursday": 3, "fri": 4, "friday": 4, "sat": 5, "saturday": 5, "sun": 6, "sunday": 6,
}
_MONTH = "(" + "|".join(sorted(_MONTH_NAMES, key=len, reverse=True)) + ")"
_WEEKDAY = "(" + "|".join(sorted(_WEEKDAYS, key=len, reverse=True)) + ")"
_END_OF_THIS_MONTH = re.compile(r"\bend\s+of\s+(?:the\s+|this\s+)?month\b|\bmonth\s*-?\s*end\b")
_END_OF_NEXT_MONTH = re.compile(r"\bend\s+of\s+(?:the\s+)?next\s+month\b")
_DAY_OF_NEXT_MONTH = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)?\s+of\s+(?:the\s+)?next\s+month\b")
_END_OF_NAMED_MONTH = re.compile(rf"\bend\s+of\s+{_MONTH}\b")
_ISO_DATE = re.compile(r"(?<![\d./-])(\d{4})-(\d{1,2})-(\d{1,2})(?![\d./-])")
#: 15/03, 15.03, 15/03/2027, 15-03-2027; a dash needs the year ("2-3 weeks" is no date).
_NUMERIC_DATE = re.compile(
    r"(?<![\d./-])(\d{1,2})(?:([./])(\d{1,2})(?:\2(\d{4}|\d{2}))?|(-)(\d{1,2})-(\d{4}|\d{2}))(?![\d./-])"
)
_WEEKDAY_PHRASE = re.compile(rf"(?:\b(next|this|coming)\s+)?\b{_WEEKDAY}\b")
_DAY_ALONE = re.compile(r"(?:\bthe\s+(\d{1,2})(?:st|nd|rd|th)?|\b(\d{1,2})(?:st|nd|rd|th))\b")
_MONTH_WORD = re.compile(rf"\b{_MONTH}\b")
_MONTH_WITH_DAY = re.compile(rf"\d(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}\b|\b{_MONTH}\s+\d")
_LEADING_PREPOSITION = re.compile(r"^(?:on|by|for|until|till|around)\s+")
_ORDINAL_WORDS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
    "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13, "fourteenth": 14, "fifteenth": 15,
    "sixteenth": 16, "seventeenth": 17, "eighteenth": 18, "nineteenth": 19, "twentieth": 20, "thirtieth": 30,
}
_ORDINAL = r"(?:(?P<tens>twenty|thirty)[\s-])?(?P<word>" + "|".join(_ORDINAL_WORDS) + r")\b"
#: "first of May", "the twenty-first": an ordinal word before a month or after "the"; not "a second".
_ORDINAL_WORDS_AS_DAY = (
    re.compile(rf"\b{_ORDINAL}(?=\s+(?:of\s+)?{_MONTH}\b)"),
    re.compile(rf"(?<=\bthe ){_ORDINAL}(?=\s*$|\s+of\b)"),
)
#: The languages dateparser reads, after the Dutch and French date words were put in English.
DATE_LANGUAGES = ["en", "nl", "fr"]
_RELATIVE_WORD = re.compile(r"\b(?:next|last|this|ago|in|after|before|from|year|years|week|weeks|day|days)\b")


def parse_date(text: str | None, today: date) -> date | None:
    """The date a customer means by what they wrote, day first, never before today unless they said
    so (a year in the past, "yesterday"); None when there is no date in it."""
    phrase = _normalise(text)
    if not phrase:
        return None
    found = _parse_phrase(phrase, today)
    if found is not None or not re.search(r"[a-z]", phrase):
        return found
    return _search_sentence(phrase, today)


def _normalise(text: str | None) -> str:
    """Lower case, single spaces, no punctuation around the words, Dutch and French date words in English,
    "first of May" as "1st of may"."""
    if not text:
        return ""
    phrase = re.sub(r"\s+", " ", text.lower().replace("\u2019", "'")).strip(" \t?!,;:.'\"()")
    phrase = dates_in_english(phrase)  # "volgende vrijdag", "le 15 mars", "de 9de" as the English rules read them
    for pattern in _ORDINAL_WORDS_AS_DAY:
        phrase = pattern.sub(_ordinal_as_number, phrase)
    return phrase


def _ordinal_as_number(match: re.Match) -> str:
    """An ordinal word as the numeric ordinal the other rules read ("twenty-first" as "21st")."""
    day = _ORDINAL_WORDS[match["word"]] + {"twenty": 20, "thirty": 30, None: 0}[match["tens"]]
    return f"{day}{'th' if 11 <= day <= 13 else {1: 'st', 2: 'nd', 3: 'rd'}.get(day % 10, 'th')}"


def _parse_phrase(phrase: str, today: date) -> date | None:
    """A date from a phrase that is only a date: exact rules first, then dateparser."""
    phrase = _LEADING_PREPOSITION.sub("", phrase)
    for rule in (_end_of_month, _day_of_next_month, _iso_date, _numeric_date):
        found = rule(phrase, today)
        if found is not None:
            return found
    if not re.search(r"[a-z]", phrase):
        return None  # a bare number is a count of months or an amount, not a date
    weekday = _WEEKDAY_PHRASE.fullmatch(phrase)
    if weekday:
        return _next_weekday(_WEEKDAYS[weekday.group(2)], today, strictly_after=weekday.group(1) == "next")
    day_alone = _DAY_ALONE.fullmatch(phrase)
    if day_alone:
        return _next_day_of_month(int(day_alone.group(1) or day_alone.group(2)), today)
    return _dateparser(phrase, today)


def _search_sentence(sentence: str, today: date) -> date | None:
    """A date inside a longer sentence ("I can pay on friday, I think")."""
    dated_month = _MONTH_WITH_DAY.search(sentence)  # "may" alone is more often a verb than a month
    weekday = _WEEKDAY_PHRASE.search(sentence)
    if weekday and not dated_month:
        return _next_weekday(_WEEKDAYS[weekday.group(2)], today, strictly_after=weekday.group(1) == "next")
    day_alone = _DAY_ALONE.search(sentence)
    if day_alone and not dated_month:
        return _next_day_of_month(int(day_alone.group(1) or day_alone.group(2)), today)
    from dateparser.search import search_dates  # slow to import: only when a sentence needs it

    for words, _ in search_dates(sentence, languages=DATE_LANGUAGES, settings=_dateparser_settings(today)) or []:
        found = _parse_phrase(_normalise(words), today)
        if found is not None:
            return found
    return None


def _dateparser_settings(today: date) -> dict:
    """Day first, and relative to the given day, never the machine's clock."""
    return {"PREFER_DATES_FROM": "future", "DATE_ORDER": "DMY", "RELATIVE_BASE": datetime.combine(today, time.min)}


def _dateparser(phrase: str, today: date) -> date | None:
    """dateparser for everything the exact rules don't cover ("tomorrow", "in 2 weeks", "15 March")."""
    if _MONTH_WORD.search(phrase) and not re.search(r"\d", phrase):
        return None  # "in March", "mid December": a month, not a day; the customer is asked again
    if not names_a_date(phrase):
        return None  # no digit and no date word: dateparser would read Dutch "do" or French "je" as Thursday
    import dateparser  # a quarter of a second to import: only when a date is parsed

    parsed = dateparser.parse(phrase, languages=DATE_LANGUAGES, settings=_dateparser_settings(today))
    if parsed is None:
        return None
    found = parsed.date()
    # dateparser's "future" skips today: "22 November" said on 22 November is today, not next year.
    named_day_without_year = (
        _MONTH_WORD.search(phrase) and len(re.findall(r"\d+", phrase)) == 1 and not _RELATIVE_WORD.search(phrase)
    )
    if named_day_without_year and found > today:
        return _next_day_month(found.day, found.month, today) or found
    return found


def _end_of_month(phrase: str, today: date) -> date | None:
    """"End of the month", "end of next month", "end of March": dateparser knows none of them."""
    if _END_OF_NEXT_MONTH.search(phrase):
        return _month_end(_add_months(today.replace(day=1), 1))
    if _END_OF_THIS_MONTH.search(phrase):
        return _month_end(today)
    named = _END_OF_NAMED_MONTH.search(phrase)
    if named:
        month = _MONTH_NAMES[named.group(1)]
        year = today.year if month >= today.month else today.year + 1
        return _month_end(date(year, month, 1))
    return None


def _day_of_next_month(phrase: str, today: date) -> date | None:
    """"The 1st of next month": dateparser keeps today's day of the month instead."""
    match = _DAY_OF_NEXT_MONTH.search(phrase)
    if not match:
        return None
    first = _add_months(today.replace(day=1), 1)
    return _valid_date(first.year, first.month, int(match.group(1)))


def _month_end(day: date) -> date:
    """The last day of the month the day is in."""
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def _iso_date(phrase: str, today: date) -> date | None:
    """2027-03-15, which dateparser refuses when told to read the day first."""
    match = _ISO_DATE.search(phrase)
    return _valid_date(*(int(part) for part in match.groups())) if match else None


def _numeric_date(phrase: str, today: date) -> date | None:
    """15/03, 15.03, 15-03-2027, 15/3/27: always day first, as Belgians write dates."""
    match = _NUMERIC_DATE.search(phrase)
    if not match:
        dashed = re.fullmatch(r"(\d{1,2})-(\d{1,2})", phrase)  # only "15-03" itself, not "2-3 weeks"
        return _next_day_month(int(dashed.group(1)), int(dashed.group(2)), today) if dashed else None
    day, month, year = int(match.group(1)), int(match.group(3) or match.group(6)), match.group(4) or match.group(7)
    if year is None:
        return _next_day_month(day, month, today)
    return _valid_date(int(year) + (2000 if len(year) == 2 else 0), month, day)


def _valid_date(year: int, month: int, day: int) -> date | None:
    """The date, or None for one that doesn't exist (31/11), so a wrong date is asked again."""
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _next_day_month(day: int, month: int, today: date) -> date | None:
    """The first such day and month on or after today (29 February waits for a leap year)."""
    for year in range(today.year, today.year + 9):
        candidate = _valid_date(year, month, day)
        if candidate is not None and candidate >= today:
            return candidate
    return None


def _next_day_of_month(day: int, today: date) -> date | None:
    """The first month, from this one, that has this day on or after today ("the 31st" skips short months)."""
    for ahead in range(13):
        first = _add_months(today.replace(day=1), ahead)
        candidate = _valid_date(first.year, first.month, day)
        if candidate is not None and candidate >= today:
            return candidate
    return None


def _next_weekday(weekday: int, today: date, strictly_after: bool) -> date:
    """That weekday on or after today; "next friday" is the first one after today."""
    ahead = (weekday - today.weekday()) % 7
    if ahead == 0 and strictly_after:
        ahead = 7
    return today + timedelta(days=ahead)
