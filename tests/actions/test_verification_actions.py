"""The verification form and the app token, as the action server runs them."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, select

from actions.verification import ActionCheckMessage, ValidateVerifyCustomerForm
from settle.db import session_factory
from settle.identity.verification import issue_app_token
from settle.models import ChatConversation, Conversation, Customer, Escalation
from settle.tooling.seed import PERSONAS
from tests.actions.conftest import make_tracker, responses, slot_events
from tests.conftest import NOW

EMMA = PERSONAS[0]
EMMA_BORN = EMMA.date_of_birth.strftime("%d/%m/%Y")
FORM = "verify_customer_form"


async def answer_birth_date(dispatcher, domain, born: str = EMMA_BORN, customer_number: str = EMMA.customer_number,
                            postcode: str = EMMA.postcode, sender: str = "c1", metadata: dict | None = None):
    """The last question: the customer number and postcode were given before."""
    tracker = make_tracker(
        sender_id=sender,
        slots={"customer_number": customer_number, "postcode": postcode, "requested_slot": "birth_date"},
        text=born,
        just_set={"birth_date": born},
        active_loop=FORM,
        metadata=metadata,
    )
    return await ValidateVerifyCustomerForm().run(dispatcher, tracker, domain)


async def answer(dispatcher, domain, slot: str, value, slots: dict | None = None, text: str = ""):
    tracker = make_tracker(slots={"requested_slot": slot, **(slots or {})}, text=text, just_set={slot: value}, active_loop=FORM)
    return await ValidateVerifyCustomerForm().run(dispatcher, tracker, domain)


def customer_id_of(database_url: str, customer_number: str) -> str:
    with session_factory(database_url).begin() as session:
        return str(session.execute(select(Customer.id).where(Customer.customer_number == customer_number)).scalar_one())


def reminder_chat_of(database_url: str, customer_number: str) -> str | None:
    with session_factory(database_url).begin() as session:
        return session.execute(
            select(ChatConversation.conversation_id).join(Customer, Customer.id == ChatConversation.customer_id)
            .where(Customer.customer_number == customer_number)
        ).scalar_one_or_none()


def escalation_count(database_url: str) -> int:
    with session_factory(database_url).begin() as session:
        return len(session.execute(select(Escalation.id)).all())


@pytest.fixture
def no_reminder_chats(actions_database):
    """No chat is anyone's reminder chat before or after the test (earlier checks made some)."""
    def forget() -> None:
        with session_factory(actions_database).begin() as session:
            session.execute(delete(ChatConversation))
    forget()
    yield
    forget()


async def test_right_answers_verify_and_forget_the_answers(actions_database, dispatcher, domain):
    events = await answer_birth_date(dispatcher, domain)

    slots = slot_events(events)
    assert slots["verification"] == "verified"
    assert slots["verified_customer_id"] == customer_id_of(actions_database, EMMA.customer_number)
    assert slots["birth_date"] is None and slots["postcode"] is None and slots["customer_number"] is None
    assert slots["requested_slot"] is None  # the form ends
    assert responses(dispatcher) == ["utter_verified"]
    assert dispatcher.messages[0]["first_name"] == EMMA.first_name


async def test_the_right_postcode_with_a_wrong_date_of_birth_does_not_verify(actions_database, dispatcher, domain):
    events = await answer_birth_date(dispatcher, domain, born="15/02/1985")
    assert "verification" not in slot_events(events)
    assert responses(dispatcher) == ["utter_verification_failed"]


async def test_the_last_try_is_announced_as_such(actions_database, domain):
    from rasa_sdk.executor import CollectingDispatcher

    first, second = CollectingDispatcher(), CollectingDispatcher()
    await answer_birth_date(first, domain, born="15/02/1985", sender="last-try")
    await answer_birth_date(second, domain, born="16/02/1985", sender="last-try")
    assert responses(first) == ["utter_verification_failed"] and first.messages[0]["attempts_left"] == 2
    assert responses(second) == ["utter_verification_failed_last_try"]


