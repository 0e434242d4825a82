"""A person takes over: the hand-over, callbacks, the agents' queue, claiming, replies and closing."""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from settle import clock
from settle.config import Settings
from settle.errors import (
    AlreadyClaimed,
    CallbackProblem,
    EscalationNotFound,
    HandoffProblem,
    NoCallbackToMark,
    NotYours,
    TooManyLogins,
)
from settle.handoff import login_throttle, services
from settle.handoff.agents import create_agent
from settle.handoff.case_file import CustomerDetails
from settle.handoff.office_hours import OfficeHours
from settle.handoff.takeover import (
    add_note,
    chat_lines,
    claim,
    close,
    hand_over,
    last_agent_name,
    mark_callback_done,
    messages,
    parse_callback_time,
    parse_phone,
    queue,
    record_customer_message,
    reply,
    request_callback,
    said_while_waiting,
    take_undelivered_replies,
    transcript,
)
from settle.models import Agent, Escalation, EscalationReason, EscalationStatus, MessageAuthor
from settle.unit_of_work import UnitOfWork

BRUSSELS = ZoneInfo("Europe/Brussels")
#: Monday 23 November 2026, 09:00 in Brussels: the office is open.
MONDAY_MORNING = datetime(2026, 11, 23, 9, 0, tzinfo=BRUSSELS)
#: Saturday 28 November 2026, 10:00 in Brussels: the office is closed.
SATURDAY_MORNING = datetime(2026, 11, 28, 10, 0, tzinfo=BRUSSELS)
HOURS = OfficeHours.parse("Mon-Fri 08:00-18:00", "Europe/Brussels")
CHAT = [
    {"who": "customer", "text": "why is my bill so high", "at": "2026-11-23T07:58:00+00:00"},
    {"who": "bot", "text": "Your latest bill is higher because you used more.", "at": "2026-11-23T07:58:01+00:00"},
    {"who": "customer", "text": "I want a person", "at": "2026-11-23T07:59:00+00:00"},
]


@pytest.fixture
def empty_queue(session):
    """Nobody else waits (inside the test's transaction, rolled back afterwards)."""
    session.execute(update(Escalation).where(Escalation.status == "waiting").values(status="resolved"))
    session.expire_all()


@pytest.fixture
def dana(session):
    return create_agent(session, "dana@handoff.example", "Dana", "dana-password-1", MONDAY_MORNING)


@pytest.fixture
def joris(session):
    return create_agent(session, "joris@handoff.example", "Joris", "joris-password-1", MONDAY_MORNING)


def queued(session, conversation_id="conv-1", reason="asked", now=MONDAY_MORNING, customer_id=None,
           minutes_per_customer=4, hours=HOURS):
    return hand_over(session, reason, conversation_id, customer_id, CHAT, ["explain_bill"], hours,
                     minutes_per_customer, now)


def waiting_chat(session, conversation_id="conv-1", **kwargs) -> Escalation:
    return session.get(Escalation, queued(session, conversation_id, **kwargs).escalation_id)


# The hand-over

def test_hand_over_queues_a_waiting_escalation_with_the_chat_so_far(session, persona_customer):
    lucas = persona_customer("overdue")
    result = queued(session, customer_id=lucas.id)
    session.expire_all()
    escalation = session.get(Escalation, result.escalation_id)
    assert escalation.status == "waiting"
    assert (escalation.reason, escalation.conversation_id, escalation.customer_id) == ("asked", "conv-1", lucas.id)
    assert transcript(escalation) == CHAT
    assert json.loads(escalation.context_json)["bot_tried"] == ["explain_bill"]
    assert escalation.created_at == MONDAY_MORNING


def test_a_very_long_message_is_cut_in_the_transcript(session):
    long_chat = [{"who": "customer", "text": "x" * 5000, "at": "2026-11-23T08:00:00+00:00"}]
    result = hand_over(session, "asked", "conv-1", None, long_chat, [], HOURS, 4, MONDAY_MORNING)
    [entry] = transcript(session.get(Escalation, result.escalation_id))
    assert entry["text"] == "x" * 2000


def test_while_open_the_wait_is_rounded_up_to_five_minutes(session, empty_queue):
    result = queued(session, minutes_per_customer=4)
    assert result.office_open is True
    assert result.wait_minutes == 5
    assert result.next_opening is None


def test_the_wait_grows_with_the_queue(session, empty_queue):
    first = queued(session, "conv-1", minutes_per_customer=4)
    second = queued(session, "conv-2", minutes_per_customer=4)
    third = queued(session, "conv-3", minutes_per_customer=4)
    assert (first.wait_minutes, second.wait_minutes, third.wait_minutes) == (5, 10, 15)  # 4, 8, 12 rounded up


def test_asking_again_while_waiting_keeps_the_place_in_the_queue(session, empty_queue):
    first = queued(session, "conv-1")
    queued(session, "conv-2")
    again = queued(session, "conv-1", now=MONDAY_MORNING + timedelta(minutes=3))
    assert again.escalation_id == first.escalation_id
    assert again.wait_minutes == first.wait_minutes


