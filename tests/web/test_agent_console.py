"""The agent console over real HTTP: login, CSRF, the queue, claiming, replies, notes and hand-back.

Rasa is a local fake of its HTTP API here (the browser end-to-end test uses the real one), so the
tests can see exactly which external intents the console triggers, with which token.
"""
from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
import requests
from sqlalchemy import select

from settle.db import session_factory
from settle.handoff.agents import create_agent
from settle.handoff.console_events import is_genuine
from settle.handoff.escalations import escalate
from settle.handoff.office_hours import OfficeHours
from settle.handoff.takeover import hand_over, request_callback
from settle.models import Agent, Customer, Escalation, EscalationMessage, VerificationFailure, VerificationLockout
from settle.tooling.seed import DEMO_AGENT_EMAIL, DEMO_AGENT_PASSWORD, PERSONAS
from tests.conftest import NOW, seeded_sqlite
from tests.fakes.rasa import running_fake_rasa
from tests.web.conftest import serve, web_settings

RASA_TOKEN = "console-test-rasa-token"
OTHER_EMAIL, OTHER_PASSWORD = "robin@settle.example", "robin-password-1"
ALWAYS_OPEN = OfficeHours.parse("Mon-Sun 00:00-24:00", "Europe/Brussels")
LUCAS = next(p for p in PERSONAS if p.shape == "overdue")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="module")
def rasa():
    with running_fake_rasa(RASA_TOKEN) as fake:
        yield fake


@pytest.fixture(scope="module")
def console(tmp_path_factory, rasa):
    database_url = seeded_sqlite(tmp_path_factory.mktemp("console") / "settle.db")
    with session_factory(database_url).begin() as session:
        create_agent(session, OTHER_EMAIL, "Robin", OTHER_PASSWORD, NOW)
    yield from serve(web_settings(database_url, rasa_url=rasa.url, rasa_api_token=RASA_TOKEN))


@pytest.fixture(autouse=True)
def forget_triggers(rasa):
    rasa.triggered.clear()


def queue_conversation(console, conversation_id: str, reason: str = "asked", customer_number: str | None = LUCAS.customer_number,
                       minutes_ago: int = 0) -> int:
    """A conversation handed over by the bot, as action_hand_over does it."""
    with session_factory(console.settings.database_url).begin() as session:
        customer_id = None
        if customer_number:
            customer_id = session.execute(select(Customer.id).where(Customer.customer_number == customer_number)).scalar_one()
        transcript = [{"who": "customer", "text": "I want to talk to a person", "at": NOW.isoformat()}]
        result = hand_over(session, reason, conversation_id, customer_id, transcript, ["check_balance"], ALWAYS_OPEN, 4,
                           NOW - timedelta(minutes=minutes_ago))
        return result.escalation_id


def csrf_of(client: requests.Session, url: str) -> str:
    return CSRF.search(client.get(url, timeout=10).text).group(1)


def logged_in(console, email: str = DEMO_AGENT_EMAIL, password: str = DEMO_AGENT_PASSWORD) -> requests.Session:
    client = requests.Session()
    token = csrf_of(client, f"{console.url}/agent/login")
    answer = client.post(f"{console.url}/agent/login", data={"email": email, "password": password, "csrf_token": token},
                         allow_redirects=False, timeout=10)
    assert answer.status_code == 303, answer.text
    return client


def post(client: requests.Session, console, path: str, **data) -> requests.Response:
    """A console form, sent with the CSRF token of the page it is on."""
    page = f"{console.url}/agent/conversations/{path.split('/')[3]}" if path.startswith("/agent/conversations/") else f"{console.url}/agent"
    return client.post(f"{console.url}{path}", data={"csrf_token": csrf_of(client, page), **data}, allow_redirects=False, timeout=10)


def stored_messages(console, escalation_id: int) -> list[tuple[str, str, bool]]:
    with session_factory(console.settings.database_url).begin() as session:
        rows = session.execute(
            select(EscalationMessage).where(EscalationMessage.escalation_id == escalation_id).order_by(EscalationMessage.id)
        ).scalars()
        return [(m.author, m.text, m.delivered_at is not None) for m in rows]


