"""Requests Settle does not handle: the customer is told where to go, in their language, then offered a person."""
from __future__ import annotations

import pytest

from actions.redirects import ActionRedirect
from settle.policy import REDIRECT_TOPICS, load_redirects
from tests.actions.conftest import make_tracker, responses

OPERATOR_FILE = load_redirects("policy/redirects.yml")


def text_of(dispatcher, domain, language: str) -> str:
    """The first message as the customer reads it: the response's variation for the language, filled in."""
    sent = dispatcher.messages[0]
    variations = domain["responses"][sent["response"]]
    chosen = next((v for v in variations if any(c["value"] == language for c in v.get("condition", []))), variations[0])
    return chosen["text"].format(**sent)


@pytest.mark.parametrize("topic", REDIRECT_TOPICS)
async def test_each_topic_says_where_to_go_and_offers_a_person(topic, dispatcher, domain, actions_database):
    tracker = make_tracker(intent=f"redirect_{topic}", text="something Settle does not do")

    await ActionRedirect().run(dispatcher, tracker, domain)

    assert responses(dispatcher) == [f"utter_redirect_{topic}", "utter_redirect_offer_human"]
    said = text_of(dispatcher, domain, "en")
    assert OPERATOR_FILE.topics[topic].phone in said or topic == "outage"
    assert OPERATOR_FILE.topics[topic].page_in("en") in said


async def test_an_outage_gives_the_emergency_number_before_anything_else(dispatcher, domain, actions_database):
    tracker = make_tracker(intent="redirect_outage", text="my electricity is cut off!! there's no power in the house")

    await ActionRedirect().run(dispatcher, tracker, domain)

    said = text_of(dispatcher, domain, "en")
    emergency = OPERATOR_FILE.topics["outage"].emergency_phone
    assert emergency and said.index(emergency) < said.index("http")


@pytest.mark.parametrize(("language", "page_word"), [("nl", "verhuizen"), ("fr", "demenagement")])
async def test_the_web_page_is_in_the_customers_language(language, page_word, dispatcher, domain, actions_database):
    tracker = make_tracker(intent="redirect_moving_house", slots={"language": language}, text="...")

    await ActionRedirect().run(dispatcher, tracker, domain)

    assert page_word in text_of(dispatcher, domain, language)


async def test_an_intent_without_a_topic_gets_the_general_answer(dispatcher, domain, actions_database):
    await ActionRedirect().run(dispatcher, make_tracker(intent="redirect_pizza"), domain)

    assert responses(dispatcher) == ["utter_out_of_scope"]


def test_every_topic_has_an_intent_and_an_answer_in_the_domain(domain):
    intents = {intent for intent in domain["intents"] if isinstance(intent, str) and intent.startswith("redirect_")}
    assert intents == {f"redirect_{topic}" for topic in REDIRECT_TOPICS}
    assert all(f"utter_redirect_{topic}" in domain["responses"] for topic in REDIRECT_TOPICS)


async def test_in_the_middle_of_a_form_no_person_is_offered_as_the_forms_question_comes_next(dispatcher, domain, actions_database):
    tracker = make_tracker(intent="redirect_meter_reading", active_loop="instalment_plan_form")

    await ActionRedirect().run(dispatcher, tracker, domain)

    assert responses(dispatcher) == ["utter_redirect_meter_reading"]