async def test_unknown_number_and_wrong_answers_get_the_same_reply(actions_database, domain):
    from rasa_sdk.executor import CollectingDispatcher

    wrong_postcode, unknown_number = CollectingDispatcher(), CollectingDispatcher()
    first = await answer_birth_date(wrong_postcode, domain, postcode="9999", sender="a")
    second = await answer_birth_date(unknown_number, domain, customer_number="59999999", sender="b")

    assert wrong_postcode.messages == unknown_number.messages
    assert slot_events(first) == slot_events(second)
    assert "verification" not in slot_events(first)
    assert slot_events(first)["customer_number"] is None  # the form asks again from the start


async def test_third_failure_locks_the_chat_without_queueing_it_and_even_the_right_answers_are_refused(
    actions_database, dispatcher, domain
):
    queued = escalation_count(actions_database)
    for _ in range(3):
        events = await answer_birth_date(dispatcher, domain, postcode="9999")
    assert slot_events(events)["verification"] == "locked"
    assert slot_events(events)["requested_slot"] is None
    assert responses(dispatcher)[-1] == "utter_verification_locked_office_closed"  # NOW is a Sunday
    assert escalation_count(actions_database) == queued  # agents see a counter instead

    dispatcher.messages.clear()
    events = await answer_birth_date(dispatcher, domain)
    assert slot_events(events)["verification"] == "locked"
    assert "verified_customer_id" not in slot_events(events)
    assert responses(dispatcher) == ["utter_verification_locked_office_closed"]


async def test_the_real_customer_still_verifies_after_an_attacker_tried_her_number(actions_database, dispatcher, domain):
    for _ in range(3):
        await answer_birth_date(dispatcher, domain, postcode="9999", born="01/01/1970", sender="attacker")
    events = await answer_birth_date(dispatcher, domain, sender="the-real-emma")
    assert slot_events(events)["verification"] == "verified"


async def test_a_source_in_the_metadata_is_paused_across_new_conversations(actions_database, dispatcher, domain, monkeypatch):
    monkeypatch.setenv("SETTLE_VERIFICATION_SOURCE_MAX_FAILURES", "2")
    attacker = {"client": "203.0.113.7"}
    for sender in ("spray-1", "spray-2"):
        await answer_birth_date(dispatcher, domain, postcode="9999", sender=sender, metadata=attacker)
    dispatcher.messages.clear()
    events = await answer_birth_date(dispatcher, domain, sender="spray-3", metadata=attacker)
    assert slot_events(events)["verification"] == "locked"
    assert responses(dispatcher) == ["utter_verification_locked_office_closed"]
    elsewhere = await answer_birth_date(dispatcher, domain, sender="home", metadata={"client": "198.51.100.4"})
    assert slot_events(elsewhere)["verification"] == "verified"


async def test_too_many_failures_everywhere_refuse_new_checks_politely_for_some_minutes(actions_database, dispatcher, domain, monkeypatch):
    monkeypatch.setenv("SETTLE_VERIFICATION_GLOBAL_MAX_FAILURES", "2")
    for sender in ("g-1", "g-2", "g-3"):
        await answer_birth_date(dispatcher, domain, postcode="9999", sender=sender)
    assert responses(dispatcher)[-1] == "utter_verification_busy"
    dispatcher.messages.clear()
    tracker = make_tracker(sender_id="someone-new", slots={"requested_slot": "customer_number"}, text="50000017",
                           just_set={"customer_number": "50000017"}, active_loop=FORM)
    events = await ValidateVerifyCustomerForm().run(dispatcher, tracker, domain)
    assert slot_events(events)["verification"] == "locked" and slot_events(events)["customer_number"] is None
    [message] = dispatcher.messages
    assert (message["response"], message["minutes"]) == ("utter_verification_busy", 5)


async def test_only_a_full_check_makes_the_chat_the_customers_reminder_chat(actions_database, no_reminder_chats, dispatcher, domain):
    await answer_birth_date(dispatcher, domain, born="15/02/1985", sender="wrong-answers")
    assert reminder_chat_of(actions_database, EMMA.customer_number) is None
    await answer_birth_date(dispatcher, domain, sender="full-check")
    assert reminder_chat_of(actions_database, EMMA.customer_number) == "full-check"