# No way in without logging in


@pytest.mark.parametrize("path", ["/agent", "/agent?view=closed", "/agent/conversations/1"])
def test_pages_send_a_stranger_to_the_login(console, path):
    queue_conversation(console, "stranger-1")
    answer = requests.get(f"{console.url}{path}", allow_redirects=False, timeout=10)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/agent/login")
    assert LUCAS.first_name not in answer.text


@pytest.mark.parametrize("path", ["/agent/queue", "/agent/conversations/1/messages"])
def test_the_refreshing_parts_refuse_a_stranger(console, path):
    answer = requests.get(f"{console.url}{path}", timeout=10)
    assert answer.status_code == 401
    assert LUCAS.first_name not in answer.text


def test_a_stranger_cannot_claim_reply_or_close_even_with_a_valid_form_token(console, rasa):
    escalation_id = queue_conversation(console, "stranger-2")
    stranger = requests.Session()
    token = csrf_of(stranger, f"{console.url}/agent/login")
    for action, data in (("claim", {}), ("reply", {"text": "hi"}), ("note", {"text": "x"}), ("close", {"outcome": "resolved"})):
        answer = stranger.post(f"{console.url}/agent/conversations/{escalation_id}/{action}", data={"csrf_token": token, **data},
                               allow_redirects=False, timeout=10)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/agent/login"), action
    assert rasa.triggered == []
    assert stored_messages(console, escalation_id) == []


def test_a_wrong_password_or_unknown_e_mail_gets_the_same_polite_refusal(console):
    answers = []
    for email, password in ((DEMO_AGENT_EMAIL, "not-the-password"), ("nobody@settle.example", DEMO_AGENT_PASSWORD)):
        client = requests.Session()
        token = csrf_of(client, f"{console.url}/agent/login")
        answer = client.post(f"{console.url}/agent/login", data={"email": email, "password": password, "csrf_token": token}, timeout=10)
        answers.append(answer)
        assert answer.status_code == 401
        assert "don't match" in html.unescape(answer.text)
        assert client.get(f"{console.url}/agent", allow_redirects=False, timeout=10).status_code == 303  # still out
    refusals = {re.search(r'id="login-error">([^<]+)<', answer.text).group(1) for answer in answers}
    assert len(refusals) == 1  # nothing tells which of the two was wrong


def test_login_without_the_form_token_is_refused(console):
    client = requests.Session()
    client.get(f"{console.url}/agent/login", timeout=10)
    answer = client.post(f"{console.url}/agent/login", data={"email": DEMO_AGENT_EMAIL, "password": DEMO_AGENT_PASSWORD}, timeout=10)
    assert answer.status_code == 403
    assert "expired" in answer.text
    assert client.get(f"{console.url}/agent", allow_redirects=False, timeout=10).status_code == 303


def test_a_form_token_from_another_session_is_refused(console, rasa):
    escalation_id = queue_conversation(console, "csrf-1")
    agent = logged_in(console)
    attacker = requests.Session()
    foreign_token = csrf_of(attacker, f"{console.url}/agent/login")
    answer = agent.post(f"{console.url}/agent/conversations/{escalation_id}/claim", data={"csrf_token": foreign_token}, timeout=10)
    assert answer.status_code == 403
    answer = agent.post(f"{console.url}/agent/conversations/{escalation_id}/claim", timeout=10)
    assert answer.status_code == 403
    assert rasa.triggered == []
    with session_factory(console.settings.database_url).begin() as session:
        assert session.get(Escalation, escalation_id).status == "waiting"


def test_the_session_cookie_is_http_only_and_same_site_strict(console):
    client = requests.Session()
    answer = client.get(f"{console.url}/agent/login", timeout=10)
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie


