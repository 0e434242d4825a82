"""A person takes over a live chat: the customer's widget and the agent console side by side in headless
Chromium, against the real Rasa server, action server and web app."""
from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from settle.db import session_factory
from settle.models import Escalation
from settle.tooling.seed import DEMO_AGENT_EMAIL, DEMO_AGENT_NAME, DEMO_AGENT_PASSWORD
from tests.e2e.test_chat_widget import chat_log, open_chat_with_the_keyboard, say, session_id

BOT_LINE = "Settle said:"


@pytest.fixture
def customer(new_page):
    return new_page()


@pytest.fixture
def agent(new_page):
    return new_page()


def log_in(agent: Page, web_url: str) -> None:
    agent.goto(f"{web_url}/agent")
    expect(agent).to_have_url(re.compile(r"/agent/login"))
    agent.get_by_label("E-mail address").fill(DEMO_AGENT_EMAIL)
    agent.get_by_label("Password").fill(DEMO_AGENT_PASSWORD)
    agent.get_by_role("button", name="Log in").click()
    expect(agent.get_by_role("heading", name="Conversations")).to_be_visible()


def escalation_of(stack, conversation_id: str) -> int:
    with session_factory(stack.database_url).begin() as session:
        return session.execute(
            select(Escalation.id).where(Escalation.conversation_id == conversation_id).order_by(Escalation.id.desc()).limit(1)
        ).scalar_one()


def test_an_agent_takes_over_the_chat_replies_and_hands_it_back(stack, customer, agent):
    log_in(agent, stack.web_url)  # the queue is open before the customer asks: it must update by itself

    open_chat_with_the_keyboard(customer, f"{stack.web_url}/chat")
    say(customer, "I want to talk to a person")
    log = chat_log(customer)
    expect(log).to_contain_text("I've asked a person from our team to join this chat")
    expect(log).to_contain_text(re.compile(r"about \d+ minutes"))
    escalation_id = escalation_of(stack, session_id(customer))

    row_link = agent.locator(f'a[href="/agent/conversations/{escalation_id}"]')
    expect(row_link).to_be_visible()  # appeared without a reload
    row_link.click()
    expect(agent.get_by_role("heading", name="Asked for a person")).to_be_visible()
    expect(agent.locator(".transcript")).to_contain_text("I want to talk to a person")
    expect(agent.locator("#while-waiting")).to_contain_text("I've asked a person from our team to join this chat")
    agent.get_by_role("button", name="Take this conversation").click()

    expect(log).to_contain_text(f"{DEMO_AGENT_NAME} from our team has joined the chat.")

    agent.get_by_label("Internal note (the customer never sees it)").fill("Sounds in a hurry; keep it short.")
    agent.get_by_role("button", name="Add note").click()
    expect(agent.locator("#messages")).to_contain_text("Sounds in a hurry")

    reply = "Hello, I'm Sam. How can I help you today?"
    agent.get_by_label("Message to the customer").fill(reply)
    sent_at = time.monotonic()
    agent.get_by_role("button", name="Send to the customer").click()
    expect(log).to_contain_text(reply)
    from_the_agent = log.locator(".settle-chat-agent", has_text=reply)  # visibly a person's message
    expect(from_the_agent).to_have_count(1)
    expect(from_the_agent.locator(".settle-chat-vh")).to_have_text(f"{DEMO_AGENT_NAME} from our team said: ")
    print(f"\nagent send → customer's screen: {(time.monotonic() - sent_at) * 1000:.0f} ms")
    expect(log).not_to_contain_text("Sounds in a hurry")  # the note went out before the reply, so it never will

    bot_lines_before = log.get_by_text(BOT_LINE).count()
    say(customer, "what is my balance")
    expect(agent.locator("#messages")).to_contain_text("what is my balance")  # reached the agent, not the bot
    customer.wait_for_timeout(1000)  # a bot answer would be on its way by now: the turn has ended
    assert log.get_by_text(BOT_LINE).count() == bot_lines_before
    expect(log).not_to_contain_text("customer number")  # the bot did not start verifying

    agent.get_by_role("button", name="Hand back to the bot").click()
    expect(log).to_contain_text(f"{DEMO_AGENT_NAME} has left the chat. You're talking to Settle, the assistant, again")

    say(customer, "hello")
    expect(log).to_contain_text("Hi, I'm Settle, the billing assistant.")
    agent.goto(f"{stack.web_url}/agent?view=closed")
    expect(agent.locator(f'tr[data-escalation="{escalation_id}"]')).to_contain_text("Back with the bot")
