"""Which earlier message a resent one repeats, and what was answered to it, found in a real tracker."""
from __future__ import annotations

from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from channels import door
from components.resent_messages import replies_already_given


def tracker_with(*events) -> DialogueStateTracker:
    return DialogueStateTracker.from_events("someone", list(events))


def test_the_replies_to_the_message_with_that_id_until_the_next_message():
    tracker = tracker_with(
        UserUttered("hello", message_id="a"), ActionExecuted("utter_greet"), BotUttered("Hi!"),
        UserUttered("how much do I owe?", message_id="b"), BotUttered("What is your customer number?"),
        BotUttered("It's on your bill."), ActionExecuted("action_listen"),
        UserUttered("later", message_id="c"), BotUttered("Bye"),
    )

    assert [reply.text for reply in replies_already_given(tracker, "b")] == ["What is your customer number?", "It's on your bill."]
    assert [reply.text for reply in replies_already_given(tracker, "a")] == ["Hi!"]


def test_a_message_not_in_the_conversation_is_new():
    tracker = tracker_with(UserUttered("hello", message_id="a"), BotUttered("Hi!"))

    assert replies_already_given(tracker, "z") is None
    assert replies_already_given(tracker, None) is None


def test_a_message_handled_without_any_reply_is_still_already_handled():
    assert replies_already_given(tracker_with(UserUttered("ok", message_id="a"), ActionExecuted("action_listen")), "a") == []


def test_the_door_takes_a_printable_id_of_reasonable_length_only():
    assert door.message_id("4f1c2b7e-0d9a-4c55-9d0e-7a1f0b2c3d4e") == "4f1c2b7e-0d9a-4c55-9d0e-7a1f0b2c3d4e"
    assert door.message_id("x" * 101) is None
    assert door.message_id("") is None
    assert door.message_id("a\nb") is None
    assert door.message_id(42) is None