def test_logout_ends_the_session(console):
    agent = logged_in(console)
    assert agent.get(f"{console.url}/agent", allow_redirects=False, timeout=10).status_code == 200
    assert post(agent, console, "/agent/logout").status_code == 303
    assert agent.get(f"{console.url}/agent", allow_redirects=False, timeout=10).status_code == 303


def test_login_never_redirects_outside_the_console(console):
    client = requests.Session()
    token = csrf_of(client, f"{console.url}/agent/login?next=//evil.example")
    answer = client.post(f"{console.url}/agent/login", allow_redirects=False, timeout=10, data={
        "email": DEMO_AGENT_EMAIL, "password": DEMO_AGENT_PASSWORD, "csrf_token": token, "next": "//evil.example/agent"})
    assert answer.headers["location"] == "/agent"


# The queue


def test_the_queue_shows_waiting_conversations_oldest_first_with_reason_and_customer(console):
    newer = queue_conversation(console, "queue-newer", reason="upset", minutes_ago=1)
    older = queue_conversation(console, "queue-older", reason="dispute", customer_number=None, minutes_ago=30)
    agent = logged_in(console)
    page = agent.get(f"{console.url}/agent", timeout=10).text
    assert page.index(f'data-escalation="{older}"') < page.index(f'data-escalation="{newer}"')
    row = re.search(rf'<tr data-escalation="{newer}">(.*?)</tr>', page, re.S).group(1)
    assert "Customer upset" in row and LUCAS.first_name in row and LUCAS.customer_number in row
    assert "Not verified" in re.search(rf'<tr data-escalation="{older}">(.*?)</tr>', page, re.S).group(1)

    only_disputes = agent.get(f"{console.url}/agent/queue", params={"view": "waiting", "reason": "dispute"}, timeout=10).text
    assert f'data-escalation="{older}"' in only_disputes and f'data-escalation="{newer}"' not in only_disputes


def test_the_queue_page_counts_failed_checks_and_paused_conversations_of_the_last_day(console):
    """Lockouts are not queued one by one: agents see how many there were instead."""
    with session_factory(console.settings.database_url).begin() as session:
        session.add_all(
            [VerificationFailure(conversation_id="guessing", source="guessing", customer_number=LUCAS.customer_number,
                                 failed_at=NOW - timedelta(minutes=i)) for i in range(3)]
            + [VerificationFailure(conversation_id="long-ago", source="long-ago", customer_number=LUCAS.customer_number,
                                   failed_at=NOW - timedelta(days=2))]
            + [VerificationLockout(subject="conversation", subject_key="guessing", locked_at=NOW,
                                   locked_until=NOW + timedelta(minutes=15))]
        )
    page = logged_in(console).get(f"{console.url}/agent", timeout=10).text
    header = re.search(r'<p class="verification-failures"[^>]*>(.*?)</p>', page, re.S).group(1)
    assert "Last 24 hours: 3 failed identity checks, 1 conversation paused" in header


def test_the_queue_refreshes_without_a_reload(console):
    agent = logged_in(console)
    page = agent.get(f"{console.url}/agent", timeout=10).text
    assert 'data-refresh="/agent/queue?view=waiting' in page and "/static/console.js" in page
    escalation_id = queue_conversation(console, "queue-live")
    assert f'data-escalation="{escalation_id}"' in agent.get(f"{console.url}/agent/queue?view=waiting", timeout=10).text


def test_the_conversation_shows_transcript_customer_bills_and_why(console):
    escalation_id = queue_conversation(console, "context-1", reason="upset")
    page = logged_in(console).get(f"{console.url}/agent/conversations/{escalation_id}", timeout=10).text
    assert "Customer upset" in page
    assert "I want to talk to a person" in page  # the transcript
    assert "Asked the bot about</dt><dd>what they owe</dd>" in page  # what the bot tried, in words
    assert f"{LUCAS.first_name} " in page and LUCAS.customer_number in page
    assert '<dt>Language</dt><dd id="customer-language">English</dd>' in page  # the language the customer reads
    assert re.search(r"INV-\d{4}-\d{6}", page)  # the bills
    assert "Take this conversation" in page


