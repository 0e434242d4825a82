"""The checks both customer channels make before a message reaches Rasa (channels/door.py)."""
from __future__ import annotations

import pytest

from channels import door
from settle.outreach import texts


def test_a_message_over_2000_characters_is_refused_politely():
    checked = door.check_message("word " * 401)
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
