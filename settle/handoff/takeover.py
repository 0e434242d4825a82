"""A person takes over the chat: the hand-over, the agents' queue, claiming, replies, notes, callbacks.

The bot's side (the actions) and the agents' side (the console) both call these functions; the
database row of the escalation is the one place that says who has the conversation.
"""
from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from settle.clock import DAY_NAMES, format_date
from settle.errors import AlreadyClaimed, CallbackProblem, EscalationNotFound, HandoffProblem, NoCallbackToMark, NotYours
from settle.handoff.escalations import escalate
from settle.handoff.office_hours import OfficeHours
from settle.identity.privacy import mask_card_numbers, private_events
from settle.models import Agent, Escalation, EscalationMessage, EscalationReason, EscalationStatus, MessageAuthor
from settle.money import format_euros
from settle.words import times_in_english

#: How an agent can end an escalation: solved, or back to the bot.
CLOSED = (EscalationStatus.RESOLVED, EscalationStatus.HANDED_BACK)
#: The queue's views: waiting for anyone, claimed by me, closed.
VIEWS = ("waiting", "mine", "closed")

MAX_TRANSCRIPT_ENTRIES = 200
MAX_MESSAGE_LENGTH = 2000
#: How far ahead a callback may be asked for.
CALLBACK_HORIZON = timedelta(days=14)
#: "at 10", "at 9am": an hour without minutes, which dateparser misreads.
_BARE_HOUR = re.compile(r"(?P<at>\bat\s+)(?P<hour>\d{1,2})(?![\d:.]|\s*(?:am|pm|h)\b)", re.I)


@dataclass(frozen=True)
class HandOver:
    """What the bot tells the customer after queueing them."""

    escalation_id: int
    office_open: bool
    wait_minutes: int | None
    next_opening: datetime | None


def hand_over(
    session: Session,
    reason: EscalationReason,
    conversation_id: str,
    customer_id: int | None,
    transcript: list[dict],
    bot_tried: list[str],
    hours: OfficeHours,
    minutes_per_waiting_customer: int,
    now: datetime,
) -> HandOver:
    """Queues the conversation for a person with the chat so far, and says when one can be expected.

    Args:
        transcript: the chat up to now, oldest first, as {"who": "customer"|"bot", "text", "at"}.
        bot_tried: what the customer asked the bot about (intent names), for the agent.
    """
    escalation = escalate(session, reason, conversation_id, customer_id, {"bot_tried": bot_tried}, now)
    escalation.transcript_json = json.dumps(
        [{**entry, "text": str(entry.get("text", ""))[:MAX_MESSAGE_LENGTH]} for entry in transcript[-MAX_TRANSCRIPT_ENTRIES:]],
        ensure_ascii=False,
    )
    session.flush()
    if not hours.is_open(now):
        return HandOver(escalation.id, False, None, hours.next_opening(now))
    ahead = session.execute(
        select(func.count())
        .select_from(Escalation)
        .where(Escalation.status == EscalationStatus.WAITING, Escalation.id <= escalation.id)
    ).scalar_one()
    return HandOver(escalation.id, True, _rounded_up(max(1, ahead) * minutes_per_waiting_customer), None)


def parse_phone(text: str) -> str:
    """A phone number as the customer typed it, tidied: 8 to 15 digits, an optional leading +."""
    cleaned = " ".join((text or "").split())
    digits = re.sub(r"\D", "", cleaned)
    if not re.fullmatch(r"\+?[\d\s().\-/]+", cleaned) or not 8 <= len(digits) <= 15:
        raise CallbackProblem("phone")
    return ("+" if cleaned.startswith("+") else "") + digits


def parse_callback_time(text: str, hours: OfficeHours, now: datetime) -> datetime:
    """The moment the customer wants to be called ("tomorrow at 10", "Monday 14:30", "morgen om 10 uur", "lundi à
    14h30"), when the office is open.

    Raises:
        CallbackProblem: unclear, in the past, outside office hours, or more than two weeks ahead.
    """
    import dateparser  # a quarter of a second to import: only when a time is parsed

    local_now = now.astimezone(hours.zone)
    # dateparser takes "at 10" for the 10th of a month and drops the hour of "tomorrow at 10".
    phrase = _BARE_HOUR.sub(lambda m: f"{m['at']}{m['hour']}:00", times_in_english(text or ""))
    parsed = dateparser.parse(
        phrase,
        languages=["en"],
        settings={"PREFER_DATES_FROM": "future", "RELATIVE_BASE": local_now.replace(tzinfo=None)},
    )
    if parsed is None:
        raise CallbackProblem("unclear")
    at = parsed.replace(tzinfo=hours.zone) if parsed.tzinfo is None else parsed.astimezone(hours.zone)
    if at <= local_now and at.date() == local_now.date() and not re.search(r"\btoday\b", phrase, re.I):
        at += timedelta(days=1)  # "at 10" said at 11 means tomorrow at 10
    if at - timedelta(days=7) > local_now and re.search(DAY_NAMES[local_now.weekday()], phrase, re.I):
        at -= timedelta(days=7)  # "Monday 14:30" said on Monday morning means today, not next week
    if at <= local_now:
        raise CallbackProblem("past")
    if at - local_now > CALLBACK_HORIZON:
        raise CallbackProblem("too_far")
    if not hours.is_open(at):
        raise CallbackProblem("closed")
    return at