def test_a_claimed_conversation_no_longer_makes_others_wait(session, empty_queue, dana):
    first = queued(session, "conv-1", minutes_per_customer=10)
    claim(session, first.escalation_id, dana.id, MONDAY_MORNING)
    assert queued(session, "conv-2", minutes_per_customer=10).wait_minutes == 10


def test_when_closed_the_customer_hears_the_next_opening(session):
    result = queued(session, now=SATURDAY_MORNING)
    assert result.office_open is False
    assert result.wait_minutes is None
    assert result.next_opening == datetime(2026, 11, 30, 8, 0, tzinfo=BRUSSELS)
    assert session.get(Escalation, result.escalation_id).status == "waiting"  # still queued for Monday


# Callbacks

@pytest.mark.parametrize("typed, kept", [
    ("0470 12 34 56", "0470123456"),
    ("+32 470 12 34 56", "+32470123456"),
    ("(02) 123.45.67", "021234567"),
    ("0470/12.34.56", "0470123456"),
    ("  0470-12-34-56 ", "0470123456"),
])
def test_phone_numbers_as_people_type_them(typed, kept):
    assert parse_phone(typed) == kept


@pytest.mark.parametrize("typed", ["abc", "123", "1234567", "1" * 16, "1" * 20, "", None, "0470 12 34 56 ext 2", "0470+123456"])
def test_what_is_not_a_phone_number_is_refused(typed):
    with pytest.raises(CallbackProblem) as refused:
        parse_phone(typed)
    assert refused.value.reason == "phone"


def test_tomorrow_at_ten():
    assert parse_callback_time("tomorrow at 10", HOURS, MONDAY_MORNING) == datetime(2026, 11, 24, 10, 0, tzinfo=BRUSSELS)


def test_at_ten_said_at_eleven_means_tomorrow_at_ten():
    eleven = MONDAY_MORNING.replace(hour=11)
    assert parse_callback_time("at 10", HOURS, eleven) == datetime(2026, 11, 24, 10, 0, tzinfo=BRUSSELS)


@pytest.mark.parametrize("typed, expected", [
    ("tomorrow at 10:00", datetime(2026, 11, 24, 10, 0, tzinfo=BRUSSELS)),
    ("tomorrow at 10am", datetime(2026, 11, 24, 10, 0, tzinfo=BRUSSELS)),
    ("2pm", datetime(2026, 11, 23, 14, 0, tzinfo=BRUSSELS)),
    ("Friday 17:30", datetime(2026, 11, 27, 17, 30, tzinfo=BRUSSELS)),
    ("Monday 14:30", datetime(2026, 11, 23, 14, 30, tzinfo=BRUSSELS)),  # said on Monday morning: today
    ("in 2 hours", datetime(2026, 11, 23, 11, 0, tzinfo=BRUSSELS)),
    ("tomorrow morning around 10", datetime(2026, 11, 24, 10, 0, tzinfo=BRUSSELS)),
    ("morgen om 10 uur", datetime(2026, 11, 24, 10, 0, tzinfo=BRUSSELS)),
    ("morgenvroeg rond 10u", datetime(2026, 11, 24, 10, 0, tzinfo=BRUSSELS)),
    ("woensdag 15u30", datetime(2026, 11, 25, 15, 30, tzinfo=BRUSSELS)),
    ("donderdag in de namiddag om 14 uur", datetime(2026, 11, 26, 14, 0, tzinfo=BRUSSELS)),
    ("demain à 10h", datetime(2026, 11, 24, 10, 0, tzinfo=BRUSSELS)),
    ("demain matin vers 10 heures", datetime(2026, 11, 24, 10, 0, tzinfo=BRUSSELS)),
    ("lundi à 14h30", datetime(2026, 11, 23, 14, 30, tzinfo=BRUSSELS)),  # said on Monday morning: today
    ("mercredi après-midi à 15h", datetime(2026, 11, 25, 15, 0, tzinfo=BRUSSELS)),
])
def test_callback_times_in_office_hours(typed, expected):
    assert parse_callback_time(typed, HOURS, MONDAY_MORNING) == expected


def test_a_callback_time_is_read_in_brussels_time_when_now_is_in_utc():
    at = parse_callback_time("tomorrow at 10:00", HOURS, MONDAY_MORNING.astimezone(timezone.utc))
    assert at == datetime(2026, 11, 24, 10, 0, tzinfo=BRUSSELS)


@pytest.mark.parametrize("typed, reason", [
    ("Saturday 10:00", "closed"),
    ("tomorrow at 19:00", "closed"),
    ("yesterday", "past"),
    ("today at 8:00", "past"),
    ("in 3 weeks", "too_far"),
    ("blah", "unclear"),
    ("", "unclear"),
])
def test_callback_times_that_cannot_be_used_say_why(typed, reason):
    with pytest.raises(CallbackProblem) as refused:
        parse_callback_time(typed, HOURS, MONDAY_MORNING)
    assert refused.value.reason == reason


