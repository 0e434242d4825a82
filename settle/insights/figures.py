"""The figures that show whether Settle does its job, for one period; docs/kpis.md defines each one.

Every figure is one set-based query (counts, sums and medians in SQL, indexed on the moments a period
filters by), so a page stays fast at a million invoices. A share whose denominator is zero has no
percentage (None), never a division by zero. Only what is recorded is counted: a moment recorded from
migration 0008 on is left out where it is missing rather than guessed.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import Boolean, Float, and_, case, func, literal, or_, select, text, true
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import FunctionElement

from settle.models import (
    Agent,
    Conversation,
    ConversationMessage,
    Customer,
    Dispute,
    DisputeStatus,
    Escalation,
    EscalationMessage,
    Extension,
    HardshipReport,
    Instalment,
    InstalmentPlan,
    Invoice,
    InvoiceStatus,
    LinkStatus,
    MessageAuthor,
    PaymentLink,
    PlanStatus,
    ReceivedPayment,
    UTCDateTime,
)
from settle.money import euros

DAY = 86_400
#: What NLU predicts when it understood nothing, and what Settle does not handle: a message that "fell back".
FELL_BACK = ("nlu_fallback", "out_of_scope")
#: How many intents the top and least-certain lists show.
INTENTS_LISTED = 10
#: The windows (in days) after a reminder in which a payment counts as following it.
PAID_WITHIN_DAYS = (3, 7, 14)
#: How long a customer stays quiet, while the bot waits for their answer, before the chat counts as abandoned.
ABANDONED_AFTER = timedelta(minutes=30)


# -- The shapes of the figures -----------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """From `start` to `end`, both whole days in the company's timezone."""

    start: date
    end: date
    starts_at: datetime
    ends_before: datetime

    @classmethod
    def of(cls, start: date, end: date, zone: tzinfo) -> Period:
        """The days as moments: from the start of `start` to (not including) the start of the day after `end`."""
        return cls(start, end, _day_start(start, zone), _day_start(end + timedelta(days=1), zone))

    def holds(self, moment_column):
        """The condition that a moment falls in the period."""
        return and_(moment_column >= self.starts_at, moment_column < self.ends_before)


@dataclass(frozen=True)
class Share:
    """`part` of `whole`; `percent` is None when there is nothing to divide by."""

    part: int
    whole: int

    @property
    def percent(self) -> Decimal | None:
        if self.whole == 0:
            return None
        return (Decimal(100 * self.part) / self.whole).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Median:
    """The middle duration of `cases` (the mean of the two middle ones for an even number), in whole seconds;
    None when there are no cases."""

    seconds: int | None
    cases: int


@dataclass(frozen=True)
class Average:
    """The mean of `cases` values, to two decimals (rounded half up); None when there are no cases."""

    value: Decimal | None
    cases: int


@dataclass(frozen=True)
class Counted:
    label: str
    count: int


@dataclass(frozen=True)
class Collected:
    """Money received through one source and method (a provider's checkout, or a matched bank transfer)."""

    source: str
    method: str
    payments: int
    amount: Decimal


@dataclass(frozen=True)
class Deliveries:
    """What happened to the reminders of one stage on one channel: messages sent, and attempts that failed."""

    stage: str
    channel: str
    sent: int
    failed: int


@dataclass(frozen=True)
class ChoiceCount:
    """Opt-outs (or opt-ins) on one channel ("all" for every channel at once) from one source."""

    channel: str
    source: str
    count: int


@dataclass(frozen=True)
class PaidAfter:
    """Of the reminders one stage sent on one channel, the share paid in full within 3, 7 and 14 days."""

    stage: str
    channel: str
    within_3_days: Share
    within_7_days: Share
    within_14_days: Share


@dataclass(frozen=True)
class Containment:
    conversations: int
    verified: Share
    anonymous: Share
    without_a_person: Share
    escalated: Share
    escalations_by_reason: tuple[Counted, ...]
    abandoned: Share
    abandoned_while_waiting_for: tuple[Counted, ...]


@dataclass(frozen=True)
class Paying:
    links_issued: int
    links_opened: Share
    links_paid: Share
    time_to_pay: Median
    collected: tuple[Collected, ...]
    collected_total: Decimal


@dataclass(frozen=True)
class ReachedOutFirst:
    reminders_by_stage: tuple[Counted, ...]
    deliveries: tuple[Deliveries, ...]
    reached_nobody: int
    flagged_for_review: int
    paid_after: tuple[PaidAfter, ...]
    opt_outs: tuple[ChoiceCount, ...]
    opt_ins: tuple[ChoiceCount, ...]