def request_callback(session: Session, conversation_id: str, phone: str, at: datetime) -> Escalation | None:
    """Stores the customer's callback request with the chat's newest waiting escalation (None if none waits)."""
    escalation = session.execute(
        select(Escalation)
        .where(Escalation.conversation_id == conversation_id, Escalation.status == EscalationStatus.WAITING)
        .order_by(Escalation.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if escalation is not None:
        escalation.callback_phone = parse_phone(phone)
        escalation.callback_at = at
        session.flush()
    return escalation


def queue(session: Session, view: str, agent_id: int, reason: EscalationReason | None = None) -> list[Escalation]:
    """The console's list: waiting (oldest first), mine (claimed by this agent, oldest first), or closed
    (latest first, the last 100)."""
    if view not in VIEWS:
        raise ValueError(f"unknown queue view {view!r}")
    query = select(Escalation)
    if view == "waiting":
        query = query.where(Escalation.status == EscalationStatus.WAITING).order_by(Escalation.created_at, Escalation.id)
    elif view == "mine":
        query = query.where(Escalation.status == EscalationStatus.CLAIMED, Escalation.agent_id == agent_id)
        query = query.order_by(Escalation.created_at, Escalation.id)
    else:
        query = query.where(Escalation.status.in_(CLOSED)).order_by(Escalation.closed_at.desc(), Escalation.id.desc()).limit(100)
    if reason:
        query = query.where(Escalation.reason == reason)
    return list(session.execute(query).scalars())


def claim(session: Session, escalation_id: int, agent_id: int, now: datetime) -> Escalation:
    """Gives a waiting conversation to this agent; of two agents claiming at once, exactly one wins.

    Raises:
        EscalationNotFound, AlreadyClaimed: with a sentence for the agent.
    """
    claimed = session.execute(
        update(Escalation)
        .where(Escalation.id == escalation_id, Escalation.status == EscalationStatus.WAITING)
        .values(status=EscalationStatus.CLAIMED, agent_id=agent_id, claimed_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    escalation = find(session, escalation_id)
    session.refresh(escalation)
    if not claimed:
        if escalation.status == EscalationStatus.CLAIMED and escalation.agent_id == agent_id:
            return escalation
        who = escalation.agent.name if escalation.agent else "someone else"
        raise AlreadyClaimed(f"{who} has already taken this conversation." if escalation.status == EscalationStatus.CLAIMED
                             else "This conversation is already closed.")
    return escalation


def reply(session: Session, escalation_id: int, agent_id: int, text: str, now: datetime) -> EscalationMessage:
    """An agent's message for the customer; it waits undelivered until Rasa relays it."""
    escalation = find(session, escalation_id)
    if escalation.status != EscalationStatus.CLAIMED or escalation.agent_id != agent_id:
        raise NotYours("Take the conversation first: only the agent who has it can write to the customer.")
    return _add(session, escalation, MessageAuthor.AGENT, agent_id, text, now)


def add_note(session: Session, escalation_id: int, agent_id: int, text: str, now: datetime) -> EscalationMessage:
    """An internal note for colleagues; never sent to the customer."""
    return _add(session, find(session, escalation_id), MessageAuthor.NOTE, agent_id, text, now)


def mark_callback_done(session: Session, escalation_id: int, agent_id: int, now: datetime) -> Escalation:
    """Notes that an agent made the callback the customer booked (the agents' figures count these).

    Raises:
        EscalationNotFound, NoCallbackToMark: with a sentence for the agent.
    """
    escalation = find(session, escalation_id)
    if escalation.callback_at is None:
        raise NoCallbackToMark("This customer booked no callback.")
    if escalation.callback_done_at is not None:
        raise NoCallbackToMark("The callback was marked done already.")
    escalation.callback_done_at, escalation.callback_done_by = now, agent_id
    session.flush()
    return escalation


def close(session: Session, escalation_id: int, agent_id: int, outcome: str, now: datetime) -> bool:
    """Resolves the escalation or hands it back to the bot (`outcome`: one of CLOSED).

    Returns:
        Whether an agent had the chat, so the bot has to be told to take over again.

    Raises:
        EscalationNotFound, NotYours, HandoffProblem: with a sentence for the agent, also when the
            outcome is neither (the console's form sends what the agent chose).
    """
    escalation = find(session, escalation_id)
    if outcome not in CLOSED:
        raise HandoffProblem("Choose whether to resolve it or hand it back to the bot.")
    if escalation.status in CLOSED:
        raise HandoffProblem("This conversation is already closed.")
    if escalation.status == EscalationStatus.CLAIMED and escalation.agent_id != agent_id:
        raise NotYours(f"{escalation.agent.name} has this conversation; only they can close it.")
    had_agent = escalation.status == EscalationStatus.CLAIMED
    escalation.status, escalation.closed_at = EscalationStatus(outcome), now
    escalation.agent_id = escalation.agent_id or agent_id
    session.flush()
    return had_agent


def with_agent(session: Session, conversation_id: str) -> Escalation | None:
    """The escalation whose agent has this conversation now, if any."""
    return session.execute(
        select(Escalation)
        .where(Escalation.conversation_id == conversation_id, Escalation.status == EscalationStatus.CLAIMED)
        .order_by(Escalation.claimed_at.desc(), Escalation.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def last_agent_name(session: Session, conversation_id: str) -> str | None:
    """The name of the agent who had this conversation most recently, for "… has left the chat"."""
    return session.execute(
        select(Agent.name)
        .join(Escalation, Escalation.agent_id == Agent.id)
        .where(Escalation.conversation_id == conversation_id, Escalation.claimed_at.is_not(None))
        .order_by(Escalation.claimed_at.desc(), Escalation.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def record_customer_message(session: Session, conversation_id: str, text: str, now: datetime) -> EscalationMessage | None:
    """Keeps what the customer wrote while an agent has the chat; None when no agent has it."""
    escalation = with_agent(session, conversation_id)
    if escalation is None:
        return None
    return _add(session, escalation, MessageAuthor.CUSTOMER, None, text or "(an empty message)", now)


@dataclass(frozen=True)
class AgentReply:
    """An agent's message for the chat, with the name the customer sees it from."""

    text: str
    agent_name: str


def take_undelivered_replies(session: Session, conversation_id: str, now: datetime) -> list[AgentReply]:
    """The agents' replies not yet sent to this conversation, oldest first, marked as delivered.

    Rows are locked (and skipped if another relay holds them) so two relays never send one twice.
    """
    messages = session.execute(
        select(EscalationMessage)
        .join(Escalation, Escalation.id == EscalationMessage.escalation_id)
        .where(
            Escalation.conversation_id == conversation_id,
            EscalationMessage.author == MessageAuthor.AGENT,
            EscalationMessage.delivered_at.is_(None),
        )
        .order_by(EscalationMessage.id)
        .with_for_update(of=EscalationMessage, skip_locked=True)
    ).scalars().all()
    for message in messages:
        message.delivered_at = now
    session.flush()
    return [AgentReply(message.text, message.agent.name) for message in messages]


def messages(session: Session, escalation_id: int, after_id: int = 0) -> list[EscalationMessage]:
    """What was said in this escalation (notes included: this is for agents only), oldest first."""
    return list(session.execute(
        select(EscalationMessage)
        .where(EscalationMessage.escalation_id == escalation_id, EscalationMessage.id > after_id)
        .order_by(EscalationMessage.id)
    ).scalars())


def find(session: Session, escalation_id: int) -> Escalation:
    """The escalation with this id; EscalationNotFound, with a sentence for the agent, if there is none."""
    escalation = session.get(Escalation, escalation_id)
    if escalation is None:
        raise EscalationNotFound("There is no such conversation in the queue.")
    return escalation


def transcript(escalation: Escalation) -> list[dict]:
    """The chat up to the hand-over, as stored."""
    return json.loads(escalation.transcript_json or "[]")


def chat_lines(events: Iterable[dict]) -> list[dict]:
    """The customer's and the bot's messages in Rasa's events, oldest first, as {"who", "text", "at"}, as they
    may be kept: no card numbers, no answers to the verification's secret questions, no Settle external events."""
    return [line for line in map(_chat_line, private_events(list(events))) if line is not None]


#: Settle's external events that end the bot's part of a hand-over: an agent joined, or the escalation was closed.
_BOT_PART_ENDS = ("EXTERNAL_agent_joined", "EXTERNAL_agent_left")


def said_while_waiting(stored: list[dict], events: Iterable[dict]) -> list[dict]:
    """What the customer and the bot said after the stored transcript ends, until an agent joined (or the
    escalation was closed): the chat's events tell, the transcript only holds what came before the hand-over.

    Empty when the stored transcript's last line is not among the events (another conversation's events,
    or a conversation Rasa no longer has).
    """
    last = (stored[-1].get("who"), stored[-1].get("at")) if stored else None
    found = last is None
    said = []
    for event in private_events(list(events)):
        if found and event.get("event") == "user" and _intent(event) in _BOT_PART_ENDS:
            break
        line = _chat_line(event)
        if line is None:
            continue
        if found:
            said.append(line)
        elif (line["who"], line["at"]) == last:
            found = True
    return said if found else []


def _intent(event: dict) -> str:
    return ((event.get("parse_data") or {}).get("intent") or {}).get("name") or ""


def _chat_line(event: dict) -> dict | None:
    if event.get("event") == "user" and not _intent(event).startswith("EXTERNAL_"):
        who = "customer"
    elif event.get("event") == "bot" and event.get("text"):
        who = "bot"
    else:
        return None
    at = datetime.fromtimestamp(event.get("timestamp") or 0, timezone.utc).isoformat()
    return {"who": who, "text": event.get("text") or "", "at": at}


#: What the customer asked the bot about, in the agent's words, by intent.
TOPIC_LABELS = {
    "check_balance": "what they owe",
    "check_due_date": "when a bill is due",
    "list_invoices": "their bills",
    "explain_bill": "why a bill changed",
    "pay_bill": "paying",
    "ask_payment_methods": "ways to pay",
    "check_payment_status": "whether a payment arrived",
    "request_instalment_plan": "a payment plan",
    "request_payment_extension": "more time to pay",
    "report_financial_hardship": "money being tight",
    "dispute_bill": "a bill they think is wrong",
    "request_invoice_copy": "a copy of a bill",
    "bot_challenge": "whether they talk to a bot",
    "out_of_scope": "something Settle does not handle",
    "nlu_fallback": "something the bot did not understand",
}
#: The context the bot passes, by key: the agent's label and how the stored value reads.
_DETAIL_LABELS = {
    "invoice_number": "Bill",
    "amount": "Amount",
    "due_date": "Due date",
    "dispute_reference": "Dispute reference",
    "reason": "What the customer says is wrong",
}


def context(escalation: Escalation) -> dict:
    """What the bot knew, for people: "bot_tried" (what the customer asked it about, in words) and the
    rest as "details", (label, text) pairs with amounts in euros and dates written out."""
    stored = json.loads(escalation.context_json or "{}")
    topics = [TOPIC_LABELS.get(topic, str(topic).replace("_", " ")) for topic in stored.pop("bot_tried", [])]
    details = [(_DETAIL_LABELS.get(key, key.replace("_", " ").capitalize()), _readable(key, value))
               for key, value in stored.items()]
    return {"bot_tried": topics, "details": details}


def _readable(key: str, value: object) -> str:
    """A stored context value as a person reads it: "€131.44", "26 November 2026", “the customer's words”."""
    text = str(value)
    try:
        if key == "amount" or key.endswith("_amount"):
            return format_euros(Decimal(text))
        if key == "due_date" or key.endswith("_date"):
            return format_date(date.fromisoformat(text))
    except (InvalidOperation, ValueError):
        return text
    return f"“{text}”" if key == "reason" else text


def _rounded_up(minutes: int) -> int:
    """Minutes rounded up to a multiple of five: a wait is an estimate, not a promise."""
    return max(5, math.ceil(minutes / 5) * 5)


def _add(
    session: Session, escalation: Escalation, author: MessageAuthor, agent_id: int | None, text: str, now: datetime
) -> EscalationMessage:
    """Keeps a message of the escalation, card numbers masked whoever typed them: the console never shows one."""
    cleaned = (text or "").strip()
    if not cleaned:
        raise HandoffProblem("The message is empty.")
    if len(cleaned) > MAX_MESSAGE_LENGTH:
        raise HandoffProblem(f"The message is too long: keep it under {MAX_MESSAGE_LENGTH} characters.")
    masked = mask_card_numbers(cleaned)[0]
    message = EscalationMessage(escalation_id=escalation.id, author=author, agent_id=agent_id, text=masked, created_at=now)
    session.add(message)
    session.flush()
    return message
