"""The conversation review in a real Chromium: a designer finds a misread message, marks it with the right
intent and its entities, and the export holds it without personal data; an agent is kept out.

Only the web app runs here (no Rasa). The conversations are noted through the same service the action after
every customer message calls, with what NLU made of each message.
Set SETTLE_SCREENSHOTS=docs/screenshots to save the README's screenshot from the run.
"""
from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import Page, expect

from settle.clock import FixedClock
from settle.insights import services as insights
from settle.insights.messages import Understood
from settle.tooling.seed import DEMO_AGENT_EMAIL, DEMO_AGENT_PASSWORD, DEMO_DESIGNER_EMAIL, DEMO_DESIGNER_PASSWORD
from settle.unit_of_work import UnitOfWork
from tests.conftest import NOW, seeded_sqlite
from tests.web.conftest import serve, web_settings

SCREENSHOTS = os.environ.get("SETTLE_SCREENSHOTS")
HISTORY_CUSTOMERS = 60
MISREAD = "Hi, I'm Emma Peeters (50000017), can I spread the 240 euros over 4 months?"


def some_conversations(settings) -> None:
    """Yesterday: Emma's chat, whose question NLU read as paying (0.41); and a chat about the weather that fell back."""
    def say(conversation_id: str, minutes: int, understood: Understood) -> None:
        moment = NOW - timedelta(days=1) + timedelta(minutes=minutes)
        insights.note_message(UnitOfWork(settings, FixedClock(moment)), conversation_id, understood)

    amount, months = MISREAD.index("240 euros"), MISREAD.index("4 months")
    say("emma-chat", 0, Understood(MISREAD, "pay_bill", 0.41, language="en", entities=(
        {"entity": "amount", "value": "240", "start": amount, "end": amount + 9},
        {"entity": "months", "value": 4, "start": months, "end": months + 8},
    )))
    say("emma-chat", 1, Understood("thanks", "thank", 0.98, language="en", actions_before=("action_offer_payment_link",)))
    say("weather-chat", 30, Understood("quel temps fait-il à Liège", "nlu_fallback", 0.3, language="fr"))


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    settings = web_settings(seeded_sqlite(tmp_path_factory.mktemp("review-browser") / "settle.db", customers=5))
    some_conversations(settings)
    yield from serve(settings)


def log_in(page: Page, web_url: str, email: str, password: str) -> None:
    page.goto(f"{web_url}/agent")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Conversations")).to_be_visible()


def keep(page: Page, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / name), full_page=True)


def test_a_designer_marks_a_message_and_the_export_holds_it_without_personal_data(web, new_page, tmp_path):
    page = new_page()
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, web.url, DEMO_DESIGNER_EMAIL, DEMO_DESIGNER_PASSWORD)
    page.get_by_role("link", name="Conversation review").click()
    expect(page.get_by_role("heading", name="Conversation review")).to_be_visible()
    expect(page.locator("#review-count")).to_have_text("2 conversations; page 1 of 1.")
    page.get_by_label("Fell back").check()
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#review-count")).to_have_text("1 conversation; page 1 of 1.")
    page.get_by_label("Fell back").uncheck()
    page.get_by_label("Confidence below 0.5").check()
    page.get_by_label("Language").select_option("en")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("table.review tbody tr")).to_have_count(1)
    page.locator("table.review tbody a").click()

    message = page.locator(".review-message").first
    expect(message.locator(".customer-text")).to_have_text(
        "Hi, I'm <name> (<customer_number>), can I spread the 240 euros over 4 months?")
    expect(message.locator(".intent")).to_have_text("pay_bill")
    expect(message.locator(".confidence")).to_have_text("0.41")
    expect(message.locator(".actions")).to_have_text("The bot: action_offer_payment_link")
    expect(page.get_by_text("Emma")).to_have_count(0)
    message.get_by_label("Right intent").select_option("request_instalment_plan")
    expect(message.get_by_label("With entities")).to_have_value(
        "Hi, I'm <name> (<customer_number>), can I spread the [240 euros](amount) over [4 months](months)?")
    message.get_by_role("button", name="Mark", exact=True).click()
    expect(page.get_by_role("alert")).to_have_text("Marked as request_instalment_plan: it goes into the next export.")
    expect(page.locator(".review-message").first.locator(".mark")).to_contain_text("Marked request_instalment_plan")
    keep(page, "conversation-review.png")

    out = tmp_path / "reviewed.yml"
    (written,) = insights.export_reviewed(UnitOfWork(web.settings, FixedClock(NOW)), out, per_language=False)
    assert written.examples == 1
    content = out.read_text(encoding="utf-8")
    assert yaml.safe_load(content)["nlu"] == [{
        "intent": "request_instalment_plan",
        "examples": "- Hi, I'm Alex (50001234), can I spread the [240 euros](amount) over [4 months](months)?\n",
    }]
    for personal in ("Emma", "Peeters", "50000017"):
        assert personal not in content


def test_an_agent_cannot_open_the_review(web, new_page):
    page = new_page()
    log_in(page, web.url, DEMO_AGENT_EMAIL, DEMO_AGENT_PASSWORD)
    expect(page.get_by_role("link", name="Conversation review")).to_have_count(0)
    answer = page.goto(f"{web.url}/agent/review")
    assert answer is not None and answer.status == 403
    expect(page.get_by_role("heading", name="This page is not for your role")).to_be_visible()


@pytest.fixture(scope="module")
def web_with_history(tmp_path_factory):
    """The demo data as `settle setup` makes it, with its weeks of conversations (settle/tooling/history.py)."""
    yield from serve(web_settings(seeded_sqlite(tmp_path_factory.mktemp("review-history") / "settle.db", customers=HISTORY_CUSTOMERS)))


def test_the_demo_history_gives_the_review_conversations_in_three_languages(web_with_history, new_page):
    page = new_page()
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, web_with_history.url, DEMO_DESIGNER_EMAIL, DEMO_DESIGNER_PASSWORD)
    page.get_by_role("link", name="Conversation review").click()
    everything = int(page.locator("#review-count").inner_text().split()[0])
    assert everything > 20
    expect(page.locator("#language option")).to_contain_text(["en", "fr", "nl"])
    keep(page, "conversation-review-list.png")

    page.get_by_label("Fell back").check()
    page.get_by_label("Language").select_option("fr")
    page.get_by_role("button", name="Show").click()
    fell_back_in_french = int(page.locator("#review-count").inner_text().split()[0])
    assert 0 < fell_back_in_french < everything
    expect(page.locator("table.review tbody tr td:nth-child(5)").first).to_have_text("fr")
    page.locator("table.review tbody a").first.click()
    intents = page.locator(".review-message .intent").all_inner_texts()
    assert "nlu_fallback" in intents or "out_of_scope" in intents
    expect(page.locator(".review-message .confidence").first).to_have_text(re.compile(r"^0\.\d\d$"))
