"""The verification form and the app token, as the action server runs them."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from actions.verification import ActionCheckMessage, ValidateVerifyCustomerForm
from settle.db import session_factory
from settle.identity.verification import issue_app_token
from settle.models import Customer
from settle.tooling.seed import PERSONAS
from tests.actions.conftest import make_tracker, responses, slot_events
from tests.conftest import NOW

EMMA = PERSONAS[0]
FORM = "verify_customer_form"


async def answer_secret(dispatcher, domain, secret: str, customer_number: str = EMMA.customer_number, sender: str = "c1"):
    tracker = make_tracker(
        sender_id=sender,
        slots={"customer_number": customer_number, "requested_slot": "postcode_or_birth_date"},
        text=secret,
        just_set={"postcode_or_birth_date": secret},
        active_loop=FORM,
    )
    return await ValidateVerifyCustomerForm().run(dispatcher, tracker, domain)


def customer_id_of(database_url: str, customer_number: str) -> str:
    with session_factory(database_url).begin() as session:
        return str(session.execute(select(Customer.id).where(Customer.customer_number == customer_number)).scalar_one())


async def test_right_postcode_verifies_and_forgets_the_answers(actions_database, dispatcher, domain):
    events = await answer_secret(dispatcher, domain, EMMA.postcode)

    slots = slot_events(events)
    assert slots["verification"] == "verified"
    assert slots["verified_customer_id"] == customer_id_of(actions_database, EMMA.customer_number)
    assert slots["postcode_or_birth_date"] is None and slots["customer_number"] is None
    assert slots["requested_slot"] is None  # the form ends
    assert responses(dispatcher) == ["utter_verified"]
    assert dispatcher.messages[0]["first_name"] == EMMA.first_name


async def test_date_of_birth_works_instead_of_postcode(actions_database, dispatcher, domain):
    events = await answer_secret(dispatcher, domain, EMMA.date_of_birth.strftime("%d/%m/%Y"))
    assert slot_events(events)["verification"] == "verified"


async def test_unknown_number_and_wrong_postcode_get_the_same_reply(actions_database, domain):
    from rasa_sdk.executor import CollectingDispatcher

    wrong_postcode, unknown_number = CollectingDispatcher(), CollectingDispatcher()
    first = await answer_secret(wrong_postcode, domain, "9999", sender="a")
    second = await answer_secret(unknown_number, domain, EMMA.postcode, customer_number="59999999", sender="b")

    assert wrong_postcode.messages == unknown_number.messages
    assert slot_events(first) == slot_events(second)
    assert "verification" not in slot_events(first)
    assert slot_events(first)["customer_number"] is None  # the form asks again from the start


async def test_third_failure_locks_and_even_the_right_answer_is_refused(actions_database, dispatcher, domain):
    for _ in range(3):
        events = await answer_secret(dispatcher, domain, "9999")
    assert slot_events(events)["verification"] == "locked"
    assert slot_events(events)["requested_slot"] is None
    assert responses(dispatcher)[-1] == "utter_verification_locked"

    dispatcher.messages.clear()
    events = await answer_secret(dispatcher, domain, EMMA.postcode)
    assert slot_events(events)["verification"] == "locked"
    assert "verified_customer_id" not in slot_events(events)
    assert responses(dispatcher) == ["utter_verification_locked"]


async def test_lockout_applies_to_the_customer_number_from_another_conversation(actions_database, dispatcher, domain):
    for _ in range(3):
        await answer_secret(dispatcher, domain, "9999", sender="attacker")
    events = await answer_secret(dispatcher, domain, EMMA.postcode, sender="someone-else")
    assert slot_events(events).get("verification") == "locked"


async def test_invalid_customer_number_is_explained_and_asked_again(actions_database, dispatcher, domain):
    tracker = make_tracker(
        slots={"requested_slot": "customer_number"}, text="123", just_set={"customer_number": "123"}, active_loop=FORM
    )
    events = await ValidateVerifyCustomerForm().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_invalid_customer_number"]
    assert slot_events(events)["customer_number"] is None


async def test_valid_customer_number_moves_on_to_the_postcode(actions_database, dispatcher, domain):
    tracker = make_tracker(
        slots={"requested_slot": "customer_number"}, text="5000 0017", just_set={"customer_number": "5000 0017"}, active_loop=FORM
    )
    events = await ValidateVerifyCustomerForm().run(dispatcher, tracker, domain)
    assert slot_events(events) == {"customer_number": "50000017"}  # the form goes on to the postcode
    assert dispatcher.messages == []


async def test_an_already_verified_conversation_is_not_asked_again(actions_database, dispatcher, domain):
    tracker = make_tracker(slots={"verification": "verified", "verified_customer_id": "1"}, active_loop=FORM)
    events = await ValidateVerifyCustomerForm().run(dispatcher, tracker, domain)
    assert slot_events(events) == {"requested_slot": None}


@pytest.fixture
def app_secret(monkeypatch) -> str:
    monkeypatch.setenv("SETTLE_APP_TOKEN_SECRET", "test-secret-for-app-tokens-0123456789")
    return "test-secret-for-app-tokens-0123456789"


async def test_valid_app_token_verifies_without_questions(actions_database, app_secret, dispatcher, domain):
    token = issue_app_token(EMMA.customer_number, app_secret, NOW)
    events = await ActionCheckMessage().run(dispatcher, make_tracker(metadata={"auth_token": token}), domain)
    assert slot_events(events) == {
        "verification": "verified",
        "verified_customer_id": customer_id_of(actions_database, EMMA.customer_number),
    }


@pytest.mark.parametrize("make_token", [
    lambda secret: issue_app_token(EMMA.customer_number, "another-secret-of-enough-length-xyz", NOW),
    lambda secret: issue_app_token(EMMA.customer_number, secret, NOW - timedelta(hours=2)),
    lambda secret: issue_app_token(EMMA.customer_number, secret, NOW)[:-3] + "abc",
    lambda secret: "not-a-token",
    lambda secret: None,
], ids=["other-secret", "expired", "tampered", "garbage", "none"])
async def test_bad_app_tokens_verify_no_one(actions_database, app_secret, dispatcher, domain, make_token):
    tracker = make_tracker(metadata={"auth_token": make_token(app_secret)})
    assert await ActionCheckMessage().run(dispatcher, tracker, domain) == []