async def test_invalid_customer_number_is_explained_and_asked_again(actions_database, dispatcher, domain):
    events = await answer(dispatcher, domain, "customer_number", "123", text="123")
    assert responses(dispatcher) == ["utter_invalid_customer_number"]
    assert slot_events(events)["customer_number"] is None


@pytest.mark.parametrize("value", [{"a": 1}, ["50000017"], [], True, 5.0e7, None], ids=["dict", "list", "empty-list", "bool", "float", "none"])
@pytest.mark.parametrize("slot, response", [
    ("customer_number", "utter_invalid_customer_number"),
    ("postcode", "utter_invalid_postcode"),
    ("birth_date", "utter_invalid_birth_date"),
])
async def test_entity_values_of_the_wrong_type_get_the_polite_answer(actions_database, dispatcher, domain, slot, response, value):
    """`/inform{"customer_number": {"a": 1}}` and the like: never a crash."""
    slots = {"customer_number": EMMA.customer_number, "postcode": EMMA.postcode} if slot == "birth_date" else {}
    events = await answer(dispatcher, domain, slot, value, slots=slots, text="/inform")
    assert responses(dispatcher) == [response]
    assert slot_events(events)[slot] is None


async def test_valid_customer_number_moves_on_to_the_postcode(actions_database, dispatcher, domain):
    events = await answer(dispatcher, domain, "customer_number", "5000 0017", text="5000 0017")
    assert slot_events(events) == {"customer_number": "50000017"}  # the form goes on to the postcode
    assert dispatcher.messages == []


async def test_a_postcode_given_with_the_customer_number_is_not_asked_again(actions_database, dispatcher, domain):
    text = "50000017, postcode 1000"
    tracker = make_tracker(slots={"requested_slot": "customer_number"}, text=text,
                           just_set={"customer_number": text, "postcode": "1000"}, active_loop=FORM)
    events = await ValidateVerifyCustomerForm().run(dispatcher, tracker, domain)
    assert slot_events(events) == {"customer_number": "50000017", "postcode": "1000"}  # next: the date of birth
    assert dispatcher.messages == []


@pytest.mark.parametrize("text, picked_up", [("50000017", "50000017"), ("5000 0017", "5000"), ("5000 0017", {"a": 1})])
async def test_a_doubtful_postcode_picked_up_with_the_number_is_dropped_quietly(actions_database, dispatcher, domain,
                                                                                text, picked_up):
    """Part of the number taken for a postcode ("5000 0017") must not stand as the answer."""
    tracker = make_tracker(slots={"requested_slot": "customer_number"}, text=text,
                           just_set={"customer_number": text, "postcode": picked_up}, active_loop=FORM)
    events = await ValidateVerifyCustomerForm().run(dispatcher, tracker, domain)
    assert slot_events(events) == {"customer_number": "50000017", "postcode": None}
    assert dispatcher.messages == []


async def test_an_invalid_postcode_or_birth_date_is_explained(actions_database, dispatcher, domain):
    await answer(dispatcher, domain, "postcode", "12345", slots={"customer_number": EMMA.customer_number})
    await answer(dispatcher, domain, "birth_date", "someday",
                 slots={"customer_number": EMMA.customer_number, "postcode": EMMA.postcode})
    assert responses(dispatcher) == ["utter_invalid_postcode", "utter_invalid_birth_date"]


async def test_an_already_verified_conversation_is_not_asked_again(actions_database, dispatcher, domain):
    tracker = make_tracker(slots={"verification": "verified", "verified_customer_id": "1"}, active_loop=FORM)
    events = await ValidateVerifyCustomerForm().run(dispatcher, tracker, domain)
    assert slot_events(events) == {"requested_slot": None}


@pytest.fixture
def app_secret(monkeypatch) -> str:
    monkeypatch.setenv("SETTLE_APP_TOKEN_SECRET", "test-secret-for-app-tokens-0123456789")
    return "test-secret-for-app-tokens-0123456789"


