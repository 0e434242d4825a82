"""A person from the team, one function per use case: the customer's side (run by the chat's actions) and the
agent's side (run by the console); callers put the results into words and pages."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from settle.clock import format_moment
from settle.errors import CallbackProblem, TooManyLogins
from settle.handoff import agents, console_events, login_throttle, takeover
from settle.handoff.case_file import CaseFile, CustomerDetails, case_file
from settle.handoff.escalations import REASONS
from settle.handoff.office_hours import OfficeHours
from settle.handoff.takeover import HandOver
from settle.models import Escalation, EscalationMessage, EscalationReason, EscalationStatus, MessageAuthor, Role
from settle.unit_of_work import UnitOfWork


def _office_hours(uow: UnitOfWork) -> OfficeHours:
    return OfficeHours.parse(uow.settings.office_hours, uow.settings.timezone)


# -- The customer's side -----------------------------------------------------------------------------


@dataclass(frozen=True)
class HandedOver:
    """The chat is in the queue; what to tell the customer: when a person joins, or when the office opens."""

    result: HandOver
    #: "Monday to Friday 8:00 to 18:00"
    office_hours: str
    #: "Monday 23 November 2026 at 8:00" while the office is closed, else None.
    next_opening: str | None

    @property
    def office_open(self) -> bool:
        return self.result.office_open

    @property
    def wait_minutes(self) -> int | None:
        return self.result.wait_minutes


@dataclass(frozen=True)
class TeamHours:
    """Whether a person from the team is there now, and if not, when they are and when they next will be."""

    open_now: bool
    #: "Monday to Friday 8:00 to 18:00"
    office_hours: str
    #: "Monday 23 November 2026 at 8:00", or None while the office is open.
    next_opening: str | None


def team_hours(uow: UnitOfWork, language: str = "en") -> TeamHours:
    """The office hours as they stand now, so a message never promises a person who isn't there; in words of
    the customer's language."""
    hours, now = _office_hours(uow), uow.clock.now()
    if hours.is_open(now):
        return TeamHours(True, hours.describe(language), None)
    opening = format_moment(hours.next_opening(now), uow.clock.zone, "day_and_time", language)
    return TeamHours(False, hours.describe(language), opening)


def hand_over(
    uow: UnitOfWork,
    reason: EscalationReason,
    conversation_id: str,
    customer_id: int | None,
    transcript: list[dict],
    bot_tried: list[str],
    language: str = "en",
) -> HandedOver:
    """Queues the chat for a person with what was said so far (see takeover.hand_over for the arguments); the
    hours and next opening come in words of the customer's `language`."""
    hours = _office_hours(uow)
    with uow:
        result = takeover.hand_over(
            uow.session, reason, conversation_id, customer_id, transcript, bot_tried, hours,
            uow.settings.minutes_per_waiting_customer, uow.clock.now(),
        )
        uow.commit()
    opening = (
        None if result.next_opening is None
        else format_moment(result.next_opening, uow.clock.zone, "day_and_time", language)
    )
    return HandedOver(result, hours.describe(language), opening)


def check_callback_phone(typed: str) -> str:
    """The phone number to call back, tidied; CallbackProblem("phone") when it isn't one."""
    return takeover.parse_phone(typed)


@dataclass(frozen=True)
class CallbackTime:
    """The moment the customer asked to be called, or why it can't be used; the hours come along for saying so."""

    at: datetime | None
    #: unclear, past, closed or too_far when `at` is None
    refusal: str | None
    office_hours: str


def check_callback_time(uow: UnitOfWork, typed: str, language: str = "en") -> CallbackTime:
    """Reads the time the customer typed, from now on, within the office hours and the next two weeks."""
    hours = _office_hours(uow)
    try:
        return CallbackTime(takeover.parse_callback_time(typed, hours, uow.clock.now()), None, hours.describe(language))
    except CallbackProblem as problem:
        return CallbackTime(None, problem.reason, hours.describe(language))


@dataclass(frozen=True)
class BookedCallback:
    phone: str
    #: "Monday 23 November 2026"
    day: str
    #: "8:05"
    time: str


def book_callback(uow: UnitOfWork, conversation_id: str, phone: str, at: datetime, language: str = "en") -> BookedCallback | None:
    """Stores the callback with the chat's waiting escalation; None when a person took or closed it meanwhile."""
    with uow:
        escalation = takeover.request_callback(uow.session, conversation_id, phone, at)
        if escalation is None:
            return None
        booked = BookedCallback(
            escalation.callback_phone,
            format_moment(at, uow.clock.zone, "day", language), format_moment(at, uow.clock.zone, "time", language),
        )
        uow.commit()
    return booked