def test_a_callback_is_stored_with_the_newest_waiting_escalation(session):
    older = queued(session, "conv-1", reason="asked", now=SATURDAY_MORNING)
    newer = queued(session, "conv-1", reason="upset", now=SATURDAY_MORNING + timedelta(minutes=2))
    at = datetime(2026, 11, 30, 10, 0, tzinfo=BRUSSELS)
    stored = request_callback(session, "conv-1", "+32 470 12 34 56", at)
    assert stored.id == newer.escalation_id
    session.expire_all()
    assert (stored.callback_phone, stored.callback_at) == ("+32470123456", at)
    assert session.get(Escalation, older.escalation_id).callback_phone is None


def test_no_callback_is_stored_when_nothing_waits(session, dana):
    escalation = waiting_chat(session, "conv-1", now=SATURDAY_MORNING)
    claim(session, escalation.id, dana.id, SATURDAY_MORNING)
    assert request_callback(session, "conv-1", "0470 12 34 56", SATURDAY_MORNING + timedelta(days=2)) is None
    assert request_callback(session, "conv-nobody", "0470 12 34 56", SATURDAY_MORNING + timedelta(days=2)) is None
    assert session.get(Escalation, escalation.id).callback_phone is None


def test_a_callback_marked_done_keeps_when_and_who_once(session, dana, joris):
    escalation = waiting_chat(session, "conv-1", now=SATURDAY_MORNING)
    at = datetime(2026, 11, 30, 10, 0, tzinfo=BRUSSELS)
    request_callback(session, "conv-1", "0470 12 34 56", at)
    done = mark_callback_done(session, escalation.id, dana.id, at + timedelta(minutes=12))
    assert (done.callback_done_at, done.callback_done_by) == (at + timedelta(minutes=12), dana.id)
    with pytest.raises(NoCallbackToMark, match="marked done already"):
        mark_callback_done(session, escalation.id, joris.id, at + timedelta(minutes=30))
    session.expire_all()
    assert session.get(Escalation, escalation.id).callback_done_by == dana.id


def test_without_a_callback_there_is_nothing_to_mark_done(session, dana):
    escalation = waiting_chat(session, "conv-1", now=SATURDAY_MORNING)
    with pytest.raises(NoCallbackToMark, match="booked no callback"):
        mark_callback_done(session, escalation.id, dana.id, SATURDAY_MORNING)
    with pytest.raises(EscalationNotFound):
        mark_callback_done(session, 987654, dana.id, SATURDAY_MORNING)
    assert session.get(Escalation, escalation.id).callback_done_at is None


# The queue

def test_the_waiting_queue_is_oldest_first(session, empty_queue):
    later = waiting_chat(session, "conv-later", now=MONDAY_MORNING + timedelta(minutes=10))
    earlier = waiting_chat(session, "conv-earlier", now=MONDAY_MORNING)
    assert [e.id for e in queue(session, "waiting", agent_id=0)] == [earlier.id, later.id]


def test_the_queue_can_be_filtered_by_reason(session, empty_queue):
    asked = waiting_chat(session, "conv-1", reason="asked")
    upset = waiting_chat(session, "conv-2", reason="upset")
    assert [e.id for e in queue(session, "waiting", agent_id=0, reason="upset")] == [upset.id]
    assert [e.id for e in queue(session, "waiting", agent_id=0, reason="asked")] == [asked.id]


def test_mine_shows_only_what_i_claimed_and_closed_shows_what_is_done(session, empty_queue, dana, joris):
    first = waiting_chat(session, "conv-1", now=MONDAY_MORNING)
    second = waiting_chat(session, "conv-2", now=MONDAY_MORNING + timedelta(minutes=1))
    theirs = waiting_chat(session, "conv-3", now=MONDAY_MORNING + timedelta(minutes=2))
    done = waiting_chat(session, "conv-4", now=MONDAY_MORNING + timedelta(minutes=3))
    for escalation in (second, first):
        claim(session, escalation.id, dana.id, MONDAY_MORNING + timedelta(minutes=5))
    claim(session, theirs.id, joris.id, MONDAY_MORNING + timedelta(minutes=5))
    claim(session, done.id, dana.id, MONDAY_MORNING + timedelta(minutes=5))
    close(session, done.id, dana.id, "resolved", MONDAY_MORNING + timedelta(minutes=20))

    assert [e.id for e in queue(session, "mine", dana.id)] == [first.id, second.id]
    assert [e.id for e in queue(session, "mine", joris.id)] == [theirs.id]
    assert queue(session, "waiting", dana.id) == []
    assert done.id in [e.id for e in queue(session, "closed", dana.id)]
    assert first.id not in [e.id for e in queue(session, "closed", dana.id)]


