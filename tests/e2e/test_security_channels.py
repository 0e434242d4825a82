"""Attacks on the doors, against the real servers: the action server without its token, conversation ids
nobody issued (socket.io and REST), malformed bodies, a message long enough to stall Rasa, a card number."""
from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

import requests
import socketio

from settle.identity import conversations
from settle.identity.verification import issue_app_token
from settle.outreach import texts
from settle.tooling.seed import PERSONAS
from tests.conftest import NOW
from tests.e2e.conftest import ACTION_TOKEN, APP_TOKEN_SECRET, CONVERSATION_KEY, RASA_API_TOKEN, signed

TOO_LONG = texts.render("utter_message_too_long", {})
NO_CARDS = texts.render("utter_no_card_numbers", {})
EMMA = PERSONAS[0]


class ChatSocket:
    """A socket.io client as the widget is one: asks for a conversation, says things, collects what comes back."""

    def __init__(self) -> None:
        self.client = socketio.AsyncClient(reconnection=False)
        self.session_id: str | None = None
        self.received: list[dict] = []
        self._confirmed = asyncio.Event()
        self.client.on("session_confirm", self._confirm)
        self.client.on("bot_uttered", self.received.append)

    async def _confirm(self, session_id) -> None:
        self.session_id = session_id
        self._confirmed.set()

    async def emit(self, event: str, data) -> None:
        await self.client.emit(event, data)

    async def say(self, text, **extra) -> None:
        await self.emit("user_uttered", {"message": text, "session_id": self.session_id, "customData": {}, **extra})

    async def replies(self, at_least: int = 1, within: float = 30) -> list[str]:
        deadline = time.monotonic() + within
        while len(self.received) < at_least and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # whatever else belongs to the same turn
        return [message.get("text") or "" for message in self.received]


@asynccontextmanager
async def chat_socket(rasa_url: str, asked: object = None):
    chat = ChatSocket()
    # Long polling: the websocket transport of this python-engineio needs a newer aiohttp than Rasa allows.
    await chat.client.connect(rasa_url, transports=["polling"], socketio_path="/socket.io")
    try:
        await chat.emit("session_request", {"session_id": asked})
        await asyncio.wait_for(chat._confirmed.wait(), 20)
        yield chat
    finally:  # without waiting for the long poll in flight to end (up to the 25 s ping interval)
        await chat.client.eio.disconnect(abort=True)