def console_event_is_genuine(uow: UnitOfWork, intent: str, conversation_id: str, entities: Mapping[str, str]) -> bool:
    """Whether a takeover event in this chat came from the console (signed, fresh) rather than a customer."""
    return console_events.is_genuine(uow.settings, uow.clock.now(), intent, conversation_id, entities)


def agent_joined(uow: UnitOfWork, conversation_id: str) -> str | None:
    """The name of the agent who has the chat now; None when it was closed again before the bot heard."""
    with uow:
        escalation = takeover.with_agent(uow.session, conversation_id)
        return escalation.agent.name if escalation else None


def relay_to_agent(uow: UnitOfWork, conversation_id: str, text: str) -> bool:
    """Keeps what the customer wrote for the agent; False when no agent has the chat any more."""
    with uow:
        kept = takeover.record_customer_message(uow.session, conversation_id, text, uow.clock.now())
        uow.commit()
        return kept is not None


def undelivered_replies(uow: UnitOfWork, conversation_id: str) -> list[takeover.AgentReply]:
    """The agent's replies this chat has not shown yet, oldest first; each is handed out once."""
    with uow:
        replies = takeover.take_undelivered_replies(uow.session, conversation_id, uow.clock.now())
        uow.commit()
        return replies


def agent_left(uow: UnitOfWork, conversation_id: str) -> str | None:
    """The name of the agent who had the chat last, if any ever did."""
    with uow:
        return takeover.last_agent_name(uow.session, conversation_id)


# -- The agent's side --------------------------------------------------------------------------------


def sign_console_event(uow: UnitOfWork, intent: str, conversation_id: str) -> dict[str, str]:
    """The entities the console sends with `intent` so the chat knows it came from the console."""
    return console_events.signed_entities(uow.settings, uow.clock.now(), intent, conversation_id)


@dataclass(frozen=True)
class AgentInfo:
    id: int
    name: str
    email: str
    role: Role

    @property
    def sees_the_figures(self) -> bool:
        return self.role in agents.SEES_THE_FIGURES

    @property
    def reviews_flagged_accounts(self) -> bool:
        return self.role in agents.REVIEWS_FLAGGED_ACCOUNTS

    @property
    def reviews_conversations(self) -> bool:
        return self.role in agents.REVIEWS_CONVERSATIONS


def log_in(uow: UnitOfWork, email: str, password: str, client: str) -> int | None:
    """The id of the active agent with this e-mail and password, or None (the same for either being wrong).

    Raises:
        TooManyLogins: too many failures for this e-mail or from this client address just now; the
            password was not checked.
    """
    with uow:
        now = uow.clock.now()
        minutes = login_throttle.minutes_to_wait(uow.session, email, client, now)
        if minutes:
            raise TooManyLogins(minutes)
        agent = agents.authenticate(uow.session, email, password)
        if agent is None:
            login_throttle.record_failure(uow.session, email, client, now)
            uow.commit()
            return None
        agent_id = agent.id
        login_throttle.forget_failures(uow.session, email)
        uow.commit()  # also keeps a password hash made stronger
    return agent_id


def agent_on_duty(uow: UnitOfWork, agent_id: int | None) -> AgentInfo | None:
    """The agent a console session belongs to; None when nobody logged in or the agent was deactivated."""
    with uow:
        agent = agents.active_agent(uow.session, agent_id)
        return AgentInfo(agent.id, agent.name, agent.email, Role(agent.role)) if agent else None


def add_agent(uow: UnitOfWork, email: str, name: str, password: str, role: Role = Role.AGENT) -> AgentInfo:
    """A new console user who can log in, working in `role`; AgentProblem says why not."""
    with uow:
        agent = agents.create_agent(uow.session, email, name, password, uow.clock.now(), role)
        added = AgentInfo(agent.id, agent.name, agent.email, role)
        uow.commit()
    return added


@dataclass(frozen=True)
class EscalationSummary:
    """One conversation in the agents' queue."""

    id: int
    reason: EscalationReason
    status: EscalationStatus
    conversation_id: str
    created_at: datetime
    customer: CustomerDetails | None
    agent_id: int | None
    agent_name: str | None
    callback_phone: str | None
    callback_at: datetime | None
    callback_done_at: datetime | None = None

    @classmethod
    def of(cls, escalation: Escalation) -> EscalationSummary:
        customer = escalation.customer
        return cls(
            escalation.id, escalation.reason, escalation.status, escalation.conversation_id, escalation.created_at,
            CustomerDetails.of(customer) if customer else None, escalation.agent_id,
            escalation.agent.name if escalation.agent else None, escalation.callback_phone, escalation.callback_at,
            escalation.callback_done_at,
        )


