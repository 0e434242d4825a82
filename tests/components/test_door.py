"""The checks both customer channels make before a message reaches Rasa (channels/door.py)."""
from __future__ import annotations

import pytest

from channels import door
from settle.outreach import texts


def test_a_message_over_2000_characters_is_refused_politely():
    checked = door.check_message("I would like to know why my bill is so high this month. " * 40)
    assert len("I would like to know why my bill is so high this month. " * 40) > 2000
    assert checked.refused and checked.text == ""
    assert checked.answers == [texts.render("utter_message_too_long", {})]


def test_a_message_of_2000_characters_goes_through():
    checked = door.check_message("a" * 2000)
    assert not checked.refused and checked.text == "a" * 2000 and checked.answers == []


def test_a_card_number_is_masked_and_warned_about():
    checked = door.check_message("my card is 4111 1111 1111 1111")
    assert checked.text == "my card is [card number removed]" and not checked.refused
    assert checked.answers == [texts.render("utter_no_card_numbers", {})]


def test_lone_surrogates_control_and_format_characters_are_stripped():
    checked = door.check_message("hi\ud800 the\x00re\x1b[31m\u0085\u200b\u202e\nok\tthen é 👋")
    assert checked.text == "hi there[31m\nok\tthen é 👋"
    checked.text.encode("utf-8")  # storable and sendable as UTF-8


@pytest.mark.parametrize("text", ["", " ", "\t\n", "\u3000", "\x85", "\u200b\u200c\u200d\ufeff", "\ud800 \x00"])
def test_a_blank_message_goes_no_further_and_gets_no_answer(text):
    """Rasa's NLU raises on a message without any text, and "\u200b" alone would read as "yes"."""
    assert door.check_message(text) == door.Checked("", refused=True)


def test_the_client_address_is_set_by_the_server_only():
    assert door.with_client({"client": "forged", "auth_token": "t"}, "10.0.0.7") == {"client": "10.0.0.7", "auth_token": "t"}
    assert door.with_client({}, None) == {"client": "unknown"}


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_the_door_answers_in_the_pages_language(language):
    too_long = door.check_message("word " * 401, page_language=language)
    assert too_long.answers == [texts.render("utter_message_too_long", {}, language=language)]
    card = door.check_message("4111 1111 1111 1111", page_language=language)
    assert card.answers == [texts.render("utter_no_card_numbers", {}, language=language)]


@pytest.mark.parametrize("text, starts", [
    ("mijn kaartnummer is 4111 1111 1111 1111, kunt u daarmee mijn factuur betalen?", "Typ nooit uw kaartnummer"),
    ("mon numéro de carte est 4111 1111 1111 1111, pouvez-vous payer ma facture avec?", "Ne tapez jamais votre numéro"),
])
def test_without_a_page_language_the_door_answers_in_the_messages_own(text, starts):
    assert door.check_message(text).answers[0].startswith(starts)


def test_a_language_settle_does_not_speak_is_answered_in_english():
    assert door.check_message("4111 1111 1111 1111", page_language="de").answers == [texts.render("utter_no_card_numbers", {})]


def test_the_page_language_is_read_from_the_metadata_only_when_it_is_an_object():
    assert door.page_language({"language": "fr"}) == "fr"
    assert door.page_language(["fr"]) is None and door.page_language(None) is None