def rasa_event(kind: str, text: str | None, seconds: int, intent: str | None = None) -> dict:
    """One event of a chat as Rasa's tracker gives it, `seconds` after NOW."""
    event = {"event": kind, "text": text, "timestamp": NOW.timestamp() + seconds}
    if kind == "user":
        event["parse_data"] = {"intent": {"name": intent or "inform"}, "entities": []}
    return event


def test_the_conversation_shows_what_was_said_after_the_hand_over_until_an_agent_joined(console, rasa):
    escalation_id = queue_conversation(console, "after-1")
    rasa.events["after-1"] = [
        rasa_event("user", "hi", -60, "greet"),
        rasa_event("bot", "Hi, I'm Settle.", -59),
        rasa_event("user", "I want to talk to a person", 0, "request_human"),  # the transcript's last line
        rasa_event("bot", "I've asked a person from our team to join this chat.", 1),
        rasa_event("user", "no thanks, i'll wait here in the chat", 30, "deny"),
        rasa_event("user", "my card is 4111 1111 1111 1111", 40),
        rasa_event("user", "/EXTERNAL_agent_joined", 50, "EXTERNAL_agent_joined"),
        rasa_event("bot", "Sam from our team has joined the chat.", 51),
        rasa_event("user", "said to the agent", 60),
    ]
    page = html.unescape(logged_in(console).get(f"{console.url}/agent/conversations/{escalation_id}", timeout=10).text)
    waiting = page[page.index("While waiting for a person"):page.index("With the agent, and notes")]
    assert "I've asked a person from our team to join this chat." in waiting
    assert "no thanks, i'll wait here in the chat" in waiting
    assert "4111" not in page and "[card number removed]" in waiting
    assert "Hi, I'm Settle." not in waiting  # already in the transcript before the hand-over
    assert "has joined" not in waiting and "said to the agent" not in waiting  # the agent's part is kept by Settle
    assert rasa.requests[-1].query == {"include_events": "ALL", "token": RASA_TOKEN}


def test_when_rasa_cannot_tell_the_page_says_so_and_shows_the_rest(console, rasa):
    escalation_id = queue_conversation(console, "after-2")
    rasa.fail_next(503)
    page = html.unescape(logged_in(console).get(f"{console.url}/agent/conversations/{escalation_id}", timeout=10).text)
    assert "can't be loaded just now" in page
    assert "I want to talk to a person" in page


def test_the_context_reads_as_words_euros_and_dates(console):
    with session_factory(console.settings.database_url).begin() as session:
        customer_id = session.execute(select(Customer.id).where(Customer.customer_number == LUCAS.customer_number)).scalar_one()
        escalation_id = escalate(session, "dispute", "context-2", customer_id, {
            "invoice_number": "INV-2026-000021", "amount": "131.44", "due_date": "2026-11-26",
            "dispute_reference": "DSP-0001", "reason": "I was charged twice",
        }, NOW).id
    page = html.unescape(logged_in(console).get(f"{console.url}/agent/conversations/{escalation_id}", timeout=10).text)
    context = page[page.index('id="context-heading"'):page.index("<h3>Customer</h3>")]
    assert "<dt>Amount</dt><dd>€131.44</dd>" in context
    assert "<dt>Due date</dt><dd>26 November 2026</dd>" in context
    assert "<dt>Bill</dt><dd>INV-2026-000021</dd>" in context
    assert "<dt>What the customer says is wrong</dt><dd>“I was charged twice”</dd>" in context
    assert "131.44<" not in context.replace("€131.44", "") and "2026-11-26" not in context
    assert "nothing yet" not in context  # a dispute is not a question to the bot


# Claiming, replying, notes, closing


