"""The reached-out-first figures (docs/kpis.md): reminders decided in a period, how their messages went, whether
payment followed, and customers' opt-outs.

Going through every reminder of 90 days with its messages, bill and instalment took most of the dashboard's time
at a million invoices. Every one of these figures is a count, so a period's figures are the sums of its days'.
A day is *final* once it ended at least 14 days ago (the longest paid-after window) and none of its reminders'
messages is waiting to go or was sent less than 14 days ago: from then on nothing but a write that changes the
past can change its counts, and every such write forgets the day (`settle.models.forget_reminder_days`). The
final days of a period are counted once, the first time a figure needs them, and kept (`reminder_days`,
`reminder_day_counts`, per stage, channel and customer language); the other days are counted live, by the same
queries.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, tzinfo

from sqlalchemy import and_, case, exists, func, insert, literal, or_, select
from sqlalchemy.orm import Session

from settle.insights.figures import (
    DAY,
    PAID_WITHIN_DAYS,
    ChoiceCount,
    Counted,
    Deliveries,
    PaidAfter,
    Period,
    ReachedOutFirst,
    Share,
    _day_start,
    _sum,
    customer_speaks,
    seconds_within,
)
from settle.models import (
    REMINDER_DAYS_LOCK,
    Customer,
    Instalment,
    Invoice,
    InvoiceStatus,
    OutboxMessage,
    OutboxStatus,
    Reminder,
    ReminderChoice,
    ReminderDay,
    ReminderDayCount,
    ReminderSubject,
)

#: How long after its end a day can be final: its messages' paid-after windows must all be closed.
FINAL_AFTER = timedelta(days=max(PAID_WITHIN_DAYS))
#: What is counted of a stage's reminders (kept with channel ""), and of its messages on one channel.
REMINDER_COUNTS = ("reminders", "flagged", "reached_nobody")
MESSAGE_COUNTS = ("messages", "sent", "failed", *(f"{kind}_{days}" for days in PAID_WITHIN_DAYS for kind in ("counted", "paid")))
#: How long before a reminder its bill's payment is looked for: a payment counts from the moment a message was
#: sent, after the reminder was decided, so bills paid before are left out of the search (on a large database the
#: few paid since, not a million) with a margin that makes the answer the same wherever the counting starts.
PAID_SINCE_MARGIN = timedelta(days=1)


def reached_out_first(session: Session, period: Period, now: datetime, zone: tzinfo, language: str | None = None,
                      keep_final_days: bool = True) -> ReachedOutFirst:
    """Reminders the engine decided in the period: how their messages went, and whether payment followed. The
    period's final days are added up from their kept counts (counted now if missing); with `keep_final_days`
    false every day is counted live, the definition the kept counts equal (the tests compare the two)."""
    kept = _final_days(session, period, now, zone) if keep_final_days else []
    stages: dict[tuple[int, str], list[int]] = {}
    channels: dict[tuple[int, str, str], list[int]] = {}
    if kept:
        _add_kept(session, kept, language, stages, channels)
    live = _live_ranges(period, kept)
    if live:
        chosen = and_(or_(*(and_(Reminder.created_at >= start, Reminder.created_at < end) for start, end in live)),
                      customer_speaks(Reminder.customer_id, language))
        for _, stage, order, channel, *counts in _counted(session, chosen, live[0][0], now, by_language=False):
            _add(stages, channels, stage, order, channel, counts)
    ordered_stages = sorted(stages.items())
    ordered_channels = sorted(channels.items())
    by_name = dict(zip(MESSAGE_COUNTS, range(len(MESSAGE_COUNTS))))
    return ReachedOutFirst(
        reminders_by_stage=tuple(Counted(stage, counts[0]) for (_, stage), counts in ordered_stages),
        deliveries=tuple(Deliveries(stage, channel, counts[by_name["sent"]], counts[by_name["failed"]])
                         for (_, stage, channel), counts in ordered_channels),
        reached_nobody=sum(counts[2] for _, counts in ordered_stages),
        flagged_for_review=sum(counts[1] for _, counts in ordered_stages),
        paid_after=tuple(
            PaidAfter(stage, channel, *(Share(counts[by_name[f"paid_{days}"]], counts[by_name[f"counted_{days}"]])
                                        for days in PAID_WITHIN_DAYS))
            for (_, stage, channel), counts in ordered_channels if counts[by_name["sent"]]
        ),
        opt_outs=_choices(session, period, True, language),
        opt_ins=_choices(session, period, False, language),
    )


def _add(stages: dict, channels: dict, stage: str, order: int, channel: str, counts) -> None:
    """Adds one row of counts: a stage's reminders (channel "") or its messages on one channel."""
    if channel:
        into = channels.setdefault((order, stage, channel), [0] * len(MESSAGE_COUNTS))
        numbers = counts[len(REMINDER_COUNTS):]
    else:
        into = stages.setdefault((order, stage), [0] * len(REMINDER_COUNTS))
        numbers = counts[:len(REMINDER_COUNTS)]
    for n, value in enumerate(numbers):
        into[n] += int(value)


