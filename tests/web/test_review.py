"""The conversation review in the console over real HTTP: who may open it, the list and its filters, a
conversation as the bot understood it, and a designer's mark."""
from __future__ import annotations

import html
import re
from datetime import timedelta
from urllib.parse import quote

import pytest
import requests

from settle.clock import FixedClock
from settle.handoff import services as handoff
from settle.insights import services as insights
from settle.insights.messages import Understood
from settle.models import EscalationReason
from settle.tooling.seed import (
    DEMO_AGENT_EMAIL,
    DEMO_AGENT_PASSWORD,
    DEMO_DESIGNER_EMAIL,
    DEMO_DESIGNER_PASSWORD,
    DEMO_OPERATIONS_EMAIL,
    DEMO_OPERATIONS_PASSWORD,
)
from settle.unit_of_work import UnitOfWork
from tests.conftest import NOW, seeded_sqlite
from tests.web.conftest import serve, web_settings

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
ALERT = re.compile(r'role="alert"[^>]*>([^<]*)<')
CONVERSATION_LINK = re.compile(r'href="/agent/review/conversations/([^"]+)"')
MARK_FORM = re.compile(r'action="/agent/review/messages/(\d+)/mark"')
PAGES = ["/agent/review", "/agent/review/conversations/web-review-misread"]


def chats(settings) -> None:
    """Two conversations yesterday: one misread (a name and a customer number in it), one that fell back and
    was handed to a person."""
    def say(conversation_id: str, minutes: int, understood: Understood) -> None:
        moment = NOW - timedelta(days=1) + timedelta(minutes=minutes)
        insights.note_message(UnitOfWork(settings, FixedClock(moment)), conversation_id, understood)

    say("web-review-misread", 0, Understood("my name is Emma Peeters, number 50000017", "inform", 0.93, language="en"))
    say("web-review-misread", 1, Understood("can I pay in 3 parts", "pay_bill", 0.44, language="en",
                                            actions_before=("verify_customer_form",)))
    say("web-review-fallback", 5, Understood("wat is het weer", "nlu_fallback", 0.3, language="nl"))
    handoff.hand_over(UnitOfWork(settings, FixedClock(NOW - timedelta(hours=20))), EscalationReason.REPEATED_FALLBACK,
                      "web-review-fallback", None, [], [])


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    settings = web_settings(seeded_sqlite(tmp_path_factory.mktemp("review") / "settle.db", customers=5))
    chats(settings)
    yield from serve(settings)


def logged_in(console, email: str, password: str) -> requests.Session:
    client = requests.Session()
    token = CSRF.search(client.get(f"{console.url}/agent/login", timeout=10).text).group(1)
    answer = client.post(f"{console.url}/agent/login", data={"email": email, "password": password, "csrf_token": token},
                         allow_redirects=False, timeout=10)
    assert answer.status_code == 303, answer.text
    return client


@pytest.fixture
def designer(console) -> requests.Session:
    return logged_in(console, DEMO_DESIGNER_EMAIL, DEMO_DESIGNER_PASSWORD)


def listed(client: requests.Session, console, query: str = "") -> list[str]:
    page = client.get(f"{console.url}/agent/review{query}", timeout=10)
    assert page.status_code == 200
    return CONVERSATION_LINK.findall(page.text)


def conversation(client: requests.Session, console, conversation_id: str) -> requests.Response:
    return client.get(f"{console.url}/agent/review/conversations/{quote(conversation_id)}", timeout=10)


def mark(client: requests.Session, console, position: int, **data) -> requests.Response:
    page = conversation(client, console, "web-review-misread")
    message_id = MARK_FORM.findall(page.text)[position - 1]
    token = CSRF.search(page.text).group(1)
    return client.post(f"{console.url}/agent/review/messages/{message_id}/mark",
                       data={"csrf_token": token, "conversation_id": "web-review-misread", **data},
                       allow_redirects=False, timeout=10)


# Who may open it


@pytest.mark.parametrize("path", PAGES)
def test_a_stranger_is_sent_to_the_login(console, path):
    answer = requests.get(f"{console.url}{path}", allow_redirects=False, timeout=10)
    assert answer.status_code == 303 and answer.headers["location"] == f"/agent/login?next={path}"


@pytest.mark.parametrize("path", PAGES)
def test_an_agent_is_kept_out(console, path):
    agent = logged_in(console, DEMO_AGENT_EMAIL, DEMO_AGENT_PASSWORD)
    answer = agent.get(f"{console.url}{path}", timeout=10)
    assert answer.status_code == 403
    assert "This page is not for your role" in answer.text and "my name is" not in answer.text
    assert 'href="/agent/review"' not in agent.get(f"{console.url}/agent", timeout=10).text