def test_closed_shows_the_latest_first(session, empty_queue, dana):
    one = waiting_chat(session, "conv-1")
    two = waiting_chat(session, "conv-2")
    close(session, two.id, dana.id, "resolved", datetime(2031, 1, 1, 10, tzinfo=timezone.utc))
    close(session, one.id, dana.id, "handed_back", datetime(2031, 1, 1, 11, tzinfo=timezone.utc))
    assert [e.id for e in queue(session, "closed", dana.id)][:2] == [one.id, two.id]


def test_an_unknown_view_is_refused(session):
    with pytest.raises(ValueError):
        queue(session, "everything", agent_id=0)


# Claiming

def test_one_agent_wins_the_claim_and_the_other_is_told_who(session, dana, joris):
    escalation = waiting_chat(session)
    claimed = claim(session, escalation.id, dana.id, MONDAY_MORNING)
    assert (claimed.status, claimed.agent_id, claimed.claimed_at) == ("claimed", dana.id, MONDAY_MORNING)
    with pytest.raises(AlreadyClaimed, match="Dana has already taken this conversation"):
        claim(session, escalation.id, joris.id, MONDAY_MORNING + timedelta(seconds=1))
    session.expire_all()
    assert session.get(Escalation, escalation.id).agent_id == dana.id


def test_claiming_again_by_the_same_agent_is_fine(session, dana):
    escalation = waiting_chat(session)
    claim(session, escalation.id, dana.id, MONDAY_MORNING)
    again = claim(session, escalation.id, dana.id, MONDAY_MORNING + timedelta(minutes=1))
    assert (again.status, again.agent_id, again.claimed_at) == ("claimed", dana.id, MONDAY_MORNING)


def test_a_closed_conversation_cannot_be_claimed(session, dana):
    escalation = waiting_chat(session)
    close(session, escalation.id, dana.id, "resolved", MONDAY_MORNING)
    with pytest.raises(AlreadyClaimed, match="already closed"):
        claim(session, escalation.id, dana.id, MONDAY_MORNING)


def test_claiming_an_unknown_escalation(session, dana):
    with pytest.raises(EscalationNotFound):
        claim(session, 987654321, dana.id, MONDAY_MORNING)


# Replies and notes

def test_only_the_agent_who_has_the_chat_can_reply(session, dana, joris):
    escalation = waiting_chat(session)
    with pytest.raises(NotYours):
        reply(session, escalation.id, dana.id, "Hello", MONDAY_MORNING)  # not claimed yet
    claim(session, escalation.id, dana.id, MONDAY_MORNING)
    with pytest.raises(NotYours):
        reply(session, escalation.id, joris.id, "Hello, I'm Joris", MONDAY_MORNING)
    message = reply(session, escalation.id, dana.id, "  Hello, I'm Dana  ", MONDAY_MORNING)
    assert (message.author, message.agent_id, message.text, message.delivered_at) == ("agent", dana.id, "Hello, I'm Dana", None)
    assert [m.text for m in messages(session, escalation.id)] == ["Hello, I'm Dana"]


@pytest.mark.parametrize("text", ["", "   ", None, "x" * 2001])
def test_empty_or_too_long_replies_are_refused(session, dana, text):
    escalation = waiting_chat(session)
    claim(session, escalation.id, dana.id, MONDAY_MORNING)
    with pytest.raises(HandoffProblem):
        reply(session, escalation.id, dana.id, text, MONDAY_MORNING)
    assert messages(session, escalation.id) == []


def test_a_reply_of_2000_characters_is_fine(session, dana):
    escalation = waiting_chat(session)
    claim(session, escalation.id, dana.id, MONDAY_MORNING)
    assert len(reply(session, escalation.id, dana.id, "x" * 2000, MONDAY_MORNING).text) == 2000


def test_a_reply_to_an_unknown_escalation(session, dana):
    with pytest.raises(EscalationNotFound):
        reply(session, 987654321, dana.id, "Hello", MONDAY_MORNING)


def test_any_agent_can_add_a_note_and_it_is_never_sent_to_the_customer(session, dana, joris):
    escalation = waiting_chat(session)
    claim(session, escalation.id, dana.id, MONDAY_MORNING)
    note = add_note(session, escalation.id, joris.id, "Called him last week about the same bill", MONDAY_MORNING)
    assert (note.author, note.agent_id) == ("note", joris.id)
    assert take_undelivered_replies(session, "conv-1", MONDAY_MORNING) == []
    with pytest.raises(HandoffProblem):
        add_note(session, escalation.id, joris.id, "  ", MONDAY_MORNING)


# Closing

@pytest.mark.parametrize("outcome", ["resolved", "handed_back"])
def test_closing_a_claimed_chat_says_an_agent_had_it(session, dana, outcome):
    escalation = waiting_chat(session)
    claim(session, escalation.id, dana.id, MONDAY_MORNING)
    assert close(session, escalation.id, dana.id, outcome, MONDAY_MORNING + timedelta(minutes=9)) is True
    session.expire_all()
    stored = session.get(Escalation, escalation.id)
    assert (stored.status, stored.closed_at) == (outcome, MONDAY_MORNING + timedelta(minutes=9))