def test_claim_tells_the_chat_and_a_second_agent_cannot_take_it(console, rasa):
    escalation_id = queue_conversation(console, "claim-1")
    sam, robin = logged_in(console), logged_in(console, OTHER_EMAIL, OTHER_PASSWORD)

    assert post(sam, console, f"/agent/conversations/{escalation_id}/claim").status_code == 303
    [(conversation_id, body)] = rasa.triggered
    assert (conversation_id, body["name"]) == ("claim-1", "EXTERNAL_agent_joined")
    assert is_genuine(console.settings, NOW, "EXTERNAL_agent_joined", "claim-1", body["entities"])  # signed by the console
    request = rasa.requests[-1]
    assert request.query == {"output_channel": "latest", "token": RASA_TOKEN}

    post(robin, console, f"/agent/conversations/{escalation_id}/claim")
    page = robin.get(f"{console.url}/agent/conversations/{escalation_id}", timeout=10).text
    assert "Sam has already taken this conversation." in page
    assert "With an agent · Sam" in page
    assert len(rasa.triggered) == 1
    mine = sam.get(f"{console.url}/agent?view=mine", timeout=10).text
    assert f'data-escalation="{escalation_id}"' in mine
    assert f'data-escalation="{escalation_id}"' not in robin.get(f"{console.url}/agent?view=mine", timeout=10).text


def test_reply_goes_to_the_chat_through_rasa_and_notes_never_do(console, rasa):
    escalation_id = queue_conversation(console, "reply-1")
    sam = logged_in(console)
    post(sam, console, f"/agent/conversations/{escalation_id}/claim")
    post(sam, console, f"/agent/conversations/{escalation_id}/reply", text="Hello, I'm looking at your bill now.")
    post(sam, console, f"/agent/conversations/{escalation_id}/note", text="Customer sounds worried; offer a plan.")

    assert [body["name"] for _, body in rasa.triggered] == ["EXTERNAL_agent_joined", "EXTERNAL_agent_message"]
    assert all("looking at your bill" not in str(body) for _, body in rasa.triggered)  # the text stays in Settle's database
    assert [(author, text) for author, text, _ in stored_messages(console, escalation_id)] == [
        ("agent", "Hello, I'm looking at your bill now."), ("note", "Customer sounds worried; offer a plan.")]
    messages = sam.get(f"{console.url}/agent/conversations/{escalation_id}/messages", timeout=10).text
    assert "Internal note · Sam" in messages and "offer a plan" in messages


def test_the_background_reply_answers_no_content(console, rasa):
    escalation_id = queue_conversation(console, "reply-fetch")
    sam = logged_in(console)
    post(sam, console, f"/agent/conversations/{escalation_id}/claim")
    token = csrf_of(sam, f"{console.url}/agent/conversations/{escalation_id}")
    answer = sam.post(f"{console.url}/agent/conversations/{escalation_id}/reply", data={"csrf_token": token, "text": "One moment"},
                      headers={"X-Requested-With": "fetch"}, timeout=10)
    assert answer.status_code == 204


def test_only_the_agent_who_has_it_can_reply(console, rasa):
    escalation_id = queue_conversation(console, "reply-2")
    sam, robin = logged_in(console), logged_in(console, OTHER_EMAIL, OTHER_PASSWORD)
    post(robin, console, f"/agent/conversations/{escalation_id}/reply", text="Before claiming")
    post(sam, console, f"/agent/conversations/{escalation_id}/claim")
    post(robin, console, f"/agent/conversations/{escalation_id}/reply", text="Not mine")
    assert stored_messages(console, escalation_id) == []
    page = robin.get(f"{console.url}/agent/conversations/{escalation_id}", timeout=10).text
    assert "only the agent who has it can write" in page
    assert 'id="reply-form"' not in page


def test_an_empty_reply_is_refused_politely(console, rasa):
    escalation_id = queue_conversation(console, "reply-empty")
    sam = logged_in(console)
    post(sam, console, f"/agent/conversations/{escalation_id}/claim")
    post(sam, console, f"/agent/conversations/{escalation_id}/reply", text="   ")
    assert "The message is empty." in sam.get(f"{console.url}/agent/conversations/{escalation_id}", timeout=10).text
    assert stored_messages(console, escalation_id) == []


