"""The widget tells Settle the page's language with every message, so Settle answers in it; without one, Settle
follows what the customer types. Real Chromium; Rasa's socket.io channel is a local fake that keeps what it heard."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.conftest import seeded_sqlite
from tests.e2e.test_chat_widget import chat_log, open_chat_with_the_keyboard, say
from tests.fakes.rasa_socket import running_fake_rasa_socket
from tests.web.conftest import serve, web_settings


@pytest.fixture(scope="module")
def rasa_socket():
    with running_fake_rasa_socket() as fake:
        yield fake


@pytest.fixture(scope="module")
def web(tmp_path_factory, rasa_socket):
    database_url = seeded_sqlite(tmp_path_factory.mktemp("widget-language") / "settle.db", customers=0)
    yield from serve(web_settings(database_url, chat_socket_url=rasa_socket.url))


#: The widget's own words in the page's language: its launcher and its message box.
WIDGET_WORDS = {"fr": ("Discutez avec nous", "Votre message"), "nl": ("Chat met ons", "Uw bericht"),
                None: ("Chat with us", "Your message")}


@pytest.mark.parametrize(("address", "sent"), [("/chat?language=fr", "fr"), ("/chat?language=nl-BE", "nl"), ("/chat", None)])
def test_the_pages_language_goes_with_every_message(web, rasa_socket, page, address, sent):
    rasa_socket.replies = [("Noted.", None)]
    rasa_socket.metadata.clear()
    launcher_name, box_label = WIDGET_WORDS[sent]
    open_chat_with_the_keyboard(page, f"{web.url}{address}", launcher_name, box_label)
    say(page, "bonjour", box_label)
    expect(chat_log(page).locator(".settle-chat-bot")).to_have_count(1)
    say(page, "combien je dois payer ?", box_label)
    expect(chat_log(page).locator(".settle-chat-bot")).to_have_count(2)
    assert [metadata.get("language") for metadata in rasa_socket.metadata] == [sent, sent]
