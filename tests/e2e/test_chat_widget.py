"""The chat widget in headless Chromium against the real stack, seen as a customer sees it."""
from __future__ import annotations

import requests
from playwright.sync_api import Page, expect

from settle.identity import conversations
from settle.identity.verification import issue_app_token
from settle.tooling.seed import PERSONAS
from tests.conftest import NOW
from tests.e2e.conftest import APP_TOKEN_SECRET, CONVERSATION_KEY, RASA_API_TOKEN

EMMA = next(p for p in PERSONAS if p.shape == "usage_up")
OLIVIA = next(p for p in PERSONAS if p.shape == "price_up")
ASKS_CUSTOMER_NUMBER = "What is your customer number?"


def open_chat_with_the_keyboard(page: Page, url: str, launcher_name: str = "Chat with us", box_label: str = "Your message"):
    """Opens the widget as a keyboard user would; the names are the page language's (English by default)."""
    page.goto(url)
    launcher = page.get_by_role("button", name=launcher_name)
    launcher.focus()
    page.keyboard.press("Enter")
    expect(launcher).to_have_attribute("aria-expanded", "true")
    return message_box(page, box_label)


def message_box(page: Page, label: str = "Your message"):
    box = page.get_by_label(label)
    expect(box).to_be_enabled()  # connected, and the conversation is confirmed
    return box


def say(page: Page, text: str, box_label: str = "Your message") -> None:
    box = message_box(page, box_label)
    box.fill(text)
    box.press("Enter")


def chat_log(page: Page):
    return page.get_by_role("log")


def session_id(page: Page) -> str:
    return page.evaluate("JSON.parse(localStorage.getItem('settle-chat:session'))")


def test_opened_with_the_keyboard_settle_greets_and_escape_closes(stack, page):
    box = open_chat_with_the_keyboard(page, f"{stack.web_url}/chat")
    expect(box).to_be_focused()
    log = chat_log(page)
    expect(log).to_have_attribute("aria-live", "polite")

    say(page, "hello")
    expect(log).to_contain_text("You said: hello")
    expect(log).to_contain_text("Settle said: Hi, I'm Settle, the billing assistant.")
    expect(box).to_have_value("")

    page.keyboard.press("Escape")
    launcher = page.get_by_role("button", name="Chat with us")
    expect(log).to_be_hidden()
    expect(launcher).to_have_attribute("aria-expanded", "false")
    expect(launcher).to_be_focused()


def test_a_payment_link_is_clickable_and_the_conversation_survives_a_reload(stack, page):
    open_chat_with_the_keyboard(page, f"{stack.web_url}/chat")
    log = chat_log(page)
    say(page, "I want to pay my bill")
    expect(log).to_contain_text(ASKS_CUSTOMER_NUMBER)
    say(page, EMMA.customer_number)
    expect(log).to_contain_text("What is the postcode")
    say(page, EMMA.postcode)
    expect(log).to_contain_text("date of birth")
    say(page, EMMA.date_of_birth.strftime("%d/%m/%Y"))

    link = log.get_by_role("link", name="/pay/")
    expect(link).to_be_visible()
    href = link.get_attribute("href")
    assert href.startswith(f"{stack.web_url}/pay/") and href == link.inner_text(), href
    assert not href.endswith((".", ",")), href
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    with page.context.expect_page() as opened:
        link.click()
    payment_page = opened.value
    payment_page.wait_for_load_state()
    expect(payment_page.locator("#amount-to-pay")).to_contain_text("€")
    payment_page.close()

    conversation = session_id(page)
    page.reload()
    log = chat_log(page)
    expect(log).to_be_visible()  # the panel stays open as the customer left it
    expect(log).to_contain_text("You said: I want to pay my bill")
    expect(log.get_by_role("link", name="/pay/")).to_be_visible()

    say(page, "what is my balance")
    expect(log).to_contain_text("In total you have")
    assert session_id(page) == conversation
    assert log.inner_text().count(ASKS_CUSTOMER_NUMBER) == 1  # verified once, before the reload