@dataclass(frozen=True)
class Queue:
    #: waiting, mine or closed
    view: str
    #: Only this reason, or None for all.
    reason: EscalationReason | None
    rows: list[EscalationSummary]


def queue(uow: UnitOfWork, agent_id: int, view: str, reason: str) -> Queue:
    """The console's list as asked for; an unknown view shows who waits, an unknown reason all reasons."""
    view = view if view in takeover.VIEWS else "waiting"
    only = EscalationReason(reason) if reason in REASONS else None
    with uow:
        rows = [EscalationSummary.of(escalation) for escalation in takeover.queue(uow.session, view, agent_id, only)]
    return Queue(view, only, rows)


@dataclass(frozen=True)
class MessageSummary:
    """Something said since the hand-over: by the customer, an agent, or an agent's note."""

    id: int
    author: MessageAuthor
    agent_name: str | None
    text: str
    created_at: datetime
    delivered_at: datetime | None

    @classmethod
    def of(cls, message: EscalationMessage) -> MessageSummary:
        name = message.agent.name if message.agent else None
        return cls(message.id, message.author, name, message.text, message.created_at, message.delivered_at)


@dataclass(frozen=True)
class Conversation:
    """Everything the agent sees of one escalation."""

    escalation: EscalationSummary
    #: {"bot_tried": [what the customer asked about, in words], "details": [(label, readable value)]}
    context: dict
    #: The chat up to the hand-over: [{"who", "text", "at"}]
    transcript: list[dict]
    messages: list[MessageSummary]
    #: The customer's account; None while nobody proved who they are.
    case: CaseFile | None


def conversation(uow: UnitOfWork, escalation_id: int) -> Conversation:
    """One escalation with its chat, what was said since, and the customer's case file; EscalationNotFound."""
    with uow:
        escalation = takeover.find(uow.session, escalation_id)
        return Conversation(
            EscalationSummary.of(escalation),
            takeover.context(escalation),
            takeover.transcript(escalation),
            [MessageSummary.of(message) for message in takeover.messages(uow.session, escalation.id)],
            case_file(uow.session, escalation.customer_id, uow.clock.now()) if escalation.customer_id else None,
        )


def said_while_waiting(shown: Conversation, events: list[dict]) -> list[dict]:
    """What the customer and the bot said after the hand-over until an agent joined, from the chat's events."""
    return takeover.said_while_waiting(shown.transcript, events)


def conversation_messages(uow: UnitOfWork, escalation_id: int) -> list[MessageSummary]:
    """What was said since the hand-over, notes included; EscalationNotFound."""
    with uow:
        escalation = takeover.find(uow.session, escalation_id)
        return [MessageSummary.of(message) for message in takeover.messages(uow.session, escalation.id)]


def claim(uow: UnitOfWork, escalation_id: int, agent_id: int) -> str:
    """Gives the waiting conversation to this agent; returns the chat to tell. HandoffProblem says why not."""
    with uow:
        conversation_id = takeover.claim(uow.session, escalation_id, agent_id, uow.clock.now()).conversation_id
        uow.commit()
    return conversation_id


def reply(uow: UnitOfWork, escalation_id: int, agent_id: int, text: str) -> str:
    """The agent's message for the customer, kept until the chat shows it; returns the chat to tell."""
    with uow:
        message = takeover.reply(uow.session, escalation_id, agent_id, text, uow.clock.now())
        conversation_id = takeover.find(uow.session, message.escalation_id).conversation_id
        uow.commit()
    return conversation_id


def add_note(uow: UnitOfWork, escalation_id: int, agent_id: int, text: str) -> None:
    """An internal note for colleagues; the customer never sees it."""
    with uow:
        takeover.add_note(uow.session, escalation_id, agent_id, text, uow.clock.now())
        uow.commit()


def mark_callback_done(uow: UnitOfWork, escalation_id: int, agent_id: int) -> None:
    """The agent called the customer back as booked."""
    with uow:
        takeover.mark_callback_done(uow.session, escalation_id, agent_id, uow.clock.now())
        uow.commit()


def close(uow: UnitOfWork, escalation_id: int, agent_id: int, outcome: str) -> str | None:
    """Resolves the conversation or hands it back to the bot; returns the chat to tell when an agent had it."""
    with uow:
        had_agent = takeover.close(uow.session, escalation_id, agent_id, outcome, uow.clock.now())
        conversation_id = takeover.find(uow.session, escalation_id).conversation_id
        uow.commit()
    return conversation_id if had_agent else None