def _counted(session: Session, chosen, starts_at: datetime, now: datetime, by_language: bool) -> list[tuple]:
    """The counts of the reminders `chosen` (decided from `starts_at` on) per stage (channel ""), and of their
    messages per stage and channel, each row (language or "", stage, stage order, channel, *REMINDER_COUNTS,
    *MESSAGE_COUNTS); per customer language when `by_language`.

    A reminder reached nobody when it has messages of its own and none of them went or is waiting to go. Of the
    messages sent whose window has passed, those whose bill (or instalment) was paid in full within the window;
    an instalment paid before its moment was recorded is left out of the payments after (not of the deliveries).
    A bill paid in full was paid at its last payment, which the bill records (`Invoice.last_payment_at`)."""
    language = Customer.language if by_language else literal("")
    grouped = [Customer.language] if by_language else []

    def of_customers(query):
        return query.join(Customer, Customer.id == Reminder.customer_id) if by_language else query

    own_messages = OutboxMessage.reminder_id == Reminder.id  # a reminder named in another's message has none
    going_statuses = (OutboxStatus.SENT, OutboxStatus.PENDING)
    going = exists().where(own_messages, OutboxMessage.status.in_(going_statuses))
    # "Has messages, none going" is "has a message that did not go, none going": the few failed ones lead the search.
    stopped = exists().where(own_messages, OutboxMessage.status.not_in(going_statuses))
    zeros = [literal(0)] * len(MESSAGE_COUNTS)
    by_stage = session.execute(of_customers(
        select(language, Reminder.stage, Reminder.stage_order, literal(""), func.count(),
               _sum(Reminder.flagged_for_review.is_(True)), literal(0), *zeros)
        .where(chosen).group_by(*grouped, Reminder.stage, Reminder.stage_order)
    )).all()
    # A separate search, not a sum over the reminders: as a condition the database starts from the few failed ones.
    nobody = session.execute(of_customers(
        select(language, Reminder.stage, Reminder.stage_order, literal(""), literal(0), literal(0), func.count(), *zeros)
        .where(chosen, stopped, ~going).group_by(*grouped, Reminder.stage, Reminder.stage_order)
    )).all()

    paid_at = case((Reminder.subject == ReminderSubject.INVOICE, Invoice.last_payment_at), else_=Instalment.paid_at)
    unknown = and_(Instalment.paid_at.is_(None), Instalment.paid_cents >= Instalment.amount_cents)
    counted = and_(OutboxMessage.status == OutboxStatus.SENT, or_(Instalment.id.is_(None), ~unknown))
    measures = [func.count(), _sum(OutboxMessage.status == OutboxStatus.SENT), _sum(OutboxMessage.status == OutboxStatus.FAILED)]
    for days in PAID_WITHIN_DAYS:
        window_passed = and_(counted, OutboxMessage.sent_at <= now - timedelta(days=days))
        paid_within = seconds_within(OutboxMessage.sent_at, paid_at, 0, days * DAY)
        measures += [_sum(window_passed), _sum(and_(window_passed, paid_within))]
    by_channel = session.execute(of_customers(
        select(language, Reminder.stage, Reminder.stage_order, OutboxMessage.channel,
               *[literal(0)] * len(REMINDER_COUNTS), *measures)
        .join(OutboxMessage, OutboxMessage.reminder_id == Reminder.id)
        .outerjoin(Invoice, and_(Reminder.subject == ReminderSubject.INVOICE, Invoice.id == Reminder.subject_id,
                                 Invoice.status == InvoiceStatus.PAID,
                                 Invoice.last_payment_at >= starts_at - PAID_SINCE_MARGIN))
        .outerjoin(Instalment, and_(Reminder.subject == ReminderSubject.INSTALMENT, Instalment.id == Reminder.subject_id))
        .where(chosen)
        .group_by(*grouped, Reminder.stage, Reminder.stage_order, OutboxMessage.channel)
    )).all()
    merged: dict[tuple, list[int]] = {}
    for row in (*by_stage, *nobody, *by_channel):
        counts = merged.setdefault((str(row[0]), str(row[1]), int(row[2]), str(row[3])), [0] * (len(row) - 4))
        for n, value in enumerate(row[4:]):
            counts[n] += int(value or 0)
    return [(*key, *counts) for key, counts in merged.items()]


