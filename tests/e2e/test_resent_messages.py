"""A message sent again with the same id (a client whose answer was lost, HAProxy resending to another replica) is
answered with the replies it got the first time and is neither stored nor acted upon again."""
from __future__ import annotations

import uuid

import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import RASA_API_TOKEN, address_of, signed
from tests.e2e.test_conversations_over_rest import ASKS_CUSTOMER_NUMBER, conversation


def send(stack, sender: str, text: str, message_id: str | None) -> list[str]:
    body = {"sender": signed(sender), "message": text, **({"message_id": message_id} if message_id else {})}
    reply = requests.post(f"{stack.rasa_url}/webhooks/rest/webhook", json=body,
                          headers={"X-Forwarded-For": address_of(sender)}, timeout=60)
    reply.raise_for_status()
    return [message.get("text", "") for message in reply.json()]


def stored_events(stack, sender: str) -> list[dict]:
    tracker = requests.get(f"{stack.rasa_url}/conversations/{signed(sender)}/tracker", params={"token": RASA_API_TOKEN}, timeout=30)
    tracker.raise_for_status()
    return [{key: value for key, value in event.items() if key != "timestamp"} for event in tracker.json()["events"]]


def turns_counted(stack) -> float:
    """settle_turns_total on REST, as Prometheus would scrape it from the web app (all processes' counts)."""
    scraped = requests.get(f"{stack.web_url}/metrics", timeout=10)
    scraped.raise_for_status()
    return sum(sample.value for family in text_string_to_metric_families(scraped.text) for sample in family.samples
               if sample.name == "settle_turns_total" and sample.labels.get("channel") == "rest")


def test_a_message_sent_again_with_its_id_is_answered_again_and_stored_once(stack):
    me, message_id = conversation(), uuid.uuid4().hex
    send(stack, me, "hello", None)
    before = turns_counted(stack)
    first = send(stack, me, "how much do I owe?", message_id)
    events = stored_events(stack, me)

    again = send(stack, me, "how much do I owe?", message_id)

    assert any(ASKS_CUSTOMER_NUMBER in reply for reply in first)
    assert again == first
    assert stored_events(stack, me) == events  # no user turn, no action, no reply added
    user_turns = [event for event in events if event["event"] == "user"]
    assert [event["message_id"] for event in user_turns][-1] == message_id
    assert [event["text"] for event in user_turns].count("how much do I owe?") == 1
    assert turns_counted(stack) == before + 1  # Rasa's count, at the web app's /metrics: the resend is not a turn


def test_the_same_words_under_a_new_id_are_a_new_message(stack):
    me = conversation()
    first = send(stack, me, "hello", uuid.uuid4().hex)
    second = send(stack, me, "hello", uuid.uuid4().hex)
    third = send(stack, me, "hello", None)

    user_turns = [event for event in stored_events(stack, me) if event["event"] == "user"]
    assert first and second and third
    assert [event["text"] for event in user_turns] == ["hello", "hello", "hello"]


def test_an_unusable_message_id_is_replaced_by_one_of_rasas(stack):
    me = conversation()
    for _ in range(2):
        send(stack, me, "hello", "x" * 101)

    user_turns = [event for event in stored_events(stack, me) if event["event"] == "user"]
    assert len(user_turns) == 2 and all(event["message_id"] != "x" * 101 for event in user_turns)
