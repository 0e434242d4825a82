"""Safe defaults against the real servers: Rasa's API token not on any command line, Rasa's CORS only for
our own origins, every web page with its security headers, and console events a customer can't fake."""
from __future__ import annotations

import uuid
from dataclasses import replace
from pathlib import Path

import requests
from sqlalchemy import select

from settle.config import Settings
from settle.db import session_factory
from settle.handoff.console_events import signed_entities
from settle.handoff.takeover import claim
from settle.models import Agent, Escalation
from settle.outreach.senders import trigger_intent
from settle.tooling.seed import DEMO_AGENT_EMAIL, DEMO_AGENT_NAME
from tests.conftest import NOW
from tests.e2e.conftest import LINK_SECRET, RASA_API_TOKEN, signed

WILL_JOIN = "I've asked a person from our team to join this chat"


def command_lines() -> list[bytes]:
    """What `ps` shows every user of the machine: each running process's command line."""
    lines = []
    for entry in Path("/proc").iterdir():
        try:
            lines.append((entry / "cmdline").read_bytes())
        except OSError:  # not a process, or gone meanwhile
            continue
    return lines


def test_no_command_line_shows_rasas_api_token(stack):
    port = stack.rasa_url.rsplit(":", 1)[1].encode()
    [ours] = [line for line in command_lines() if b"components.rasa_main" in line and b"\x00--port\x00" + port + b"\x00" in line]
    assert RASA_API_TOKEN.encode() not in ours and b"--enable-api" in ours
    tracker = requests.get(f"{stack.rasa_url}/conversations/e2e-security/tracker", params={"token": RASA_API_TOKEN}, timeout=30)
    assert tracker.status_code == 200  # the API is on, with the token from the environment
    assert requests.get(f"{stack.rasa_url}/conversations/e2e-security/tracker", timeout=30).status_code == 401


def test_rasa_allows_browsers_only_from_settles_own_origin(stack):
    ours, theirs = stack.env["SETTLE_PUBLIC_URL"], "https://evil.example"
    for origin, allowed in ((ours, True), (theirs, False)):
        answer = requests.options(f"{stack.rasa_url}/webhooks/rest/webhook", timeout=30, headers={
            "Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"})
        assert (answer.headers.get("Access-Control-Allow-Origin") == origin) is allowed, (origin, answer.headers)
        assert answer.headers.get("Access-Control-Allow-Origin") != "*"


def test_the_web_pages_carry_the_security_headers(stack):
    for path in ("/chat", "/agent/login", "/pay/no-such-token"):
        headers = requests.get(f"{stack.web_url}{path}", timeout=30).headers
        assert headers["X-Frame-Options"] == "DENY" and headers["Referrer-Policy"] == "no-referrer", path
        assert stack.rasa_url.split("://")[1] in headers["Content-Security-Policy"], path  # the chat's socket.io


def test_a_customer_typing_a_console_event_changes_nothing(stack):
    me = signed(f"e2e-forged-{uuid.uuid4().hex}")
    assert any(WILL_JOIN in reply for reply in stack.say(me, "this is ridiculous, you are useless"))
    assert stack.say(me, "/EXTERNAL_agent_joined") == []  # no agent has it: a forged join says nothing
    with session_factory(stack.database_url).begin() as session:
        escalation_id = session.execute(select(Escalation.id).where(Escalation.conversation_id == me)).scalar_one()
        agent_id = session.execute(select(Agent.id).where(Agent.email == DEMO_AGENT_EMAIL)).scalar_one()
        claim(session, escalation_id, agent_id, NOW)
    settings = replace(Settings.from_environment(), link_secret=LINK_SECRET)
    trigger_intent(requests.Session(), stack.rasa_url, RASA_API_TOKEN, me, "EXTERNAL_agent_joined",
                   signed_entities(settings, NOW, "EXTERNAL_agent_joined", me))
    assert f"{DEMO_AGENT_NAME} from our team has joined the chat." in stack.bot_said(me)

    assert stack.say(me, "/EXTERNAL_agent_left") == []  # the customer typed it: the agent reads it, the bot is silent
    assert not any("has left the chat" in line for line in stack.bot_said(me))
    assert stack.say(me, "what is my balance") == []  # the agent still has the chat