def test_closing_a_chat_nobody_took_says_no_agent_had_it(session, dana):
    escalation = waiting_chat(session)
    assert close(session, escalation.id, dana.id, "resolved", MONDAY_MORNING) is False
    assert session.get(Escalation, escalation.id).status == "resolved"


def test_closing_twice_is_refused(session, dana):
    escalation = waiting_chat(session)
    claim(session, escalation.id, dana.id, MONDAY_MORNING)
    close(session, escalation.id, dana.id, "resolved", MONDAY_MORNING)
    with pytest.raises(HandoffProblem, match="already closed"):
        close(session, escalation.id, dana.id, "handed_back", MONDAY_MORNING)
    assert session.get(Escalation, escalation.id).status == "resolved"


def test_another_agent_cannot_close_a_claimed_chat(session, dana, joris):
    escalation = waiting_chat(session)
    claim(session, escalation.id, dana.id, MONDAY_MORNING)
    with pytest.raises(NotYours, match="Dana has this conversation"):
        close(session, escalation.id, joris.id, "resolved", MONDAY_MORNING)
    assert session.get(Escalation, escalation.id).status == "claimed"


def test_an_unknown_outcome_or_escalation_is_refused(session, dana):
    escalation = waiting_chat(session)
    with pytest.raises(HandoffProblem, match="Choose whether to resolve it or hand it back to the bot."):
        close(session, escalation.id, dana.id, "deleted", MONDAY_MORNING)
    with pytest.raises(EscalationNotFound):
        close(session, 987654321, dana.id, "resolved", MONDAY_MORNING)
    assert session.get(Escalation, escalation.id).status == "waiting"


# What the customer writes, and what reaches them

def test_the_customers_messages_are_kept_only_while_an_agent_has_the_chat(session, dana):
    escalation = waiting_chat(session)
    assert record_customer_message(session, "conv-1", "anyone there?", MONDAY_MORNING) is None
    claim(session, escalation.id, dana.id, MONDAY_MORNING)
    kept = record_customer_message(session, "conv-1", "my meter reads 12345", MONDAY_MORNING)
    assert (kept.escalation_id, kept.author, kept.text) == (escalation.id, "customer", "my meter reads 12345")
    close(session, escalation.id, dana.id, "resolved", MONDAY_MORNING)
    assert record_customer_message(session, "conv-1", "thanks!", MONDAY_MORNING) is None
    assert [m.text for m in messages(session, escalation.id)] == ["my meter reads 12345"]


def test_another_conversations_messages_are_not_kept_here(session, dana):
    escalation = waiting_chat(session, "conv-1")
    claim(session, escalation.id, dana.id, MONDAY_MORNING)
    assert record_customer_message(session, "conv-2", "hello", MONDAY_MORNING) is None
    assert messages(session, escalation.id) == []


def test_replies_are_delivered_oldest_first_and_only_once(session, dana):
    escalation = waiting_chat(session, "conv-1")
    claim(session, escalation.id, dana.id, MONDAY_MORNING)
    reply(session, escalation.id, dana.id, "Hello, I'm Dana.", MONDAY_MORNING)
    record_customer_message(session, "conv-1", "hi", MONDAY_MORNING)
    add_note(session, escalation.id, dana.id, "internal", MONDAY_MORNING)
    reply(session, escalation.id, dana.id, "Let me look at your bill.", MONDAY_MORNING + timedelta(seconds=5))
    delivered_at = MONDAY_MORNING + timedelta(seconds=6)

    assert [(r.text, r.agent_name) for r in take_undelivered_replies(session, "conv-1", delivered_at)] == [
        ("Hello, I'm Dana.", "Dana"), ("Let me look at your bill.", "Dana")]
    assert take_undelivered_replies(session, "conv-1", delivered_at) == []
    reply(session, escalation.id, dana.id, "Done.", MONDAY_MORNING + timedelta(seconds=9))
    assert [r.text for r in take_undelivered_replies(session, "conv-1", delivered_at)] == ["Done."]
    assert all(m.delivered_at is not None for m in messages(session, escalation.id) if m.author == "agent")


def test_replies_go_only_to_their_own_conversation(session, dana):
    escalation = waiting_chat(session, "conv-1")
    claim(session, escalation.id, dana.id, MONDAY_MORNING)
    reply(session, escalation.id, dana.id, "Hello", MONDAY_MORNING)
    assert take_undelivered_replies(session, "conv-2", MONDAY_MORNING) == []
    assert [r.text for r in take_undelivered_replies(session, "conv-1", MONDAY_MORNING)] == ["Hello"]