async def test_valid_app_token_verifies_without_questions(actions_database, no_reminder_chats, app_secret, dispatcher, domain):
    token = issue_app_token(EMMA.customer_number, app_secret, NOW)
    tracker = make_tracker(sender_id="app-chat", metadata={"auth_token": token})
    events = await ActionCheckMessage().run(dispatcher, tracker, domain)
    assert slot_events(events) == {
        "verification": "verified",
        "verified_customer_id": customer_id_of(actions_database, EMMA.customer_number),
        "language": "en",
        "language_basis": "stored",
    }
    assert reminder_chat_of(actions_database, EMMA.customer_number) == "app-chat"


@pytest.mark.parametrize("make_token", [
    lambda secret: issue_app_token(EMMA.customer_number, "another-secret-of-enough-length-xyz", NOW),
    lambda secret: issue_app_token(EMMA.customer_number, secret, NOW - timedelta(hours=2)),
    lambda secret: issue_app_token(EMMA.customer_number, secret, NOW)[:-3] + "abc",
    lambda secret: "not-a-token",
    lambda secret: None,
], ids=["other-secret", "expired", "tampered", "garbage", "none"])
async def test_bad_app_tokens_verify_no_one(actions_database, no_reminder_chats, app_secret, dispatcher, domain, make_token):
    tracker = make_tracker(metadata={"auth_token": make_token(app_secret)})
    assert await ActionCheckMessage().run(dispatcher, tracker, domain) == []
    assert reminder_chat_of(actions_database, EMMA.customer_number) is None


async def test_each_customer_message_is_noted_for_the_figures_but_not_settles_own_events(actions_database, dispatcher, domain):
    for intent in ("ask_balance", "EXTERNAL_agent_message", "affirm"):
        assert await ActionCheckMessage().run(dispatcher, make_tracker(sender_id="counted-chat", intent=intent), domain) == []
    with session_factory(actions_database).begin() as session:
        noted = session.get(Conversation, "counted-chat")
        assert (noted.messages, noted.started_at, noted.verified_at) == (2, NOW, None)


async def test_a_lockout_outside_office_hours_says_when_the_team_is_there_instead_of_right_now(
    actions_database, dispatcher, domain
):
    for _ in range(3):
        await answer_birth_date(dispatcher, domain, postcode="9999", sender="early-bird")
    message = dispatcher.messages[-1]
    assert message["response"] == "utter_verification_locked_office_closed"
    assert message["office_hours"] == "Monday to Friday 8:00 to 18:00"
    assert message["next_opening"] == "Monday 23 November 2026 at 8:00"
    assert "right now" not in domain["responses"]["utter_verification_locked_office_closed"][0]["text"]


async def test_a_lockout_while_the_team_is_there_offers_a_person_right_now(actions_database, dispatcher, domain, monkeypatch):
    monkeypatch.setenv("SETTLE_OFFICE_HOURS", "Mon-Sun 00:00-24:00")
    for _ in range(3):
        await answer_birth_date(dispatcher, domain, postcode="9999", sender="office-open")
    assert responses(dispatcher)[-1] == "utter_verification_locked"


@pytest.mark.parametrize("typed", ["5000 0017", "5000.0017", "5000-0017", "my customer number is 5000 0017"])
async def test_a_customer_number_in_groups_is_taken_even_when_only_a_part_was_extracted(actions_database, dispatcher, domain, typed):
    events = await answer(dispatcher, domain, "customer_number", "5000", text=typed)
    assert slot_events(events)["customer_number"] == "50000017"
    assert "postcode" not in slot_events(events)  # asked next
    assert responses(dispatcher) == []


async def test_number_and_postcode_in_one_message_are_both_taken(actions_database, dispatcher, domain):
    events = await answer(dispatcher, domain, "customer_number", "5000 0017 1000", text="5000 0017 1000")
    slots = slot_events(events)
    assert (slots["customer_number"], slots["postcode"]) == ("50000017", "1000")  # the postcode isn't asked again


async def test_a_second_unreadable_number_says_how_to_get_out_instead_of_the_same_words(actions_database, dispatcher, domain):
    said_once = {"event": "bot", "text": "That doesn't look like...", "metadata": {"utter_action": "utter_invalid_customer_number"}}
    tracker = make_tracker(
        slots={"requested_slot": "customer_number"}, text="i dont know it", just_set={"customer_number": "i dont know it"},
        active_loop=FORM, earlier_events=[{"event": "active_loop", "name": FORM}, said_once],
    )
    events = await ValidateVerifyCustomerForm().run(dispatcher, tracker, domain)
    assert slot_events(events)["customer_number"] is None
    assert responses(dispatcher) == ["utter_invalid_customer_number_again"]