def run(coroutine):
    """Runs a socket scenario in a thread of its own: the browser tests' Playwright keeps an event loop
    running in this one."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, coroutine).result()


def rest(stack, body, raw: bytes | None = None) -> requests.Response:
    url = f"{stack.rasa_url}/webhooks/rest/webhook"
    if raw is not None:
        return requests.post(url, data=raw, headers={"Content-Type": "application/json"}, timeout=30)
    return requests.post(url, json=body, timeout=30)


def tracker(stack, sender: str) -> dict:
    answer = requests.get(f"{stack.rasa_url}/conversations/{sender}/tracker", params={"token": RASA_API_TOKEN}, timeout=30)
    answer.raise_for_status()
    return answer.json()


def test_a_forged_call_to_the_action_server_gets_nothing(stack):
    """Someone on the network posts a made-up tracker that says "verified": no account data without the token."""
    call = {
        "next_action": "action_tell_balance", "sender_id": "attacker", "version": "3.6.2",
        "tracker": {"sender_id": "attacker", "slots": {"verification": "verified", "verified_customer_id": "1"},
                    "latest_message": {"text": "how much do I owe?", "intent": {"name": "ask_balance"}},
                    "events": [], "active_loop": {}},
        "domain": {},
    }
    for headers in ({}, {"Authorization": "Bearer guessed"}, {"Authorization": ACTION_TOKEN}):
        answer = requests.post(f"{stack.actions_url}/webhook", json=call, headers=headers, timeout=30)
        print("forged action call", headers, "->", answer.status_code, answer.text[:80])
        assert answer.status_code in (401, 403) and "€" not in answer.text and "responses" not in answer.text
    assert requests.get(f"{stack.actions_url}/actions", timeout=30).status_code == 401
    assert requests.get(f"{stack.actions_url}/health", timeout=30).status_code == 200
    # Rasa itself has the token: a real conversation still reaches the actions.
    assert any("customer number" in reply for reply in stack.say("e2e-sec-actions-reached", "how much do I owe?"))


def test_an_unsigned_or_forged_socket_session_gets_a_new_conversation(stack):
    async def scenario():
        results = {}
        for asked in ("0123456789abcdef0123456789abcdef", "e2e-victim.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "50000017", None, {"x": 1}):
            async with chat_socket(stack.rasa_url, asked) as chat:
                results[str(asked)] = chat.session_id
        issued = signed("e2e-sec-socket-kept")
        async with chat_socket(stack.rasa_url, issued) as chat:
            results["issued"] = chat.session_id
            await chat.say("hello")
            replies = await chat.replies()
        return results, issued, replies

    results, issued, replies = run(scenario())
    print("socket sessions:", results)
    for asked, given in results.items():
        if asked != "issued":
            assert given != asked and conversations.is_issued(CONVERSATION_KEY, given)
    assert len({given for asked, given in results.items() if asked != "issued"}) == 5  # each a new one
    assert results["issued"] == issued and replies  # an id Settle issued is kept, and answered
    assert tracker(stack, issued)["latest_message"]["metadata"]["client"] == "127.0.0.1"


def test_rest_takes_only_issued_senders_or_a_valid_app_token(stack):
    for sender in ("me", "e2e-victim.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "0123456789abcdef0123456789abcdef"):
        answer = rest(stack, {"sender": sender, "message": "hi"})
        print("unsigned REST sender", sender, "->", answer.status_code, answer.text)
        assert answer.status_code == 403 and "error" in answer.json()
    assert rest(stack, {"sender": "me", "message": "hi", "metadata": {"auth_token": "not.a.token"}}).status_code == 403

    issued = requests.post(f"{stack.web_url}/chat/conversations", timeout=30).json()["sender"]
    answer = rest(stack, {"sender": issued, "message": "hi"})
    assert answer.status_code == 200 and answer.json()
    assert tracker(stack, issued)["latest_message"]["metadata"]["client"] == "127.0.0.1"

    token = issue_app_token(EMMA.customer_number, APP_TOKEN_SECRET, NOW)
    answer = rest(stack, {"sender": "e2e-sec-app-own-id", "message": "how much do I owe?", "metadata": {"auth_token": token}})
    assert answer.status_code == 200 and any("€" in message.get("text", "") for message in answer.json()), answer.text


def test_malformed_bodies_get_400_with_a_short_message(stack):
    sender = signed("e2e-sec-malformed")
    malformed = [
        ([], None), ("hello", None), (None, b"{not json"), (None, b"\xff\xfe"), ({"sender": sender}, None),
        ({"sender": sender, "message": 5}, None), ({"sender": sender, "message": ["hi"]}, None),
        ({"sender": sender, "message": "hi", "metadata": "x"}, None), ({"sender": sender, "message": "hi", "metadata": [1]}, None),
        ({"sender": 12, "message": "hi"}, None), ({"sender": "x" * 5000, "message": "hi"}, None),
    ]
    for body, raw in malformed:
        answer = rest(stack, body, raw)
        print("malformed", repr(raw or body)[:60], "->", answer.status_code, answer.text)
        assert answer.status_code == 400 and set(answer.json()) == {"error"} and len(answer.text) < 200

    surrogate = rest(stack, None, b'{"sender": "' + sender.encode() + b'", "message": "hi \\ud800 there\\u0000"}')
    assert surrogate.status_code == 200
    assert tracker(stack, sender)["latest_message"]["text"] == "hi  there"


def test_a_huge_message_is_refused_at_once_and_delays_no_one(stack):
    huge, other = signed("e2e-sec-huge"), signed("e2e-sec-meanwhile")
    rest(stack, {"sender": other, "message": "hello"})  # warm: the conversation exists
    timings: dict[str, float] = {}
    replies: dict[str, list] = {}

    def send(name: str, sender: str, text: str) -> None:
        started = time.perf_counter()
        answer = rest(stack, {"sender": sender, "message": text})
        timings[name] = time.perf_counter() - started
        replies[name] = [message.get("text") for message in answer.json()]

    threads = [threading.Thread(target=send, args=("8,000 words", huge, "please read all of this " * 1600)),
               threading.Thread(target=send, args=("parallel hi", other, "hi"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print("timings:", {name: f"{seconds * 1000:.0f} ms" for name, seconds in timings.items()})
    assert replies["8,000 words"] == [TOO_LONG] and timings["8,000 words"] < 0.5
    assert replies["parallel hi"] and timings["parallel hi"] < 5
    assert not any(event["event"] == "user" for event in tracker(stack, huge)["events"])  # never reached Rasa

    async def over_the_socket():
        async with chat_socket(stack.rasa_url) as chat:
            started = time.perf_counter()
            await chat.say("please read all of this " * 1600)
            said = await chat.replies()
            return said, time.perf_counter() - started, chat.session_id

    said, seconds, session_id = run(over_the_socket())
    print(f"socket: refused in {seconds * 1000:.0f} ms (incl. 300 ms settle time)")
    assert said == [TOO_LONG]
    assert not any(event["event"] == "user" for event in tracker(stack, session_id)["events"])


def test_a_card_number_is_warned_about_and_never_stored(stack):
    sender = signed("e2e-sec-card")
    replies = stack.say(sender, "my card is 4111 1111 1111 1111")
    assert replies[0] == NO_CARDS
    again = stack.say(sender, "4111-1111-1111-1111 please take it")
    assert again[0] == NO_CARDS  # every time

    async def over_the_socket():
        async with chat_socket(stack.rasa_url) as chat:
            await chat.say("card 5500 0000 0000 0004")
            return await chat.replies(), chat.session_id

    socket_replies, session_id = run(over_the_socket())
    assert socket_replies[0] == NO_CARDS
    for conversation in (sender, session_id):
        stored = json.dumps(tracker(stack, conversation))
        assert "[card number removed]" in stored
        compact = re.sub(r"[\s-]", "", stored)
        assert "4111111111111111" not in compact and "5500000000000004" not in compact