def test_last_agent_name(session, dana, joris):
    assert last_agent_name(session, "conv-1") is None
    first = waiting_chat(session, "conv-1", reason="asked")
    close(session, first.id, joris.id, "resolved", MONDAY_MORNING)  # nobody claimed it: Joris never joined
    assert last_agent_name(session, "conv-1") is None
    second = waiting_chat(session, "conv-1", reason="upset")
    claim(session, second.id, dana.id, MONDAY_MORNING + timedelta(minutes=1))
    assert last_agent_name(session, "conv-1") == "Dana"
    close(session, second.id, dana.id, "handed_back", MONDAY_MORNING + timedelta(minutes=5))
    assert last_agent_name(session, "conv-1") == "Dana"  # still known after leaving
    third = waiting_chat(session, "conv-1", reason="asked")
    claim(session, third.id, joris.id, MONDAY_MORNING + timedelta(minutes=10))
    assert last_agent_name(session, "conv-1") == "Joris"
    assert last_agent_name(session, "conv-2") is None


# The use cases, as the actions and the console call them

class UnitOfWorkInTest(UnitOfWork):
    """The use cases inside the test's transaction: each runs in a savepoint that a commit keeps (until the
    test's rollback) and anything else undoes, as a real unit of work would."""

    def __init__(self, session, settings: Settings, moment: datetime) -> None:
        super().__init__(settings, clock.FixedClock(moment, settings.timezone))
        self.session = session

    def __enter__(self):
        self.savepoint = self.session.begin_nested()
        return self

    def __exit__(self, *raised) -> None:
        if self.savepoint.is_active:
            self.savepoint.rollback()

    def commit(self) -> None:
        self.savepoint.commit()


@pytest.fixture
def uow(session):
    """A unit of work at MONDAY_MORNING, office hours Monday to Friday; `uow(at=...)` gives one at another moment."""
    settings = replace(Settings.from_environment(), office_hours="Mon-Fri 08:00-18:00", timezone="Europe/Brussels",
                       minutes_per_waiting_customer=4)

    def at(moment: datetime = MONDAY_MORNING) -> UnitOfWorkInTest:
        return UnitOfWorkInTest(session, settings, moment)

    return at


def hand_over_service(uow, conversation_id="conv-1", reason=EscalationReason.ASKED, customer_id=None):
    return services.hand_over(uow, reason, conversation_id, customer_id, CHAT, ["explain_bill"])


def test_while_open_the_customer_hears_the_wait(session, uow, empty_queue):
    handed = hand_over_service(uow())
    assert (handed.office_open, handed.wait_minutes, handed.next_opening) == (True, 5, None)
    assert handed.office_hours == "Monday to Friday 8:00 to 18:00"
    assert session.get(Escalation, handed.result.escalation_id).status == EscalationStatus.WAITING


def test_while_closed_the_customer_hears_the_hours_and_the_next_opening_in_words(uow):
    handed = hand_over_service(uow(SATURDAY_MORNING))
    assert (handed.office_open, handed.wait_minutes) == (False, None)
    assert handed.next_opening == "Monday 30 November 2026 at 8:00"
    assert handed.office_hours == "Monday to Friday 8:00 to 18:00"


def test_a_callback_time_is_checked_against_the_configured_hours(uow):
    fine = services.check_callback_time(uow(), "tomorrow at 10")
    assert (fine.at, fine.refusal) == (datetime(2026, 11, 24, 10, 0, tzinfo=BRUSSELS), None)
    closed = services.check_callback_time(uow(), "Saturday 10:00")
    assert (closed.at, closed.refusal, closed.office_hours) == (None, "closed", "Monday to Friday 8:00 to 18:00")


def test_a_booked_callback_is_confirmed_with_its_day_and_time_in_words(session, uow):
    hand_over_service(uow(SATURDAY_MORNING))
    at = datetime(2026, 11, 30, 9, 5, tzinfo=BRUSSELS)
    booked = services.book_callback(uow(SATURDAY_MORNING), "conv-1", "0470 12 34 56", at)
    assert booked == services.BookedCallback("0470123456", "Monday 30 November 2026", "9:05")
    assert services.book_callback(uow(SATURDAY_MORNING), "conv-nobody", "0470123456", SATURDAY_MORNING) is None


def test_the_live_takeover_as_the_chat_sees_it(session, uow, dana):
    handed = hand_over_service(uow())
    assert services.agent_joined(uow(), "conv-1") is None
    assert services.relay_to_agent(uow(), "conv-1", "anyone?") is False
    assert services.claim(uow(), handed.result.escalation_id, dana.id) == "conv-1"
    assert services.agent_joined(uow(), "conv-1") == "Dana"
    assert services.relay_to_agent(uow(), "conv-1", "my meter reads 12345") is True
    assert services.reply(uow(), handed.result.escalation_id, dana.id, "Hello, I'm Dana.") == "conv-1"
    assert [(r.text, r.agent_name) for r in services.undelivered_replies(uow(), "conv-1")] == [("Hello, I'm Dana.", "Dana")]
    assert services.undelivered_replies(uow(), "conv-1") == []
    assert services.close(uow(), handed.result.escalation_id, dana.id, EscalationStatus.HANDED_BACK) == "conv-1"
    assert services.agent_left(uow(), "conv-1") == "Dana"