@dataclass(frozen=True)
class CantPayNow:
    plans_set_up: int
    plans_completed: int
    plans_broken: int
    instalments_on_time: Share
    extensions_granted: int
    extensions_kept: Share
    hardship_reports: int
    disputes_opened: int
    disputes_resolved: Share


@dataclass(frozen=True)
class Agents:
    handed_over: int
    answered_by_a_person: Share
    time_to_first_reply: Median
    handled_per_agent: tuple[Counted, ...]
    not_claimed: int
    callbacks_booked: int
    callbacks_done: Share


@dataclass(frozen=True)
class IntentCertainty:
    intent: str
    confidence: Average


@dataclass(frozen=True)
class Understanding:
    messages: int
    fell_back: Share
    top_intents: tuple[Counted, ...]
    least_certain_intents: tuple[IntentCertainty, ...]
    messages_per_conversation: Average


@dataclass(frozen=True)
class Figures:
    """Every figure of one period (in one language, or all: `language` None), as a page or a CSV file shows them."""

    period: Period
    language: str | None
    containment: Containment
    paying: Paying
    reached_out_first: ReachedOutFirst
    cant_pay_now: CantPayNow
    agents: Agents
    understanding: Understanding


# -- Helpers shared by the queries ------------------------------------------------------------------


class seconds_between(FunctionElement):
    """Whole seconds from the first moment to the second (negative if earlier), on PostgreSQL and SQLite."""

    type = Float()
    name = "seconds_between"
    inherit_cache = True


@compiles(seconds_between, "postgresql")
def _seconds_between_postgresql(element, compiler, **kw) -> str:
    start, end = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"ROUND(EXTRACT(EPOCH FROM ({end} - {start})))"


@compiles(seconds_between, "sqlite")
def _seconds_between_sqlite(element, compiler, **kw) -> str:
    start, end = element.clauses
    later = compiler.process(end, **kw)  # first, as written: SQLite's parameters are positional
    return f"ROUND((julianday({later}) - julianday({compiler.process(start, **kw)})) * 86400.0)"


class seconds_within(FunctionElement):
    """Whether `seconds_between(start, end)` is from `low` to `high` (whole seconds, both included). PostgreSQL
    compares the moments instead, the same thing (its ROUND takes halves away from zero) without working out a
    number for every row; SQLite's moments are fractions of days, so it keeps the rounded seconds."""

    type = Boolean()
    name = "seconds_within"
    inherit_cache = True

    def __init__(self, start, end, low: int, high: int) -> None:
        super().__init__(start, end, literal(low), literal(high))


@compiles(seconds_within, "postgresql")
def _seconds_within_postgresql(element, compiler, **kw) -> str:
    start, end, low, high = element.clauses

    def compared(sign: str, limit, offset: str) -> str:  # compiled in the order they are written, for the parameters
        moment = compiler.process(end, **kw)
        return f"{moment} {sign} {compiler.process(start, **kw)} + ({compiler.process(limit, **kw)} {offset} 0.5) * interval '1 second'"

    return f"({compared('>', low, '-')} AND {compared('<', high, '+')})"


@compiles(seconds_within, "sqlite")
def _seconds_within_sqlite(element, compiler, **kw) -> str:
    start, end, low, high = element.clauses

    def compared(sign: str, limit) -> str:  # compiled in the order they are written, for the positional parameters
        later = compiler.process(end, **kw)
        return f"ROUND((julianday({later}) - julianday({compiler.process(start, **kw)})) * 86400.0) {sign} {compiler.process(limit, **kw)}"

    return f"({compared('>=', low)} AND {compared('<=', high)})"