def a_customer_speaking(database_url: str, language: str) -> Customer:
    """A demo customer (not a persona) whose stored preference is `language`."""
    with session_factory(database_url).begin() as session:
        customer = session.execute(
            select(Customer).where(Customer.language == language, Customer.customer_number.not_in([p.customer_number for p in PERSONAS]))
            .order_by(Customer.id)
        ).scalars().first()
        session.expunge(customer)
        return customer


async def check(dispatcher, domain, text: str, slots: dict | None = None, metadata: dict | None = None, intent: str = "inform"):
    return slot_events(await ActionCheckMessage().run(dispatcher, make_tracker(text=text, slots=slots, metadata=metadata, intent=intent), domain))


async def test_a_greeting_sets_the_language_and_a_number_keeps_it(actions_database, dispatcher, domain):
    assert await check(dispatcher, domain, "goeiedag") == {"language": "nl", "language_basis": "typed"}
    assert await check(dispatcher, domain, "bonjour", slots={"language": "nl", "language_basis": "typed"}) == {
        "language": "fr", "language_basis": "typed"}
    for text in ("50000017", "INV-2026-000021", "ok", "merci", "9000"):
        assert await check(dispatcher, domain, text, slots={"language": "nl", "language_basis": "typed"}) == {}
    assert dispatcher.messages == []


async def test_the_page_language_in_the_metadata_wins_over_what_is_typed(actions_database, dispatcher, domain):
    assert await check(dispatcher, domain, "how much do I owe?", metadata={"language": "fr-BE"}) == {
        "language": "fr", "language_basis": "page"}
    assert await check(dispatcher, domain, "how much do I owe?", slots={"language": "fr", "language_basis": "page"},
                       metadata={"language": "fr-BE"}) == {}


async def test_an_explicit_request_wins_over_the_page(actions_database, dispatcher, domain):
    on_dutch_page = {"language": "nl", "language_basis": "page"}
    assert await check(dispatcher, domain, "en français svp", slots=on_dutch_page, metadata={"language": "nl"}) == {
        "language": "fr", "language_basis": "requested"}


async def test_settles_own_events_leave_the_language_alone(actions_database, dispatcher, domain):
    assert await check(dispatcher, domain, "", metadata={"language": "fr"}, intent="EXTERNAL_reminder") == {}


async def test_a_verified_customer_is_answered_in_their_stored_language(actions_database, dispatcher, domain):
    dutch = a_customer_speaking(actions_database, "nl")
    typed_english = {"language": "en", "language_basis": "typed"}
    verified = {"verification": "verified", "verified_customer_id": str(dutch.id)}
    assert await check(dispatcher, domain, "when is it due?", slots=typed_english | verified) == {
        "language": "nl", "language_basis": "stored"}
    assert await check(dispatcher, domain, "when is it due?", slots={"language": "nl", "language_basis": "stored"} | verified) == {}


async def test_verifying_in_the_form_switches_to_the_customers_language_at_once(actions_database, dispatcher, domain):
    french = a_customer_speaking(actions_database, "fr")
    events = await answer_birth_date(dispatcher, domain, born=french.date_of_birth.strftime("%d/%m/%Y"),
                                     customer_number=french.customer_number, postcode=french.postcode, sender="fr-chat")
    slots = slot_events(events)
    assert (slots["verification"], slots["language"], slots["language_basis"]) == ("verified", "fr", "stored")
    assert [message["text"] for message in dispatcher.messages] == [f"Merci, {french.first_name}. J'ai trouvé votre compte."]


async def test_an_app_token_of_a_french_customer_sets_french(actions_database, no_reminder_chats, app_secret, dispatcher, domain):
    french = a_customer_speaking(actions_database, "fr")
    token = issue_app_token(french.customer_number, app_secret, NOW)
    slots = await check(dispatcher, domain, "", metadata={"auth_token": token})
    assert (slots["verification"], slots["language"], slots["language_basis"]) == ("verified", "fr", "stored")