def test_an_agent_cannot_mark_a_message(console, designer):
    agent = logged_in(console, DEMO_AGENT_EMAIL, DEMO_AGENT_PASSWORD)
    token = CSRF.search(agent.get(f"{console.url}/agent", timeout=10).text).group(1)
    message_id = MARK_FORM.findall(conversation(designer, console, "web-review-misread").text)[0]
    answer = agent.post(f"{console.url}/agent/review/messages/{message_id}/mark",
                        data={"csrf_token": token, "intent": "out_of_scope"}, allow_redirects=False, timeout=10)
    assert answer.status_code == 403
    assert "Marked" not in conversation(designer, console, "web-review-misread").text


@pytest.mark.parametrize("email, password", [(DEMO_DESIGNER_EMAIL, DEMO_DESIGNER_PASSWORD),
                                             (DEMO_OPERATIONS_EMAIL, DEMO_OPERATIONS_PASSWORD)])
def test_designers_and_operations_find_the_review_in_the_menu(console, email, password):
    client = logged_in(console, email, password)
    assert 'href="/agent/review">Conversation review</a>' in client.get(f"{console.url}/agent", timeout=10).text
    assert listed(client, console) == ["web-review-fallback", "web-review-misread"]


# The list and a conversation


@pytest.mark.parametrize("query, expected", [
    ("?fell_back=1", ["web-review-fallback"]),
    ("?escalated=1", ["web-review-fallback"]),
    ("?low_confidence=1", ["web-review-fallback", "web-review-misread"]),
    ("?language=en", ["web-review-misread"]),
    ("?intent=pay_bill", ["web-review-misread"]),
    ("?from=2026-11-22&to=2026-11-22", []),
])
def test_the_filters_narrow_the_list(console, designer, query, expected):
    assert listed(designer, console, query) == expected


def test_a_wrong_date_is_explained(console, designer):
    answer = designer.get(f"{console.url}/agent/review?from=yesterday", timeout=10)
    assert answer.status_code == 400
    assert html.unescape(ALERT.search(answer.text).group(1)) == "The first day 'yesterday' is not a date like 2026-11-01."


def test_a_conversation_shows_each_message_as_understood_without_personal_data(console, designer):
    page = conversation(designer, console, "web-review-misread")
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "my name is <name>, number <customer_number>" in text
    assert "Emma" not in text and "50000017" not in text
    assert re.search(r'class="intent">pay_bill</strong>\s*<span class="confidence">0.44</span>', page.text)
    assert "The bot: verify_customer_form" in text
    assert "not known yet" in text  # the last message's reply


def test_an_unknown_conversation_is_not_found(console, designer):
    assert conversation(designer, console, "no-such-chat").status_code == 404


# Marking


def test_a_designer_marks_a_message_with_the_right_intent_and_entities(console, designer):
    answer = mark(designer, console, 2, intent="request_instalment_plan", example="can I pay in [3 parts](months)")
    assert answer.status_code == 303 and answer.headers["location"].startswith("/agent/review/conversations/web-review-misread#message-")
    page = designer.get(f"{console.url}{answer.headers['location']}", timeout=10)
    assert html.unescape(ALERT.search(page.text).group(1)) == "Marked as request_instalment_plan: it goes into the next export."
    assert "Marked <strong>request_instalment_plan</strong>: <code>can I pay in [3 parts](months)</code> by" in page.text


def test_a_mark_that_changes_the_words_is_refused(console, designer):
    answer = mark(designer, console, 1, intent="inform", example="my name is Emma")
    page = designer.get(f"{console.url}{answer.headers['location']}", timeout=10)
    assert html.unescape(ALERT.search(page.text).group(1)).startswith("Mark entities in the message's own words")
    assert "Marked <strong>inform</strong>" not in page.text


def test_out_of_scope_takes_one_click_and_no_entities(console, designer):
    answer = mark(designer, console, 1, intent="inform", example="my name is <name>, number [<customer_number>](customer_number)",
                  out_of_scope="1")
    page = designer.get(f"{console.url}{answer.headers['location']}", timeout=10)
    assert html.unescape(ALERT.search(page.text).group(1)) == "Marked as out_of_scope: it goes into the next export."
    assert "Marked <strong>out_of_scope</strong>: <code>my name is &lt;name&gt;, number &lt;customer_number&gt;</code>" in page.text


def test_a_mark_without_the_csrf_token_is_refused(console, designer):
    message_id = MARK_FORM.findall(conversation(designer, console, "web-review-misread").text)[0]
    answer = designer.post(f"{console.url}/agent/review/messages/{message_id}/mark", data={"intent": "out_of_scope"},
                           allow_redirects=False, timeout=10)
    assert answer.status_code == 403