def _day_start(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(timezone.utc)


class day_end(FunctionElement):
    """The moment the day in a date column ends in the company's timezone, so "paid by the end of that day"
    is exact on both databases. SQLite knows no timezones: there it is the day plus one, less the company's
    UTC offset at that midnight, for days from `first` to `last` (others give NULL, which counts nowhere)."""

    type = UTCDateTime()
    name = "day_end"
    inherit_cache = False  # the zone and days are not part of the cache key

    def __init__(self, day_column, zone: ZoneInfo, first: date, last: date) -> None:
        super().__init__(day_column)
        self.zone, self.first, self.last = zone, first, last


@compiles(day_end, "postgresql")
def _day_end_postgresql(element, compiler, **kw) -> str:
    day = compiler.process(next(iter(element.clauses)), **kw)
    return f"timezone({compiler.process(literal(element.zone.key), **kw)}, CAST(({day} + 1) AS timestamp))"


@compiles(day_end, "sqlite")
def _day_end_sqlite(element, compiler, **kw) -> str:
    day = compiler.process(next(iter(element.clauses)), **kw)
    cases = " ".join(
        f"WHEN {day} BETWEEN '{first.isoformat()}' AND '{last.isoformat()}' "
        f"THEN datetime({day}, '+1 day', '{-offset:+d} seconds')"
        for first, last, offset in _offsets(element.first, element.last, element.zone)
    )
    return f"(CASE {cases} END)" if cases else "NULL"


def _offsets(first: date, last: date, zone: tzinfo) -> list[tuple[date, date, int]]:
    """Runs of days from `first` to `last` whose ends (the next midnight) share one UTC offset, in seconds."""
    runs: list[tuple[date, date, int]] = []
    for n in range((last - first).days + 1):
        day = first + timedelta(days=n)
        offset = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).utcoffset()
        seconds = int(offset.total_seconds()) if offset is not None else 0
        if runs and runs[-1][2] == seconds:
            runs[-1] = (runs[-1][0], day, seconds)
        else:
            runs.append((day, day, seconds))
    return runs


