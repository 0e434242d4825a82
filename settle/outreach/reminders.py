"""The reminder engine: which bills and instalments get which reminder today, and their delivery.

Selection is set-based: one INSERT … SELECT per stage claims a Reminder row for every invoice (or plan
instalment) that is due for that stage, from the last stage to the first, so a late run sends only the
most relevant stage and never an earlier one after a later one. The unique (subject, subject_id, stage)
key with ON CONFLICT DO NOTHING makes two runs at once claim each reminder once.

A customer hears from Settle at most once a day: a customer reminded earlier that (local) day is left
out, and the reminders one run claims for a customer share the run's moment and one message. That
message names all their open bills, in the tone of the most advanced stage any of them reached, with
one link that pays them all (or, for a late instalment, the instalment's link).

Delivery goes through an outbox: each reminder gets one message per channel tried, retried with backoff,
then handed to the next channel of the customer's order. One transaction per message, so a crash loses at
most the message being sent, and nothing is sent during quiet hours or after the bill was settled.

A channel the customer opted out of (settle.outreach.opt_outs) is left out of their order, also for a message
queued before they opted out: it goes to the next allowed channel, or nowhere. A customer who opted out of every
channel gets no message, except a formal notice (`formal_notice` in the policy), which then goes by e-mail.
`stage_order` is the stage's `offset_days`: a later stage always has a higher order, whatever the list.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Boolean, Integer, String, exists, func, insert, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session, sessionmaker

from settle import metrics
from settle.arrangements.plans import break_late_plans
from settle.clock import format_date
from settle.config import Settings
from settle.errors import SendError, UnknownStage
from settle.locales import LOCALES, format_list
from settle.models import (
    ChatConversation,
    Customer,
    Extension,
    HardshipReport,
    Instalment,
    InstalmentPlan,
    Invoice,
    InvoiceStatus,
    OutboxMessage,
    Payment,
    PlanStatus,
    Reminder,
    UTCDateTime,
)
from settle.money import euros, format_euros
from settle.outreach.opt_outs import opt_out_link, opted_out_channels
from settle.outreach.senders import ReminderContent, Sender
from settle.payments.incoming import open_cents
from settle.payments.links import offer_instalment_link, offer_link, payable_invoices
from settle.policy import WEEKDAYS, ArrangementPolicy, ReminderPolicy, Stage
from settle.signing import link_secret, sign, signature_matches

#: Invoices that may be reminded; disputed, in-plan, paid and cancelled ones never are.
REMINDABLE_STATUSES = (InvoiceStatus.OPEN, InvoiceStatus.PARTIALLY_PAID)
INVOICE, INSTALMENT = "invoice", "instalment"
PENDING, SENT, FAILED, CANCELLED = "pending", "sent", "failed", "cancelled"
#: Messages claimed per short transaction while delivering.
BATCH = 100
#: Length of OutboxMessage.last_error.
ERROR_ROOM = 300
_URL_QUERY = re.compile(r"(https?://[^\s?#]+)[?#]\S*")
_PAY_TOKEN = re.compile(r"/pay/[^\s/?#]+")
_SECRET_PAIR = re.compile(r"\b(token|key|password|secret|authorization)\b(\s*[=:]\s*)(bearer\s+)?\S+", re.IGNORECASE)



@dataclass
class RunSummary:
    """What one run did (or, on a dry run, would claim), for the operator and the cron log."""

    claimed: dict[str, int] = field(default_factory=dict)
    sent: dict[str, int] = field(default_factory=dict)
    failed: int = 0
    retried: int = 0
    fell_back: int = 0
    cancelled: int = 0
    opted_out: int = 0
    flagged_for_review: int = 0
    waiting_for_quiet_hours: int = 0
    dry_run: bool = False

    def lines(self) -> list[str]:
        """The summary as short lines for the terminal."""
        claimed = ", ".join(f"{stage} {count}" for stage, count in self.claimed.items()) or "none"
        if self.dry_run:
            return [
                f"Would claim: {claimed}",
                f"Would flag for a person to review: {self.flagged_for_review}",
                "Dry run: nothing was stored or sent.",
            ]
        sent = ", ".join(f"{channel} {count}" for channel, count in self.sent.items()) or "none"
        return [
            f"Claimed: {claimed}",
            f"Flagged for a person to review: {self.flagged_for_review}",
            f"Sent: {sent}",
            f"To retry later on the same channel: {self.retried}",
            f"Handed to the next channel: {self.fell_back}",
            f"Failed on every usable channel: {self.failed}",
            f"Cancelled (paid, disputed, in a plan or extended since): {self.cancelled}",
            f"Not sent (opted out of every channel): {self.opted_out}",
            f"Waiting for the end of quiet hours: {self.waiting_for_quiet_hours}",
        ]


# -- selection ------------------------------------------------------------------------------------


def select_due(
    session: Session,
    policy: ReminderPolicy,
    today: date,
    now: datetime,
    arrangements_policy: ArrangementPolicy,
    timezone: str,
) -> list[Reminder]:
    """Claims the reminders due today and queues each one's first message; returns the new reminders.

    Late plans are broken first, so their invoices are reminded as ordinary bills again.
    """
    break_late_plans(session, arrangements_policy, today, now)
    hardship_since = now - timedelta(days=policy.hardship_pause_days) if policy.hardship_pause_days else None
    pause = _Pause(hardship_since, datetime.combine(today, time(0, 0), tzinfo=ZoneInfo(timezone)), now)
    ids: list[int] = []
    for stage in reversed(policy.stages):
        ids += _claim(session, INVOICE, stage, _due_invoices(stage, today, now, pause))
    for stage in reversed(policy.instalment_stages):
        ids += _claim(session, INSTALMENT, stage, _due_instalments(stage, today, now, pause))
    if not ids:
        return []
    _queue_first_messages(session, ids, policy, next_allowed_moment(now, policy, timezone))
    return session.execute(select(Reminder).where(Reminder.id.in_(ids)).order_by(Reminder.id)).scalars().all()


def _claim_columns(subject: str, subject_id, customer_id, stage: Stage, now: datetime) -> list:
    return [
        literal(subject, String(20)),
        subject_id,
        customer_id,
        literal(stage.name, String(40)),
        literal(stage.offset_days, Integer),
        literal(now, UTCDateTime()),
        literal(stage.flag_for_review, Boolean),
    ]


def _stage_window(column, stage: Stage, today: date) -> list:
    """Due for the stage: `offset_days` after the due date at the latest today; before it, not yet due."""
    conditions = [column <= today - timedelta(days=stage.offset_days)]
    if stage.offset_days < 0:
        conditions.append(column > today)
    return conditions


def _not_yet_at_stage(subject: str, subject_id, stage: Stage):
    """No reminder of this stage or a later one for this subject yet."""
    return ~exists().where(
        Reminder.subject == subject, Reminder.subject_id == subject_id, Reminder.stage_order >= stage.offset_days
    )


@dataclass(frozen=True)
class _Pause:
    """Who is left out of a run: customers who reported hardship since `hardship_since`, and customers
    reminded earlier today (from `day_start` to before this run's `now`)."""

    hardship_since: datetime | None
    day_start: datetime
    now: datetime


def _common_conditions(customer_id, stage: Stage, pause: _Pause) -> list:
    conditions = [
        Customer.reminders_paused_at.is_(None),
        ~exists().where(Reminder.customer_id == customer_id, Reminder.created_at >= pause.day_start,
                        Reminder.created_at < pause.now),
    ]
    if stage.only_if_opted_in:
        conditions.append(Customer.wants_heads_up.is_(True))
    if pause.hardship_since is not None:
        conditions.append(
            ~exists().where(HardshipReport.customer_id == customer_id, HardshipReport.reported_at >= pause.hardship_since)
        )
    return conditions


def _due_invoices(stage: Stage, today: date, now: datetime, pause: _Pause):
    paid = (
        select(Payment.invoice_id, func.sum(Payment.amount_cents).label("paid_cents"))
        .group_by(Payment.invoice_id)
        .subquery("paid")
    )
    return (
        select(*_claim_columns(INVOICE, Invoice.id, Invoice.customer_id, stage, now))
        .select_from(Invoice)
        .join(Customer, Customer.id == Invoice.customer_id)
        .outerjoin(paid, paid.c.invoice_id == Invoice.id)
        .where(
            Invoice.status.in_(REMINDABLE_STATUSES),
            Invoice.total_cents > func.coalesce(paid.c.paid_cents, 0),
            *_stage_window(Invoice.due_date, stage, today),
            _not_yet_at_stage(INVOICE, Invoice.id, stage),
            *_common_conditions(Invoice.customer_id, stage, pause),
        )
    )


def _due_instalments(stage: Stage, today: date, now: datetime, pause: _Pause):
    return (
        select(*_claim_columns(INSTALMENT, Instalment.id, InstalmentPlan.customer_id, stage, now))
        .select_from(Instalment)
        .join(InstalmentPlan, InstalmentPlan.id == Instalment.plan_id)
        .join(Customer, Customer.id == InstalmentPlan.customer_id)
        .where(
            InstalmentPlan.status == PlanStatus.ACTIVE,
            Instalment.paid_cents < Instalment.amount_cents,
            *_stage_window(Instalment.due_date, stage, today),
            _not_yet_at_stage(INSTALMENT, Instalment.id, stage),
            *_common_conditions(InstalmentPlan.customer_id, stage, pause),
        )
    )


def _claim(session: Session, subject: str, stage: Stage, due) -> list[int]:
    """One INSERT … SELECT … ON CONFLICT DO NOTHING; the ids of the rows this statement inserted."""
    dialect = session.get_bind().dialect.name
    columns = ["subject", "subject_id", "customer_id", "stage", "stage_order", "created_at", "flagged_for_review"]
    if dialect == "postgresql":
        statement = (
            postgresql.insert(Reminder)
            .from_select(columns, due)
            .on_conflict_do_nothing(index_elements=["subject", "subject_id", "stage"])
            .returning(Reminder.id)
        )
        return list(session.execute(statement).scalars())
    if dialect != "sqlite":
        raise NotImplementedError(f"reminders are selected on SQLite and PostgreSQL, not on {dialect}")
    # SQLite (in SQLAlchemy 1.4) has no RETURNING; it lets one writer at a time, so the rows above the
    # highest id seen in this transaction are the ones this statement inserted.
    before = session.execute(select(func.coalesce(func.max(Reminder.id), 0))).scalar_one()
    session.execute(
        sqlite.insert(Reminder)
        .from_select(columns, due)
        .on_conflict_do_nothing(index_elements=["subject", "subject_id", "stage"])
    )
    return list(
        session.execute(
            select(Reminder.id).where(Reminder.id > before, Reminder.subject == subject, Reminder.stage == stage.name)
        ).scalars()
    )


def _queue_first_messages(session: Session, reminder_ids: list[int], policy: ReminderPolicy, due_at: datetime) -> None:
    """One first message per customer, for their most advanced new reminder, on the first channel that
    reaches them; the customer's other new reminders are recorded and go in the same message."""
    rows = session.execute(
        select(Reminder.id, Reminder.subject, Reminder.stage_order, Reminder.stage, Customer, ChatConversation.conversation_id)
        .join(Customer, Customer.id == Reminder.customer_id)
        .outerjoin(ChatConversation, ChatConversation.customer_id == Customer.id)
        .where(Reminder.id.in_(reminder_ids))
        .order_by(Reminder.id)  # on a tie, the first claimed leads, on every database
    ).all()
    leads: dict[int, Row] = {}
    for row in rows:
        lead = leads.get(row.Customer.id)
        if lead is None or _precedence(row.stage_order, row.subject) > _precedence(lead.stage_order, lead.subject):
            leads[row.Customer.id] = row
    opted_out = opted_out_channels(session, leads)
    messages = []
    for reminder_id, _subject, _order, stage, customer, conversation_id in leads.values():
        order = channel_order(policy, customer.preferred_channel)
        usable = allowed_channels(order, customer, conversation_id, opted_out.get(customer.id, frozenset()),
                                  _is_formal(policy, stage))
        if usable:
            messages.append(dict(reminder_id=reminder_id, channel=usable[0], status=PENDING, attempts=0,
                                 next_attempt_at=due_at, last_error=None))
        elif any(_reachable(channel, customer, conversation_id) for channel in order):
            continue  # reachable, but opted out of every channel that reaches them: nothing is sent
        else:
            messages.append(dict(reminder_id=reminder_id, channel=order[0], status=FAILED, attempts=0,
                                 next_attempt_at=due_at, last_error=_unreachable(customer, conversation_id)))
    if messages:
        session.execute(insert(OutboxMessage), messages)


def _precedence(stage_order: int, subject: str) -> tuple[int, bool]:
    """Which of a customer's reminders leads their message: the latest stage; on a tie, the bills' one."""
    return stage_order, subject == INVOICE


def channel_order(policy: ReminderPolicy, preferred) -> list[str]:
    """The policy's fallback order, starting with the customer's preferred channel when it is in it."""
    preferred = getattr(preferred, "value", preferred)
    order = list(policy.channels.fallback_order)
    if preferred in order:
        order.remove(preferred)
        order.insert(0, preferred)
    return order


def allowed_channels(order: list[str], customer: Customer, conversation_id: str | None, opted_out: frozenset[str],
                     formal: bool) -> list[str]:
    """The channels of `order` that reach the customer and that they did not opt out of; for a formal notice to a
    customer who opted out of every channel that reaches them, e-mail (when it reaches them)."""
    reachable = [channel for channel in order if _reachable(channel, customer, conversation_id)]
    allowed = [channel for channel in reachable if channel not in opted_out]
    if not allowed and formal and "email" in reachable:
        return ["email"]
    return allowed


def _is_formal(policy: ReminderPolicy, stage_name: str) -> bool:
    stage = next((s for s in policy.stages + policy.instalment_stages if s.name == stage_name), None)
    return bool(stage and stage.formal_notice)


def _reachable(channel: str, customer: Customer, conversation_id: str | None) -> bool:
    return {"chat": bool(conversation_id), "email": bool(customer.email), "sms": bool(customer.phone)}.get(channel, False)


def _unreachable(customer: Customer, conversation_id: str | None) -> str:
    missing = [what for what, present in (("chat conversation", conversation_id), ("e-mail address", customer.email),
                                          ("phone number", customer.phone)) if not present]
    return "no usable channel: the customer has no " + ", no ".join(missing) if missing else "no usable channel in the policy"


# -- quiet hours ----------------------------------------------------------------------------------


def next_allowed_moment(now: datetime, policy: ReminderPolicy, timezone: str) -> datetime:
    """`now` if messages may go out now (local time in `timezone`), else the first moment they may."""
    if now.tzinfo is None:
        raise ValueError("naive datetime: pass a timezone-aware value")
    zone = ZoneInfo(timezone)
    start, end = policy.quiet_hours.start, policy.quiet_hours.end
    local = moment = now.astimezone(zone)
    for _ in range(16):  # each step ends a quiet day or a quiet night; a week has at most 14 of them
        if WEEKDAYS[moment.weekday()] in policy.quiet_days:
            moment = datetime.combine(moment.date() + timedelta(days=1), time(0, 0), tzinfo=zone)
        elif _quiet(moment.time(), start, end):
            after_midnight = start > end and moment.time() < end
            day = moment.date() if after_midnight or start < end else moment.date() + timedelta(days=1)
            moment = datetime.combine(day, end, tzinfo=zone)
        else:
            return now if moment == local else moment.astimezone(now.tzinfo)
    raise ValueError("the reminder policy's quiet days and hours leave no moment to send")


def _quiet(moment: time, start: time, end: time) -> bool:
    if start < end:
        return start <= moment < end
    if start > end:  # the quiet period crosses midnight
        return moment >= start or moment < end
    return False


# -- delivery -------------------------------------------------------------------------------------


def claim_deliverable(session: Session, now: datetime, limit: int = BATCH) -> list[OutboxMessage]:
    """Pending messages due by `now`, oldest first, locked; rows another worker holds are skipped."""
    return session.execute(
        select(OutboxMessage)
        .where(OutboxMessage.status == PENDING, OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).scalars().all()


def still_wanted(session: Session, message: OutboxMessage) -> bool:
    """Whether the message still has something to remind of right before sending; if not, it is cancelled."""
    wanted = bool(_still_due(session, session.get(Reminder, message.reminder_id)))
    if not wanted:
        message.status = CANCELLED
        session.flush()
    return wanted


def _still_due(session: Session, reminder: Reminder) -> list[Reminder]:
    """The reminders one message covers (the customer's, claimed in the same run) that still make sense.

    A bill paid, disputed, put in a plan or given a later due date since the reminder was chosen, an
    instalment paid or a plan ended since, or a customer who reported hardship or whose reminders a person
    paused since, is never reminded.
    """
    if session.get(Customer, reminder.customer_id).reminders_paused_at is not None:
        return []
    hardship_since = session.execute(
        select(exists().where(HardshipReport.customer_id == reminder.customer_id, HardshipReport.reported_at >= reminder.created_at))
    ).scalar_one()
    if hardship_since:
        return []
    same_run = session.execute(
        select(Reminder).where(Reminder.customer_id == reminder.customer_id, Reminder.created_at == reminder.created_at)
    ).scalars().all()
    return [mate for mate in same_run if _subject_still_due(session, mate)]


def _subject_still_due(session: Session, reminder: Reminder) -> bool:
    if reminder.subject == INVOICE:
        invoice = session.get(Invoice, reminder.subject_id)
        extended_since = session.execute(
            select(exists().where(Extension.invoice_id == invoice.id, Extension.created_at >= reminder.created_at))
        ).scalar_one()
        return invoice.status in REMINDABLE_STATUSES and open_cents(session, invoice) > 0 and not extended_since
    instalment = session.get(Instalment, reminder.subject_id)
    return instalment.paid_cents < instalment.amount_cents and instalment.plan.status == PlanStatus.ACTIVE


#: The last line of an e-mail or SMS reminder: how to stop them on that channel, with a signed link.
OPT_OUT_FOOTERS = {"email": "utter_reminder_opt_out_footer_email", "sms": "utter_reminder_opt_out_footer_sms"}
#: How long a chat reminder's signature holds: it is delivered at once, or not at all.
REMINDER_TOKEN_LIFETIME = timedelta(hours=1)
#: What the engine signs in a chat reminder, in order (the conversation and the expiry come last).
SIGNED_REMINDER_VALUES = ("customer_id", "invoice_number", "stage")


def _reminder_token(settings: Settings, values: Mapping[str, str], conversation_id: str) -> str:
    return sign(link_secret(settings), "reminder", *(values.get(key, "") for key in SIGNED_REMINDER_VALUES),
                conversation_id, values.get("expires", ""))


def reminder_is_genuine(settings: Settings, now: datetime, conversation_id: str, values: Mapping[str, str], token: str) -> bool:
    """A chat reminder is shown only when the engine signed it for this very conversation and it has not
    expired: EXTERNAL_reminder typed by hand, replayed elsewhere or late does nothing."""
    expires = values.get("expires", "")
    fresh = expires.isdigit() and int(expires) > now.timestamp()
    return fresh and signature_matches(link_secret(settings), token or "", "reminder",
                                       *(values.get(key, "") for key in SIGNED_REMINDER_VALUES), conversation_id, expires)


def content_for(
    session: Session, message: OutboxMessage, settings: Settings, now: datetime, policy: ReminderPolicy
) -> ReminderContent:
    """What the message says and where it goes: the stage's response and its values, with a personal link.

    A late instalment is reminded with its plan's link. Otherwise the message names every open bill
    of the customer, in the tone of the most advanced stage any of them reached, with one link for all.
    """
    reminder = session.get(Reminder, message.reminder_id)
    lead = max(_still_due(session, reminder) or [reminder], key=lambda r: _precedence(r.stage_order, r.subject))
    customer = session.get(Customer, reminder.customer_id)
    language = customer.language if customer.language in LOCALES else "en"
    subject_response = "utter_reminder_email_subject"
    if lead.subject == INVOICE:
        link = offer_link(session, customer.id, settings, now)  # everything open
        bills = payable_invoices(session, customer.id)
        stage = _tone(session, policy, bills) or _stage(policy, lead.stage)
        first = bills[0]
        values = {
            "invoice_number": first.number, "amount": format_euros(link.amount, language),
            "due_date": format_date(first.due_date, language),
        }
        response = stage.response
        if len(bills) > 1:
            response, subject_response = stage.several_bills_response or stage.response, "utter_reminder_email_subject_several"
            values.update({
                "bill_count": str(len(bills)),
                "bills": format_list([f"{bill.number} ({format_euros(euros(open_cents(session, bill)), language)}, "
                                      f"{format_date(bill.due_date, language)})" for bill in bills], language),
            })
    else:
        stage = _stage(policy, lead.stage)
        response = stage.response
        instalment = session.get(Instalment, lead.subject_id)
        plan = instalment.plan
        link = offer_instalment_link(session, plan, settings, now)
        # The chat and the e-mail subject speak of a bill: the plan's first invoice stands for the plan.
        values = {
            "invoice_number": plan.invoices[0].number if plan.invoices else plan.reference,
            "amount": format_euros(euros(instalment.amount_cents - instalment.paid_cents), language),
            "due_date": format_date(instalment.due_date, language),
        }
    conversation = session.get(ChatConversation, customer.id)
    conversation_id = conversation.conversation_id if conversation else None
    values = {
        "customer_id": str(customer.id),
        "first_name": customer.first_name,
        **values,
        "link": link.url,
        "stage": stage.name,
        # The chat shows the reminder in this language too (actions/reminders.py), unless the chat chose another.
        "language": language,
        "expires": str(int((now + REMINDER_TOKEN_LIFETIME).timestamp())),
    }
    opted_out = message.channel in opted_out_channels(session, [customer.id]).get(customer.id, frozenset())
    # E-mail and SMS end with the way to stop them; in the chat the customer just says so. A formal notice sent
    # despite an opt-out says why it still came instead.
    footer, stop_link = None, None
    if opted_out:
        footer = "utter_reminder_formal_notice_footer"
    elif message.channel in OPT_OUT_FOOTERS:
        footer, stop_link = OPT_OUT_FOOTERS[message.channel], opt_out_link(settings, customer.id, str(message.channel))
    return ReminderContent(
        customer_name=f"{customer.first_name} {customer.last_name}",
        email=customer.email,
        phone=customer.phone,
        conversation_id=conversation_id,
        response=response,
        subject_response=subject_response,
        values=values,
        reminder_token=_reminder_token(settings, values, conversation_id or ""),
        language=language,
        footer_response=footer,
        opt_out_link=stop_link,
    )


def _tone(session: Session, policy: ReminderPolicy, bills: list[Invoice]) -> Stage | None:
    """The most advanced bill stage any of these bills reached, today or before."""
    stages = {stage.name: stage for stage in policy.stages}
    latest = session.execute(
        select(Reminder.stage)
        .where(Reminder.subject == INVOICE, Reminder.subject_id.in_([bill.id for bill in bills]),
               Reminder.stage.in_(list(stages)))
        .order_by(Reminder.stage_order.desc())
        .limit(1)
    ).scalar_one_or_none()
    return stages.get(latest) if latest else None


def _stage(policy: ReminderPolicy, name: str) -> Stage:
    stage = next((s for s in policy.stages + policy.instalment_stages if s.name == name), None)
    if stage is None:
        raise UnknownStage(f"the reminder policy has no stage {name!r} any more")
    return stage


def record_attempt(
    session: Session, message: OutboxMessage, error: SendError | None, now: datetime, policy: ReminderPolicy
) -> None:
    """Notes one sending attempt: sent, to be retried on this channel later, or handed to the next channel."""
    _record(session, message, error, now, policy)


def _record(session: Session, message: OutboxMessage, error, now: datetime, policy: ReminderPolicy) -> str:
    """record_attempt, saying what happened: "sent", "retried", "fell_back" or "failed"."""
    message.attempts = (message.attempts or 0) + 1
    if error is None:
        message.status, message.sent_at, message.last_error = SENT, now, None
        session.flush()
        metrics.REMINDERS_SENT.labels(channel=message.channel).inc()
        return "sent"
    message.last_error = safe_error(error)
    rules = policy.channels
    if getattr(error, "retryable", False) and message.attempts < rules.attempts_per_channel:
        wait = rules.retry_after_minutes[min(message.attempts - 1, len(rules.retry_after_minutes) - 1)]
        message.next_attempt_at = now + timedelta(minutes=wait)
        session.flush()
        return "retried"
    message.status = FAILED
    return "fell_back" if _hand_to_next_channel(session, message, policy, now) else "failed"


def _hand_to_next_channel(session: Session, message: OutboxMessage, policy: ReminderPolicy, now: datetime) -> str | None:
    """Queues the reminder on the next channel that may carry it, if any, and returns that channel."""
    channel = _next_channel(session, message, policy)
    if channel is not None:
        session.add(OutboxMessage(reminder_id=message.reminder_id, channel=channel, status=PENDING, attempts=0,
                                  next_attempt_at=now))
    session.flush()
    return channel


def _next_channel(session: Session, message: OutboxMessage, policy: ReminderPolicy) -> str | None:
    """The next channel in the customer's order after this one that can reach them and wasn't tried."""
    reminder = session.get(Reminder, message.reminder_id)
    customer = session.get(Customer, reminder.customer_id)
    tried = set(session.execute(
        select(OutboxMessage.channel).where(OutboxMessage.reminder_id == message.reminder_id)
    ).scalars()) | {message.channel}
    order = channel_order(policy, customer.preferred_channel)
    after = order[order.index(message.channel) + 1:] if message.channel in order else order
    allowed = _allowed_for(session, reminder, customer, policy)
    return next((c for c in after if c not in tried and c in allowed), None)


def _allowed_for(session: Session, reminder: Reminder, customer: Customer, policy: ReminderPolicy) -> list[str]:
    """The channels that may carry this reminder to this customer now, in their order."""
    conversation = session.get(ChatConversation, customer.id)
    return allowed_channels(channel_order(policy, customer.preferred_channel), customer,
                            conversation.conversation_id if conversation else None,
                            opted_out_channels(session, [customer.id]).get(customer.id, frozenset()),
                            _is_formal(policy, reminder.stage))


def _opted_out_since(session: Session, message: OutboxMessage, policy: ReminderPolicy) -> bool:
    """Whether the customer opted out of this message's channel after it was queued (a formal notice's e-mail to a
    customer who opted out of everything excepted)."""
    reminder = session.get(Reminder, message.reminder_id)
    customer = session.get(Customer, reminder.customer_id)
    if message.channel not in opted_out_channels(session, [customer.id]).get(customer.id, frozenset()):
        return False
    return message.channel not in _allowed_for(session, reminder, customer, policy)


def _skip_opted_out(session: Session, message: OutboxMessage, policy: ReminderPolicy, now: datetime) -> str:
    """Cancels a message on a channel the customer opted out of since it was queued, handing it to the next allowed
    channel if there is one: "fell_back", else "opted_out"."""
    message.status, message.last_error = CANCELLED, f"the customer opted out of {message.channel} reminders"
    return "fell_back" if _hand_to_next_channel(session, message, policy, now) else "opted_out"


def safe_error(error: Exception) -> str:
    """The error on one line, fit for the log: no link tokens, query strings or key values, at most 300 characters."""
    text = " ".join(str(error).split()) or type(error).__name__
    text = _URL_QUERY.sub(r"\1?…", text)
    text = _PAY_TOKEN.sub("/pay/…", text)
    text = _SECRET_PAIR.sub(lambda m: f"{m.group(1)}{m.group(2)}***", text)
    return text if len(text) <= ERROR_ROOM else text[: ERROR_ROOM - 1] + "…"


# -- a whole run ----------------------------------------------------------------------------------


def run(
    session_factory: sessionmaker,
    policy: ReminderPolicy,
    arrangements_policy: ArrangementPolicy,
    senders: Mapping[str, Sender],
    settings: Settings,
    now: datetime,
    dry_run: bool = False,
    progress: Callable[[str], None] | None = None,
) -> RunSummary:
    """Claims what is due today, then sends every message deliverable now; safe to run twice or after a crash."""
    say = progress or (lambda _line: None)
    summary = RunSummary(dry_run=dry_run)
    today = now.astimezone(ZoneInfo(settings.timezone)).date()
    with session_factory() as session:
        claimed = select_due(session, policy, today, now, arrangements_policy, settings.timezone)
        _count_claimed(session, summary, claimed)
        if dry_run:
            session.rollback()
            say(f"would claim {len(claimed)} reminders")
            return summary
        session.commit()
    say(f"claimed {len(claimed)} reminders")

    allowed = next_allowed_moment(now, policy, settings.timezone)
    if allowed > now:
        with session_factory() as session:
            summary.waiting_for_quiet_hours = session.execute(
                select(func.count()).select_from(OutboxMessage)
                .where(OutboxMessage.status == PENDING, OutboxMessage.next_attempt_at <= allowed)
            ).scalar_one()
        say(f"quiet hours: {summary.waiting_for_quiet_hours} messages wait until {allowed.isoformat(timespec='minutes')}")
        return summary

    while True:
        with session_factory.begin() as session:
            batch = [message.id for message in claim_deliverable(session, now)]
        if not batch:
            return summary
        for message_id in batch:
            _deliver(session_factory, message_id, policy, senders, settings, now, summary, say)


def _count_claimed(session: Session, summary: RunSummary, claimed: Iterable[Reminder]) -> None:
    claimed = list(claimed)
    for reminder in claimed:
        summary.claimed[reminder.stage] = summary.claimed.get(reminder.stage, 0) + 1
    summary.flagged_for_review = sum(1 for reminder in claimed if reminder.flagged_for_review)
    with_message = set(session.execute(
        select(Reminder.customer_id).join(OutboxMessage, OutboxMessage.reminder_id == Reminder.id)
        .where(Reminder.id.in_([reminder.id for reminder in claimed]))
    ).scalars()) if claimed else set()
    summary.opted_out += len({reminder.customer_id for reminder in claimed} - with_message)
    if claimed:
        summary.failed += session.execute(
            select(func.count()).select_from(OutboxMessage).where(
                OutboxMessage.reminder_id.in_([reminder.id for reminder in claimed]), OutboxMessage.status == FAILED
            )
        ).scalar_one()


def _deliver(session_factory, message_id, policy, senders, settings, now, summary: RunSummary, say) -> None:
    """One message in its own transaction: checked, sent and recorded, or left to whoever holds it."""
    with session_factory.begin() as session:
        message = session.execute(
            select(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.status == PENDING, OutboxMessage.next_attempt_at <= now)
            .with_for_update(skip_locked=True)
        ).scalar_one_or_none()
        if message is None:
            return
        label = f"message {message.id} (reminder {message.reminder_id}, {message.channel})"
        if not still_wanted(session, message):
            summary.cancelled += 1
            say(f"{label}: cancelled, no longer wanted")
            return
        if _opted_out_since(session, message, policy):
            outcome = _skip_opted_out(session, message, policy, now)
            setattr(summary, outcome, getattr(summary, outcome) + 1)
            say(f"{label}: not sent, the customer opted out of {message.channel} reminders; {outcome.replace('_', ' ')}")
            return
        try:
            content = content_for(session, message, settings, now, policy)
        except UnknownStage as unknown:
            message.status, message.attempts, message.last_error = FAILED, message.attempts + 1, safe_error(unknown)
            summary.failed += 1
            say(f"{label}: failed, {message.last_error}")
            return
        sender = senders.get(message.channel)
        error: SendError | None = None
        if sender is None:
            error = SendError(f"no sender is set up for the {message.channel} channel", retryable=False)
        else:
            try:
                sender.send(content)
            except SendError as failure:
                error = failure
        outcome = _record(session, message, error, now, policy)
    if outcome == "sent":
        summary.sent[message.channel] = summary.sent.get(message.channel, 0) + 1
        say(f"{label}: sent")
    else:
        setattr(summary, outcome, getattr(summary, outcome) + 1)
        say(f"{label}: {outcome.replace('_', ' ')} after {message.last_error}")