def test_what_an_agent_cannot_do_changes_nothing(session, uow, dana, joris):
    handed = hand_over_service(uow())
    services.claim(uow(), handed.result.escalation_id, dana.id)
    with pytest.raises(AlreadyClaimed):
        services.claim(uow(), handed.result.escalation_id, joris.id)
    with pytest.raises(HandoffProblem, match="Choose whether"):
        services.close(uow(), handed.result.escalation_id, dana.id, "deleted")
    with pytest.raises(EscalationNotFound):
        services.add_note(uow(), 987654321, dana.id, "a note")
    session.expire_all()
    assert session.get(Escalation, handed.result.escalation_id).agent_id == dana.id
    assert session.get(Escalation, handed.result.escalation_id).status == EscalationStatus.CLAIMED


def test_closing_a_chat_nobody_took_leaves_the_chat_alone(uow, dana):
    handed = hand_over_service(uow(), reason=EscalationReason.DISPUTE)
    assert services.close(uow(), handed.result.escalation_id, dana.id, EscalationStatus.RESOLVED) is None


def test_the_queue_falls_back_to_who_waits_for_any_reason(session, uow, empty_queue, dana, persona_customer):
    lucas = persona_customer("overdue")
    asked = hand_over_service(uow(), "conv-1", customer_id=lucas.id).result.escalation_id
    upset = hand_over_service(uow(), "conv-2", reason=EscalationReason.UPSET).result.escalation_id

    listed = services.queue(uow(), dana.id, "everything", "angry")
    assert (listed.view, listed.reason) == ("waiting", None)
    assert [row.id for row in listed.rows] == [asked, upset]
    assert listed.rows[0].customer == CustomerDetails.of(lucas) and listed.rows[1].customer is None

    only_upset = services.queue(uow(), dana.id, "waiting", "upset")
    assert only_upset.reason == EscalationReason.UPSET and [row.id for row in only_upset.rows] == [upset]
    services.claim(uow(), upset, dana.id)
    [mine] = services.queue(uow(), dana.id, "mine", "").rows
    assert (mine.id, mine.status, mine.agent_name) == (upset, EscalationStatus.CLAIMED, "Dana")


def test_a_conversation_shows_the_chat_what_the_bot_knew_and_the_case_file(session, uow, dana, persona_customer):
    lucas = persona_customer("overdue")
    escalation_id = hand_over_service(uow(), customer_id=lucas.id).result.escalation_id
    services.add_note(uow(), escalation_id, dana.id, "Called him last week")

    shown = services.conversation(uow(), escalation_id)
    assert (shown.escalation.id, shown.escalation.conversation_id) == (escalation_id, "conv-1")
    assert shown.context == {"bot_tried": ["why a bill changed"], "details": []}
    assert shown.transcript == CHAT
    assert [(m.author, m.agent_name, m.text) for m in shown.messages] == [(MessageAuthor.NOTE, "Dana", "Called him last week")]
    assert shown.case.customer.customer_number == lucas.customer_number
    assert services.conversation_messages(uow(), escalation_id) == shown.messages
    assert services.conversation(uow(), hand_over_service(uow(), "conv-2").result.escalation_id).case is None
    with pytest.raises(EscalationNotFound):
        services.conversation(uow(), 987654321)
    with pytest.raises(EscalationNotFound):
        services.conversation_messages(uow(), 987654321)


def test_an_agent_logs_in_and_stays_on_duty_while_active(session, uow):
    added = services.add_agent(uow(), " Robin@Handoff.Example ", "Robin", "robin-password-1")
    assert (added.email, added.name) == ("robin@handoff.example", "Robin")
    assert services.log_in(uow(), "robin@handoff.example", "robin-password-1", CLIENT) == added.id
    assert services.log_in(uow(), "robin@handoff.example", "wrong-password", CLIENT) is None
    assert services.agent_on_duty(uow(), added.id) == added
    assert services.agent_on_duty(uow(), None) is None
    session.get(Agent, added.id).active = False
    session.flush()
    assert services.agent_on_duty(uow(), added.id) is None
    assert services.log_in(uow(), "robin@handoff.example", "robin-password-1", CLIENT) is None


CLIENT = "203.0.113.7"


def fail_logins(uow, count: int, at: datetime, email="robin@handoff.example", client=CLIENT) -> None:
    for _ in range(count):
        assert services.log_in(uow(at), email, "wrong-password", client) is None