def test_buttons_are_real_buttons_and_a_click_answers(stack, page):
    open_chat_with_the_keyboard(page, f"{stack.web_url}/chat")
    log = chat_log(page)
    say(page, "can I pay it in 2 months?")
    expect(log).to_contain_text(ASKS_CUSTOMER_NUMBER)
    say(page, OLIVIA.customer_number)  # no other test changes Olivia's bills (Marie's get disputed over REST)
    expect(log).to_contain_text("What is the postcode")
    say(page, OLIVIA.postcode)
    expect(log).to_contain_text("date of birth")
    say(page, OLIVIA.date_of_birth.strftime("%d/%m/%Y"))
    expect(log).to_contain_text("first part")
    say(page, "tomorrow")
    expect(log).to_contain_text("Shall I set this up?")

    choices = log.get_by_role("group", name="Suggested answers")
    expect(choices.get_by_role("button")).to_have_count(2)
    choices.get_by_role("button", name="No, not now").click()
    expect(log).to_contain_text("You said: No, not now")
    expect(log).to_contain_text("I haven't set up a plan")
    expect(choices).to_have_count(0)
    expect(page.get_by_label("Your message")).to_be_focused()


def test_a_message_settle_sends_unasked_arrives_and_the_launcher_says_so(stack, page):
    open_chat_with_the_keyboard(page, f"{stack.web_url}/chat")
    say(page, "hello")
    expect(chat_log(page)).to_contain_text("Hi, I'm Settle")
    page.keyboard.press("Escape")

    # What the agents' console and the reminder engine do: speak into the conversation through Rasa's API.
    reply = requests.post(
        f"{stack.rasa_url}/conversations/{session_id(page)}/execute",
        params={"token": RASA_API_TOKEN, "output_channel": "latest"},
        json={"name": "utter_how_can_i_help"},
        timeout=30,
    )
    reply.raise_for_status()
    launcher = page.get_by_role("button", name="Chat with us (new message)")
    expect(launcher).to_be_visible()
    launcher.click()
    expect(chat_log(page)).to_contain_text("You can ask what you owe")


def test_an_app_token_in_the_fragment_verifies_without_questions(stack, page):
    token = issue_app_token(OLIVIA.customer_number, APP_TOKEN_SECRET, NOW)
    page.goto(f"{stack.web_url}/chat#token={token}")
    log = chat_log(page)
    expect(log).to_be_visible()  # an app's web view opens straight into the chat

    say(page, "how much do I owe?")
    expect(log).to_contain_text("In total you have")
    expect(log).not_to_contain_text(ASKS_CUSTOMER_NUMBER)


def test_a_socket_only_joins_and_writes_into_conversations_the_server_issued(stack, page):
    """Rasa's own channel lets a client name any conversation id; ours issues them and keeps sockets to theirs."""
    page.goto(f"{stack.web_url}/chat")
    message_box(page)  # the vendored client is loaded
    someone_elses = session_id(page)
    outcome = page.evaluate(
        """([url, someoneElses]) => new Promise((resolve) => {
            const socket = io(url, {transports: ["websocket"], path: "/socket.io"});
            socket.on("connect", () => socket.emit("session_request", {session_id: "50000017"}));
            socket.on("session_confirm", (mine) => {
                socket.emit("user_uttered", {message: "how much do I owe?", session_id: someoneElses});
                socket.emit("user_uttered", {message: "hello", session_id: mine});
                socket.on("bot_uttered", () => { socket.close(); resolve(mine); });
            });
        })""",
        [stack.rasa_url, someone_elses],
    )
    assert outcome != "50000017" and conversations.is_issued(CONVERSATION_KEY, outcome), outcome  # a new, signed one
    assert not any("customer number" in text for text in stack.bot_said(someone_elses))