def test_hand_back_tells_the_chat_and_moves_it_to_resolved(console, rasa):
    escalation_id = queue_conversation(console, "back-1")
    sam = logged_in(console)
    post(sam, console, f"/agent/conversations/{escalation_id}/claim")
    post(sam, console, f"/agent/conversations/{escalation_id}/close", outcome="handed_back")
    assert [body["name"] for _, body in rasa.triggered] == ["EXTERNAL_agent_joined", "EXTERNAL_agent_left"]
    assert f'data-escalation="{escalation_id}"' in sam.get(f"{console.url}/agent?view=closed", timeout=10).text
    post(sam, console, f"/agent/conversations/{escalation_id}/close", outcome="resolved")
    assert "already closed" in sam.get(f"{console.url}/agent/conversations/{escalation_id}", timeout=10).text


def test_resolving_a_waiting_conversation_leaves_the_chat_alone(console, rasa):
    escalation_id = queue_conversation(console, "resolve-waiting", reason="dispute")
    sam = logged_in(console)
    post(sam, console, f"/agent/conversations/{escalation_id}/close", outcome="resolved")
    assert rasa.triggered == []
    with session_factory(console.settings.database_url).begin() as session:
        assert session.get(Escalation, escalation_id).status == "resolved"


def test_when_rasa_is_down_the_reply_is_kept_and_the_agent_told(console, rasa):
    escalation_id = queue_conversation(console, "down-1")
    sam = logged_in(console)
    post(sam, console, f"/agent/conversations/{escalation_id}/claim")
    token = csrf_of(sam, f"{console.url}/agent/conversations/{escalation_id}")
    rasa.fail_next(503)  # Rasa fails the reply, not the page read before it
    sam.post(f"{console.url}/agent/conversations/{escalation_id}/reply", data={"csrf_token": token, "text": "Are you still there?"},
             allow_redirects=False, timeout=10)
    page = sam.get(f"{console.url}/agent/conversations/{escalation_id}", timeout=10).text
    assert "could not be reached" in page
    assert "not delivered yet" in page
    assert stored_messages(console, escalation_id) == [("agent", "Are you still there?", False)]


def test_the_rasa_token_never_reaches_the_browser(console):
    escalation_id = queue_conversation(console, "token-1")
    sam = logged_in(console)
    for path in ("/agent", f"/agent/conversations/{escalation_id}", f"/agent/conversations/{escalation_id}/messages",
                 "/agent/queue", "/static/console.js"):
        assert RASA_TOKEN not in sam.get(f"{console.url}{path}", timeout=10).text


def test_an_agent_marks_the_booked_callback_done_once(console):
    escalation_id = queue_conversation(console, "web-callback")
    with session_factory(console.settings.database_url).begin() as session:
        assert request_callback(session, "web-callback", "0470 12 34 56", NOW + timedelta(days=1)) is not None
    client = logged_in(console)
    page = client.get(f"{console.url}/agent/conversations/{escalation_id}", timeout=10).text
    assert "0470123456" in page and "Mark the callback done" in page

    answer = post(client, console, f"/agent/conversations/{escalation_id}/callback-done")
    assert answer.status_code == 303
    page = client.get(f"{console.url}/agent/conversations/{escalation_id}", timeout=10).text
    assert 'id="callback-done"' in page and "Mark the callback done" not in page
    again = post(client, console, f"/agent/conversations/{escalation_id}/callback-done")
    assert again.status_code == 303
    assert "The callback was marked done already." in client.get(f"{console.url}{again.headers['location']}", timeout=10).text
    with session_factory(console.settings.database_url)() as session:
        escalation = session.get(Escalation, escalation_id)
        sam = session.execute(select(Agent.id).where(Agent.email == DEMO_AGENT_EMAIL)).scalar_one()
        assert (escalation.callback_done_at, escalation.callback_done_by) == (NOW, sam)
