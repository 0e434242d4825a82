"""In the chat widget, a person from the team is visibly a person: their name, a style of its own, and read out
as "<name> from our team said:", not "Settle said:". Real Chromium; Rasa's socket.io channel is a local fake
speaking through Settle's own output channel (the live takeover with the real Rasa is in test_agent_takeover)."""
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
    database_url = seeded_sqlite(tmp_path_factory.mktemp("widget") / "settle.db", customers=0)
    yield from serve(web_settings(database_url, chat_socket_url=rasa_socket.url))


def test_an_agents_message_shows_their_name_looks_different_and_is_announced_as_theirs(web, rasa_socket, page):
    rasa_socket.replies = [("Sam from our team has joined the chat.", None), ("Hello, I'm Sam. How can I help?", "Sam")]
    open_chat_with_the_keyboard(page, f"{web.url}/chat")
    say(page, "is someone there?")
    log = chat_log(page)

    agent = log.locator(".settle-chat-agent")
    expect(agent).to_have_count(1)
    expect(agent).to_contain_text("Hello, I'm Sam. How can I help?")
    expect(agent.locator(".settle-chat-from")).to_have_text("Sam · our team")
    expect(agent.locator(".settle-chat-vh")).to_have_text("Sam from our team said: ")
    assert "Settle said" not in agent.inner_text()
    bot = log.locator(".settle-chat-bot")
    expect(bot).to_have_count(1)
    expect(bot.locator(".settle-chat-vh")).to_have_text("Settle said: ")
    looks = page.evaluate("""() => ['.settle-chat-agent', '.settle-chat-bot'].map(selector => {
        const style = getComputedStyle(document.querySelector(selector));
        return style.backgroundColor + ' ' + style.borderLeftColor + ' ' + style.borderLeftWidth;
    })""")
    assert looks[0] != looks[1]

    page.reload()  # the conversation comes back from the browser's storage (open, as left): still a person's message
    expect(chat_log(page).locator(".settle-chat-agent .settle-chat-from")).to_have_text("Sam · our team")