def without_jit(session: Session) -> None:
    """PostgreSQL compiles a query it expects to be costly (these are, at a million invoices) to machine code,
    which takes 0.1 to 0.3 s, longer than the query then runs: not for the rest of this transaction."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL jit = off"))


def _count(session: Session, table, *conditions) -> int:
    return session.execute(select(func.count()).select_from(table).where(*conditions)).scalar_one()


def _median(session: Session, query) -> Median:
    """The median of the one column `query` selects (a duration in seconds), without reading the rows:
    count them, then fetch only the middle one or two in order."""
    durations = query.subquery()
    cases = session.execute(select(func.count()).select_from(durations)).scalar_one()
    if cases == 0:
        return Median(None, 0)
    seconds = durations.c[0]
    middle = session.execute(
        select(seconds).order_by(seconds).offset((cases - 1) // 2).limit(1 if cases % 2 else 2)
    ).scalars().all()
    mean = sum((Decimal(int(value)) for value in middle), Decimal(0)) / len(middle)
    return Median(int(mean.quantize(Decimal(1), rounding=ROUND_HALF_UP)), cases)


def customer_speaks(customer_id, language: str | None):
    """The condition that the row's customer speaks `language` as the customer record has it (every row when
    no language is chosen; a row without a customer only then)."""
    if language is None:
        return true()
    return customer_id.in_(select(Customer.id).where(Customer.language == language))


def chat_speaks(conversation_id, language: str | None):
    """The condition that the row's conversation speaks `language` (every row when no language is chosen; a
    row whose conversation was not recorded only then)."""
    if language is None:
        return true()
    return conversation_id.in_(select(Conversation.conversation_id).where(Conversation.language == language))


def _sum(condition):
    """How many rows of a grouped query meet `condition`."""
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


# -- The figures ------------------------------------------------------------------------------------


def containment(session: Session, period: Period, now: datetime, language: str | None = None) -> Containment:
    """Conversations begun in the period: proved who they were or not, handed to a person or not, left by the
    customer while the bot waited for an answer."""
    escalated = Conversation.conversation_id.in_(select(Escalation.conversation_id))  # one set, not a search per chat
    begun = and_(period.holds(Conversation.started_at), Conversation.language == language if language else true())
    # Decided: the bot's turn after the latest message was recorded, and the customer has been quiet long enough.
    decided = and_(Conversation.turn_ended_at >= Conversation.last_message_at,
                   Conversation.last_message_at <= now - ABANDONED_AFTER)
    abandoned = and_(decided, Conversation.waiting_for.is_not(None), ~escalated)
    total, verified, with_person, ended, left = session.execute(
        select(func.count(), _sum(Conversation.verified_at.is_not(None)), _sum(escalated), _sum(decided), _sum(abandoned))
        .where(begun)
    ).one()
    total, verified, with_person = int(total), int(verified or 0), int(with_person or 0)
    reasons = session.execute(
        select(Escalation.reason, func.count())
        .where(period.holds(Escalation.created_at), chat_speaks(Escalation.conversation_id, language))
        .group_by(Escalation.reason)
        .order_by(func.count().desc(), Escalation.reason)
    ).all()
    waited_for = session.execute(
        select(Conversation.waiting_for, func.count()).where(begun, abandoned)
        .group_by(Conversation.waiting_for).order_by(func.count().desc(), Conversation.waiting_for)
    ).all()
    return Containment(
        conversations=total,
        verified=Share(verified, total),
        anonymous=Share(total - verified, total),
        without_a_person=Share(total - with_person, total),
        escalated=Share(with_person, total),
        escalations_by_reason=tuple(Counted(str(reason), count) for reason, count in reasons),
        abandoned=Share(int(left or 0), int(ended or 0)),
        abandoned_while_waiting_for=tuple(Counted(str(waiting), count) for waiting, count in waited_for),
    )


def paying(session: Session, period: Period, language: str | None = None) -> Paying:
    """Links issued in the period and what came of them; money received in the period, by how it came."""
    links = and_(period.holds(PaymentLink.created_at), customer_speaks(PaymentLink.customer_id, language))
    issued, opened, paid = session.execute(
        select(func.count(), _sum(PaymentLink.first_opened_at.is_not(None)), _sum(PaymentLink.status == LinkStatus.PAID))
        .where(links)
    ).one()
    issued, opened, paid = int(issued), int(opened or 0), int(paid or 0)
    time_to_pay = _median(session, select(seconds_between(PaymentLink.created_at, PaymentLink.paid_at)).where(
        links, PaymentLink.status == LinkStatus.PAID, PaymentLink.paid_at.is_not(None)
    ))
    collected = tuple(
        Collected(source, method, payments, euros(cents))
        for source, method, payments, cents in session.execute(
            select(ReceivedPayment.source, ReceivedPayment.method, func.count(), func.sum(ReceivedPayment.amount_cents))
            .where(period.holds(ReceivedPayment.received_at), customer_speaks(ReceivedPayment.customer_id, language))
            .group_by(ReceivedPayment.source, ReceivedPayment.method)
            .order_by(ReceivedPayment.source, ReceivedPayment.method)
        ).all()
    )
    return Paying(
        links_issued=issued,
        links_opened=Share(opened, issued),
        links_paid=Share(paid, issued),
        time_to_pay=time_to_pay,
        collected=collected,
        collected_total=sum((item.amount for item in collected), euros(0)),
    )


def cant_pay_now(session: Session, period: Period, today: date, zone: ZoneInfo, language: str | None = None) -> CantPayNow:
    """Plans, extensions, hardship and disputes: what was agreed in the period, and whether it held."""
    plan_speaks = customer_speaks(InstalmentPlan.customer_id, language)
    plans_set_up = _count(session, InstalmentPlan, period.holds(InstalmentPlan.created_at), plan_speaks)
    plans_completed, plans_broken = (
        _count(session, InstalmentPlan, period.holds(InstalmentPlan.ended_at), InstalmentPlan.status == status, plan_speaks)
        for status in (PlanStatus.COMPLETED, PlanStatus.BROKEN)
    )
    decided_until = min(period.end, today - timedelta(days=1))
    on_time = Instalment.paid_at < day_end(Instalment.due_date, zone, period.start, decided_until)
    instalments_due, instalments_on_time = session.execute(
        select(func.count(), _sum(and_(Instalment.paid_at.is_not(None), on_time)))
        .join(InstalmentPlan, InstalmentPlan.id == Instalment.plan_id)
        .where(
            Instalment.due_date >= period.start, Instalment.due_date <= decided_until,
            InstalmentPlan.status != PlanStatus.CANCELLED, plan_speaks,
            or_(Instalment.paid_at.is_not(None), Instalment.paid_cents < Instalment.amount_cents),
        )
    ).one()
    bill_speaks = customer_speaks(Invoice.customer_id, language)
    granted = session.execute(
        select(func.count()).select_from(Extension).join(Invoice, Invoice.id == Extension.invoice_id)
        .where(period.holds(Extension.created_at), bill_speaks)
    ).scalar_one()
    kept = and_(Invoice.status == InvoiceStatus.PAID,
                Invoice.last_payment_at < day_end(Extension.new_due_date, zone, period.start, today - timedelta(days=1)))
    extensions_decided, extensions_kept = session.execute(
        select(func.count(), _sum(kept))
        .select_from(Extension)
        .join(Invoice, Invoice.id == Extension.invoice_id)
        .where(period.holds(Extension.created_at), Extension.new_due_date < today, bill_speaks)
    ).one()
    disputes_opened, disputes_resolved = session.execute(
        select(func.count(), _sum(Dispute.status == DisputeStatus.RESOLVED))
        .where(period.holds(Dispute.created_at), customer_speaks(Dispute.customer_id, language))
    ).one()
    return CantPayNow(
        plans_set_up=plans_set_up,
        plans_completed=plans_completed,
        plans_broken=plans_broken,
        instalments_on_time=Share(int(instalments_on_time or 0), int(instalments_due)),
        extensions_granted=granted,
        extensions_kept=Share(int(extensions_kept or 0), int(extensions_decided)),
        hardship_reports=_count(session, HardshipReport, period.holds(HardshipReport.reported_at),
                                customer_speaks(HardshipReport.customer_id, language)),
        disputes_opened=int(disputes_opened),
        disputes_resolved=Share(int(disputes_resolved or 0), int(disputes_opened)),
    )


def agents(session: Session, period: Period, language: str | None = None) -> Agents:
    """Conversations handed to a person in the period: how soon a person answered, who took them, callbacks."""
    in_period = and_(period.holds(Escalation.created_at), chat_speaks(Escalation.conversation_id, language))
    first_reply = (
        select(func.min(EscalationMessage.created_at))
        .where(EscalationMessage.escalation_id == Escalation.id, EscalationMessage.author == MessageAuthor.AGENT)
        .correlate(Escalation)
        .scalar_subquery()
    )
    handed_over, answered, callbacks, not_claimed, callbacks_done = session.execute(
        select(func.count(), _sum(first_reply.is_not(None)), _sum(Escalation.callback_at.is_not(None)),
               _sum(Escalation.agent_id.is_(None)),
               _sum(and_(Escalation.callback_at.is_not(None), Escalation.callback_done_at.is_not(None))))
        .where(in_period)
    ).one()
    per_agent = session.execute(
        select(Agent.name, func.count()).join(Escalation, Escalation.agent_id == Agent.id).where(in_period)
        .group_by(Agent.id, Agent.name).order_by(func.count().desc(), Agent.name)
    ).all()
    waited = select(seconds_between(Escalation.created_at, first_reply).label("seconds")).where(in_period)
    return Agents(
        handed_over=int(handed_over),
        answered_by_a_person=Share(int(answered or 0), int(handed_over)),
        time_to_first_reply=_median(session, waited.where(first_reply.is_not(None))),
        handled_per_agent=tuple(Counted(name, count) for name, count in per_agent),
        not_claimed=int(not_claimed or 0),
        callbacks_booked=int(callbacks or 0),
        callbacks_done=Share(int(callbacks_done or 0), int(callbacks or 0)),
    )



def understanding(session: Session, period: Period, language: str | None = None) -> Understanding:
    """Customer messages received in the period as NLU read them, and the length of conversations begun in it."""
    per_intent = (  # one pass over the period's messages; the lists are ranked among the few intents in SQL
        select(ConversationMessage.intent.label("intent"), func.count().label("messages"),
               func.avg(ConversationMessage.confidence).label("mean"), func.count(ConversationMessage.confidence).label("rated"))
        .where(period.holds(ConversationMessage.received_at),
               ConversationMessage.language == language if language else true())
        .group_by(ConversationMessage.intent)
        .subquery()
    )
    named = per_intent.c.intent.is_not(None)
    rated = and_(named, per_intent.c.intent != "nlu_fallback", per_intent.c.rated > 0)
    groups = session.execute(select(
        per_intent.c.intent, per_intent.c.messages, per_intent.c.mean, per_intent.c.rated,
        func.row_number().over(order_by=(case((named, 0), else_=1), per_intent.c.messages.desc(), per_intent.c.intent)),
        func.row_number().over(order_by=(case((rated, 0), else_=1), per_intent.c.mean, per_intent.c.intent)),
    )).all()
    messages = sum(int(count) for _, count, *_ in groups)
    fell_back = sum(int(count) for intent, count, *_ in groups if intent in FELL_BACK)
    top = sorted((rank, intent, count) for intent, count, _, _, rank, _ in groups if intent is not None and rank <= INTENTS_LISTED)
    least = sorted((rank, intent, mean, cases) for intent, _, mean, cases, _, rank in groups
                   if intent is not None and intent != "nlu_fallback" and cases and rank <= INTENTS_LISTED)
    per_conversation, conversations = session.execute(
        select(func.avg(Conversation.messages), func.count()).where(
            period.holds(Conversation.started_at), Conversation.messages > 0,
            Conversation.language == language if language else true())
    ).one()
    return Understanding(
        messages=messages,
        fell_back=Share(fell_back, messages),
        top_intents=tuple(Counted(str(intent), int(count)) for _, intent, count in top),
        least_certain_intents=tuple(IntentCertainty(str(intent), _average(value, int(cases))) for _, intent, value, cases in least),
        messages_per_conversation=_average(per_conversation, int(conversations)),
    )


def _average(value, cases: int) -> Average:
    if not cases or value is None:
        return Average(None, cases)
    return Average(Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP), cases)
