"""What a conversation may keep: card numbers and secret verification answers masked (settle/identity/privacy.py)."""
from __future__ import annotations

import copy
import time

import pytest

from settle.identity.privacy import ANSWER_REMOVED, CARD_NUMBER_REMOVED, mask_card_numbers, private_events


@pytest.mark.parametrize("typed", [
    "4111111111111111",
    "4111 1111 1111 1111",
    "4111-1111-1111-1111",
    "4111  1111 1111  1111",  # more than one space
    "4111.1111.1111.1111",
    "4111 1111-1111 1111",
    "5555 5555 5555 4444",  # Mastercard
    "3782 822463 10005",  # American Express: 15 digits in 4-6-5
    "4222222222222",  # 13 digits
    "6304000000000000018",  # 19 digits
])
def test_a_card_number_is_masked_however_it_is_spaced(typed):
    assert mask_card_numbers(f"my card is {typed}, thanks") == (f"my card is {CARD_NUMBER_REMOVED}, thanks", True)
    assert mask_card_numbers(typed) == (CARD_NUMBER_REMOVED, True)


def test_what_surrounds_a_card_number_is_kept():
    assert mask_card_numbers("4111-1111-1111-1111 exp 12/27 cvv 123") == (f"{CARD_NUMBER_REMOVED} exp 12/27 cvv 123", True)
    assert mask_card_numbers("4111 1111 1111 1111 12/27") == (f"{CARD_NUMBER_REMOVED} 12/27", True)  # the expiry right after
    assert mask_card_numbers("ref 12 4111 1111 1111 1111") == (f"ref 12 {CARD_NUMBER_REMOVED}", True)


def test_every_card_number_in_a_message_is_masked():
    assert mask_card_numbers("4111111111111111 or 5555-5555-5555-4444?") == (f"{CARD_NUMBER_REMOVED} or {CARD_NUMBER_REMOVED}?", True)


@pytest.mark.parametrize("typed", [
    "4111 1111 1111 1112",  # fails the Luhn check
    "50000017",  # a customer number
    "5000 0017",
    "my postcode is 1000",
    "+32 470 12 34 56",  # a phone number
    "+++090/9337/55493+++",  # a structured communication
    "BE68 5390 0754 7034",  # an IBAN
    "411111111111",  # 12 digits
    "41111111111111111111",  # 20 digits in one go
    "INV-2026-000123",
    "I paid 1234.56 on 14/02/2026",
    "",
    CARD_NUMBER_REMOVED,
])
def test_other_numbers_are_kept(typed):
    assert mask_card_numbers(typed) == (typed, False)


def test_none_reads_as_empty_text():
    assert mask_card_numbers(None) == ("", False)  # type: ignore[arg-type]


def test_a_long_message_is_masked_quickly():
    started = time.perf_counter()
    mask_card_numbers("1 " * 1000)
    mask_card_numbers("4111 1111 1111 1111 " * 100)
    assert time.perf_counter() - started < 0.5


# Rasa's events