def test_after_five_failed_logins_an_email_waits_longer_each_time_then_gets_in(uow):
    added = services.add_agent(uow(), "robin@handoff.example", "Robin", "robin-password-1")
    fail_logins(uow, 5, MONDAY_MORNING)
    for password in ("wrong-password", "robin-password-1"):  # not even the right password is checked now
        with pytest.raises(TooManyLogins) as refused:
            services.log_in(uow(MONDAY_MORNING + timedelta(seconds=20)), "Robin@handoff.example", password, "198.51.100.1")
        assert refused.value.minutes == 1
    fail_logins(uow, 1, MONDAY_MORNING + timedelta(minutes=1), client="198.51.100.1")  # the sixth: 2 minutes
    with pytest.raises(TooManyLogins) as refused:
        services.log_in(uow(MONDAY_MORNING + timedelta(minutes=2)), "robin@handoff.example", "robin-password-1", "198.51.100.2")
    assert refused.value.minutes == 1
    later = MONDAY_MORNING + timedelta(minutes=3)
    assert services.log_in(uow(later), "robin@handoff.example", "robin-password-1", "198.51.100.2") == added.id
    fail_logins(uow, 4, later)  # the failures before the login are forgotten: four more are allowed
    assert services.log_in(uow(later), "robin@handoff.example", "robin-password-1", "198.51.100.2") == added.id


def test_one_address_trying_many_emails_is_slowed_down_but_others_are_not(uow):
    added = services.add_agent(uow(), "robin@handoff.example", "Robin", "robin-password-1")
    for number in range(5):
        fail_logins(uow, 1, MONDAY_MORNING, email=f"guess{number}@handoff.example")
    with pytest.raises(TooManyLogins):
        services.log_in(uow(MONDAY_MORNING), "robin@handoff.example", "robin-password-1", CLIENT)
    assert services.log_in(uow(MONDAY_MORNING), "robin@handoff.example", "robin-password-1", "198.51.100.9") == added.id


def test_the_wait_grows_to_fifteen_minutes_at_most(session, uow):
    services.add_agent(uow(), "robin@handoff.example", "Robin", "robin-password-1")
    for second in range(12):
        login_throttle.record_failure(session, "robin@handoff.example", CLIENT, MONDAY_MORNING + timedelta(seconds=second))
    at = MONDAY_MORNING + timedelta(seconds=11)
    with pytest.raises(TooManyLogins) as refused:
        services.log_in(uow(at), "robin@handoff.example", "robin-password-1", CLIENT)
    assert refused.value.minutes == 15
    assert services.log_in(uow(at + timedelta(minutes=15)), "robin@handoff.example", "robin-password-1", CLIENT) is not None


# -- what was said after the hand-over ------------------------------------------------------------


def event(kind: str, text: str, at: str, intent: str = "inform") -> dict:
    stamp = datetime.fromisoformat(at).timestamp()
    extra = {"parse_data": {"intent": {"name": intent}, "entities": []}} if kind == "user" else {}
    return {"event": kind, "text": text, "timestamp": stamp, **extra}


CHAT_EVENTS = [
    event("user", CHAT[0]["text"], CHAT[0]["at"], "explain_bill"),
    {"event": "action", "name": "action_explain_bill", "timestamp": 0},
    event("bot", CHAT[1]["text"], CHAT[1]["at"]),
    event("user", CHAT[2]["text"], CHAT[2]["at"], "request_human"),
]
WAITING = [
    event("bot", "I've asked a person from our team to join this chat.", "2026-11-23T07:59:01+00:00"),
    event("user", "no thanks, i'll wait here in the chat", "2026-11-23T08:01:00+00:00", "deny"),
]


def test_the_chat_lines_of_rasas_events_are_the_transcript_kept_at_the_hand_over():
    assert chat_lines(CHAT_EVENTS) == CHAT


@pytest.mark.parametrize("end", ["EXTERNAL_agent_joined", "EXTERNAL_agent_left"])
def test_said_while_waiting_is_what_came_after_the_transcript_until_an_agent_joined_or_it_closed(end):
    after = [event("user", "/" + end, "2026-11-23T08:05:00+00:00", end),
             event("user", "hello?", "2026-11-23T08:06:00+00:00")]
    said = said_while_waiting(CHAT, CHAT_EVENTS + WAITING + after)
    assert [(line["who"], line["text"]) for line in said] == [
        ("bot", "I've asked a person from our team to join this chat."),
        ("customer", "no thanks, i'll wait here in the chat"),
    ]


def test_said_while_waiting_without_a_transcript_is_the_whole_chat_and_with_a_stranger_one_nothing():
    assert len(said_while_waiting([], CHAT_EVENTS + WAITING)) == 5  # a dispute's escalation keeps no transcript
    other = [{"who": "customer", "text": "hi", "at": "2026-01-01T00:00:00+00:00"}]
    assert said_while_waiting(other, CHAT_EVENTS + WAITING) == []


def test_team_hours_at_6_35_on_a_weekday_say_closed_and_when_it_opens(uow):
    early = datetime(2026, 11, 24, 6, 35, tzinfo=BRUSSELS)  # a Tuesday, before 8:00
    team = services.team_hours(uow(early))
    assert (team.open_now, team.next_opening) == (False, "Tuesday 24 November 2026 at 8:00")
    assert team.office_hours == "Monday to Friday 8:00 to 18:00"


def test_team_hours_in_the_morning_say_open(uow):
    assert services.team_hours(uow()) == services.TeamHours(True, "Monday to Friday 8:00 to 18:00", None)