def _final_days(session: Session, period: Period, now: datetime, zone: tzinfo) -> list[ReminderDay]:
    """The period's final days whose counts are kept, counting those missing first."""
    last = min(period.end, (now - FINAL_AFTER).astimezone(zone).date() - timedelta(days=1))
    if last < period.start:
        return []

    def kept() -> list[ReminderDay]:
        return list(session.execute(
            select(ReminderDay).where(ReminderDay.day >= period.start, ReminderDay.day <= last).order_by(ReminderDay.day)
        ).scalars())

    days = kept()
    if len(days) < (last - period.start).days + 1:
        _count_days(session, period.start, last, now, zone)
        days = kept()
    return days


def _count_days(session: Session, first: date, last: date, now: datetime, zone: tzinfo) -> None:
    """Counts and keeps the days from `first` to `last` not kept yet whose messages are settled. On PostgreSQL
    alone under the lock the writes that forget days share, so a day is never counted from rows a write that has
    not committed yet is changing (two dashboards at once: the second finds the days kept); SQLite's
    transactions take the database's one write lock at their start."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(REMINDER_DAYS_LOCK)))
    have = set(session.execute(select(ReminderDay.day).where(ReminderDay.day >= first, ReminderDay.day <= last)).scalars())
    for n in range((last - first).days + 1):
        day = first + timedelta(days=n)
        starts_at, ends_before = _day_start(day, zone), _day_start(day + timedelta(days=1), zone)
        of_day = and_(Reminder.created_at >= starts_at, Reminder.created_at < ends_before)
        unsettled = exists().where(OutboxMessage.reminder_id == Reminder.id, of_day, or_(
            OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.sent_at > now - FINAL_AFTER))
        if day in have or session.execute(select(unsettled)).scalar():
            continue  # kept already, or counted live until its messages are settled
        session.execute(insert(ReminderDay).values(day=day, starts_at=starts_at, ends_before=ends_before, counted_at=now))
        rows = _counted(session, of_day, starts_at, now, by_language=True)
        if rows:
            names = ("language", "stage", "stage_order", "channel", *REMINDER_COUNTS, *MESSAGE_COUNTS)
            session.execute(insert(ReminderDayCount), [dict(zip(names, row), day=day) for row in rows])


def _add_kept(session: Session, kept: list[ReminderDay], language: str | None, stages: dict, channels: dict) -> None:
    """Adds the kept counts of the days `kept`, of customers speaking `language` (all when None)."""
    columns = [getattr(ReminderDayCount, name) for name in (*REMINDER_COUNTS, *MESSAGE_COUNTS)]
    rows = session.execute(
        select(ReminderDayCount.stage, ReminderDayCount.stage_order, ReminderDayCount.channel, *map(func.sum, columns))
        .where(ReminderDayCount.day.in_([day.day for day in kept]),
               ReminderDayCount.language == language if language else literal(True))
        .group_by(ReminderDayCount.stage, ReminderDayCount.stage_order, ReminderDayCount.channel)
    ).all()
    for stage, order, channel, *counts in rows:
        _add(stages, channels, stage, order, channel, counts)


def _live_ranges(period: Period, kept: list[ReminderDay]) -> list[tuple[datetime, datetime]]:
    """The stretches of the period outside the kept days, in order, as moments from and before."""
    ranges, start = [], period.starts_at
    for day in kept:
        if day.starts_at > start:
            ranges.append((start, day.starts_at))
        start = day.ends_before
    if start < period.ends_before:
        ranges.append((start, period.ends_before))
    return ranges


def _choices(session: Session, period: Period, opted_out: bool, language: str | None) -> tuple[ChoiceCount, ...]:
    """Customers' opt-outs from reminders (or back in) made in the period, by channel and source."""
    rows = session.execute(
        select(ReminderChoice.channel, ReminderChoice.source, func.count())
        .where(period.holds(ReminderChoice.created_at), ReminderChoice.opted_out.is_(opted_out),
               customer_speaks(ReminderChoice.customer_id, language))
        .group_by(ReminderChoice.channel, ReminderChoice.source).order_by(ReminderChoice.channel, ReminderChoice.source)
    ).all()
    return tuple(ChoiceCount(channel, str(source), count) for channel, source, count in rows)