def user(text: str, entities: list | None = None, intent: str = "inform") -> dict:
    return {"event": "user", "text": text, "timestamp": 1.0, "metadata": {},
            "parse_data": {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": entities or []}}


def slot(name: str, value) -> dict:
    return {"event": "slot", "name": name, "value": value, "timestamp": 1.0}


def bot(text: str) -> dict:
    return {"event": "bot", "text": text, "timestamp": 1.0}


def verification(secret_slot: str, answer: str) -> list[dict]:
    """A verification as Rasa records it: the form asks the customer number, then the secret question."""
    return [
        user("what is my balance", intent="check_balance"),
        {"event": "active_loop", "name": "verify_customer_form"},
        slot("requested_slot", "customer_number"),
        bot("What is your customer number?"),
        user("50000017", [{"entity": "customer_number", "value": "50000017", "start": 0, "end": 8}]),
        slot("customer_number", "50000017"),
        slot("requested_slot", secret_slot),
        bot("What is the postcode of the address on your bill?"),
        user(answer, [{"entity": "postcode", "value": answer, "start": 0, "end": len(answer)}]),
        slot(secret_slot, answer),
    ]


@pytest.mark.parametrize("secret_slot", ["postcode", "birth_date", "postcode_or_birth_date"])
def test_the_answer_to_a_secret_question_is_removed_from_the_message_and_the_slot(secret_slot):
    events = verification(secret_slot, "1000")

    kept = private_events(events)

    answer, answer_slot = kept[-2], kept[-1]
    assert answer["text"] == answer["parse_data"]["text"] == ANSWER_REMOVED
    assert [entity["value"] for entity in answer["parse_data"]["entities"]] == [ANSWER_REMOVED]
    assert answer_slot == {**events[-1], "value": ANSWER_REMOVED}
    assert answer["parse_data"]["intent"] == events[-2]["parse_data"]["intent"]
    assert kept[:-2] == events[:-2]  # the question, the customer number and everything else stay


def test_the_events_given_are_not_changed():
    events = verification("postcode", "4111 1111 1111 1111")
    before = copy.deepcopy(events)
    private_events(events)
    assert events == before


def test_the_customer_number_and_other_answers_are_kept():
    events = verification("postcode", "1000") + [
        slot(secret, None) for secret in ("postcode", "customer_number")
    ] + [slot("requested_slot", None), {"event": "active_loop", "name": None}, user("9000 is my postcode, what do I owe?")]

    kept = private_events(events)

    assert kept[4]["text"] == "50000017" and kept[5]["value"] == "50000017"
    assert kept[10] == events[10]  # clearing a secret slot stays a clearing
    assert kept[-1]["text"] == "9000 is my postcode, what do I owe?"  # after the form, no secret question was asked


def test_only_a_message_sent_while_a_secret_question_is_open_is_masked():
    events = [
        slot("requested_slot", "plan_months"),
        user("1000"),
        slot("requested_slot", "postcode"),
        {"event": "restart", "timestamp": 1.0},
        user("1000"),
        slot("requested_slot", "birth_date"),
        {"event": "session_started", "timestamp": 1.0},
        user("14/02/1985"),
        slot("requested_slot", "birth_date"),
        {"event": "action", "name": "action_listen", "timestamp": 1.0},
        user("14/02/1985"),
        {"event": "entities", "entities": [{"entity": "date", "value": "1985-02-14"}], "timestamp": 1.0},
        slot("requested_slot", None),
        user("and my bill?"),
        {"event": "entities", "entities": [{"entity": "date", "value": "2026-11-22"}], "timestamp": 1.0},
    ]

    kept = private_events(events)

    assert [event["text"] for event in kept if event["event"] == "user"] == [
        "1000", "1000", "14/02/1985", ANSWER_REMOVED, "and my bill?",
    ]
    assert kept[11]["entities"][0]["value"] == ANSWER_REMOVED
    assert kept[14]["entities"][0]["value"] == "2026-11-22"


def test_card_numbers_are_masked_in_every_message_entity_and_slot():
    events = [
        user("my card is 4111 1111 1111 1111", [{"entity": "amount", "value": "4111 1111 1111 1111"}]),
        slot("customer_number", "4111-1111-1111-1111 exp 12/27 cvv 123"),
        slot("dispute_reason", ["charged twice on 5555555555554444", {"note": "4111111111111111"}]),
        slot("plan_months", 3),
        bot("Please don't type card numbers here."),
    ]

    kept = private_events(events)

    assert kept[0]["text"] == kept[0]["parse_data"]["text"] == f"my card is {CARD_NUMBER_REMOVED}"
    assert kept[0]["parse_data"]["entities"][0]["value"] == CARD_NUMBER_REMOVED
    assert kept[1]["value"] == f"{CARD_NUMBER_REMOVED} exp 12/27 cvv 123"
    assert kept[2]["value"] == [f"charged twice on {CARD_NUMBER_REMOVED}", {"note": CARD_NUMBER_REMOVED}]
    assert kept[3:] == events[3:]


def test_masking_twice_changes_nothing():
    events = verification("postcode", "1000") + [user("4111 1111 1111 1111")]
    once = private_events(events)
    assert private_events(once) == once


def test_a_message_that_filled_a_secret_slot_is_masked_whatever_was_asked():
    events = [
        {"event": "active_loop", "name": "verify_customer_form"},
        slot("requested_slot", "customer_number"),
        user("50000017 and my postcode is 1000", [{"entity": "customer_number", "value": "50000017"},
                                                 {"entity": "postcode", "value": "1000"}]),
        slot("customer_number", "50000017"),
        slot("postcode", "1000"),
        slot("requested_slot", "birth_date"),
    ]

    kept = private_events(events)

    assert kept[2]["text"] == kept[2]["parse_data"]["text"] == ANSWER_REMOVED
    assert [entity["value"] for entity in kept[2]["parse_data"]["entities"]] == [ANSWER_REMOVED, ANSWER_REMOVED]
    assert (kept[3]["value"], kept[4]["value"]) == ("50000017", ANSWER_REMOVED)


def test_slots_carried_into_a_new_session_mask_no_message_of_the_old_one():
    events = [user("hello"), {"event": "session_started", "timestamp": 1.0}, slot("postcode", "1000"), user("hi again")]
    kept = private_events(events)
    assert [event.get("text") for event in kept if event["event"] == "user"] == ["hello", "hi again"]
    assert kept[2]["value"] == ANSWER_REMOVED


def test_an_apps_token_is_never_kept():
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI1MDAwMDAxNyJ9.c2lnbmF0dXJl"
    message = user("what is my balance")
    message["metadata"] = message["parse_data"]["metadata"] = {"auth_token": token}
    events = [
        {"event": "session_started", "timestamp": 1.0, "metadata": {"auth_token": token, "client": "app"}},
        slot("session_started_metadata", {"auth_token": token, "client": "app"}),
        message,
        slot("verification", "verified"),
    ]

    kept = private_events(events)

    assert token not in repr(kept)
    assert kept[0]["metadata"] == kept[1]["value"] == {"auth_token": "[app token removed]", "client": "app"}
    assert kept[2]["metadata"] == kept[2]["parse_data"]["metadata"] == {"auth_token": "[app token removed]"}
    assert kept[3] == events[3]
