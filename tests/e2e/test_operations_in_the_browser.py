"""Billing operations in a real Chromium: the dashboard's charts and CSV, an agent kept out, and a flagged
account worked through (a call noted, reminders paused, a plan set up) until it leaves the list.

Only the web app runs here (no Rasa). The seeded data gets a few days of activity through the same services
the chat and the payment pages use, then this morning's reminder run flags the long-overdue accounts.
Set SETTLE_SCREENSHOTS=docs/screenshots to save the README's screenshots from the run.
"""
from __future__ import annotations

import csv
import io
import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from settle.arrangements import services as arrangements
from settle.clock import FixedClock
from settle.errors import NothingToPay
from settle.handoff import services as handoff
from settle.insights import services as insights
from settle.insights.definitions import definitions
from settle.models import EscalationReason
from settle.payments import services as payments
from settle.tooling.seed import (
    DEMO_AGENT_EMAIL,
    DEMO_AGENT_PASSWORD,
    DEMO_OPERATIONS_EMAIL,
    DEMO_OPERATIONS_PASSWORD,
)
from settle.unit_of_work import UnitOfWork
from tests.conftest import NOW, TEST_CUSTOMERS, seeded_sqlite
from tests.web.conftest import serve, web_settings, with_reminders_run

SCREENSHOTS = os.environ.get("SETTLE_SCREENSHOTS")
DASHBOARD_CUSTOMERS = 150
REASONS = (EscalationReason.ASKED, EscalationReason.REPEATED_FALLBACK, EscalationReason.UPSET)


def some_days_of_activity(settings) -> None:
    """Chats, links opened and paid, hand-overs, a hardship report and a dispute over the last five days."""
    for customer_id in range(1, TEST_CUSTOMERS + 1, 2):
        moment = NOW - timedelta(days=customer_id % 5, hours=customer_id % 7)

        def uow(moment=moment) -> UnitOfWork:
            return UnitOfWork(settings, FixedClock(moment))

        conversation_id = f"activity-{customer_id}"
        insights.note_message(uow(), conversation_id)
        if customer_id % 6 == 1:
            handoff.hand_over(uow(), REASONS[(customer_id // 6) % 3], conversation_id, customer_id, [], [])
        try:
            offer = payments.offer_payment_link(uow(), customer_id, None)
        except NothingToPay:
            continue
        if customer_id % 4 != 3:
            payments.payment_page(uow(), offer.token)
        if customer_id % 4 == 1:
            payment_id = payments.start_checkout(uow(), offer.token, "en").rsplit("/", 1)[1]
            payments.sandbox_outcome(uow(), payment_id, succeeded=True)
    yesterday = UnitOfWork(settings, FixedClock(NOW - timedelta(days=1)))
    arrangements.report_hardship(yesterday, 8, "activity-hardship", [], ["hardship"])
    arrangements.open_dispute(UnitOfWork(settings, FixedClock(NOW - timedelta(days=2))), 4, None,
                              "The meter reading on this bill is not mine", "activity-dispute")


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    # Enough customers that the demo history holds every kind of event in the last 30 days.
    database_url = seeded_sqlite(tmp_path_factory.mktemp("operations-browser") / "settle.db", customers=DASHBOARD_CUSTOMERS)
    settings = web_settings(database_url)
    some_days_of_activity(settings)
    with_reminders_run(database_url)
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


def test_operations_see_every_chart_and_download_the_csv(web, new_page):
    page = new_page()
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, web.url, DEMO_OPERATIONS_EMAIL, DEMO_OPERATIONS_PASSWORD)
    page.get_by_role("link", name="Dashboard").click()
    page.get_by_role("link", name="7 days").click()
    expect(page.get_by_text("From 16 November 2026 to 22 November 2026")).to_be_visible()

    figures = definitions().figures
    panels = page.locator("figure.kpi")
    expect(panels).to_have_count(len(figures))
    for name, definition in figures.items():
        panel = page.locator(f'figure[data-figure="{name}"]')
        expect(panel).to_be_visible()
        expect(panel).to_have_attribute("title", definition)  # on hover
        expect(panel.locator(".definition")).to_have_text(definition)  # and under the chart
    for name in ("containment.escalations_by_reason", "paying.collected.amount", "reached_out_first.reminders_by_stage",
                 "containment.verified", "paying.links_opened", "paying.links_paid"):
        expect(page.locator(f'figure[data-figure="{name}"] svg.chart')).to_be_visible()
    expect(page.locator('figure[data-figure="containment.escalations_by_reason"] svg text')).to_contain_text(["asked"])
    expect(page.locator('figure[data-figure="paying.links_issued"] .kpi-value')).not_to_have_text("0")

    with page.expect_download() as downloading:
        page.get_by_role("link", name="Download these figures as CSV").click()
    download = downloading.value
    assert download.suggested_filename == "settle-kpis-2026-11-16-to-2026-11-22.csv"
    rows = list(csv.reader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert rows[:4] == [["section", "figure", "breakdown", "value", "unit", "note"],
                        ["period", "from", "", "2026-11-16", "date", "first day, included"],
                        ["period", "to", "", "2026-11-22", "date", "last day, included"],
                        ["period", "language", "", "all", "language", "every language"]]
    shown_issued = page.locator('figure[data-figure="paying.links_issued"] .kpi-value').inner_text()
    assert ["paying", "links_issued", "", shown_issued, "count", ""] in rows


def test_with_the_demo_history_every_chart_of_the_last_30_days_shows_something(web, new_page):
    """The seed's weeks of history (settle/tooling/history.py) feed every figure: no panel is empty or without a
    value, and every breakdown draws bars, whose sizes the CSV holds."""
    page = new_page()
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, web.url, DEMO_OPERATIONS_EMAIL, DEMO_OPERATIONS_PASSWORD)
    page.goto(f"{web.url}/agent/dashboard?days=30")
    expect(page.get_by_text("From 24 October 2026 to 22 November 2026")).to_be_visible()
    expect(page.locator("figure.kpi")).to_have_count(len(definitions().figures))
    expect(page.locator("figure.kpi .empty")).to_have_count(0)
    shown = dict(zip(page.locator("figure.kpi:has(.kpi-value)").evaluate_all("els => els.map(e => e.dataset.figure)"),
                     page.locator("figure.kpi .kpi-value").all_inner_texts()))
    assert shown and not [name for name, value in shown.items() if value.startswith("—")], shown
    for name in definitions().figures:
        panel = page.locator(f'figure[data-figure="{name}"]')
        if name not in shown:  # a breakdown: one bar per row, and at least one longer than nothing
            widths = panel.locator("svg.chart rect.chart-bar").evaluate_all("els => els.map(e => +e.getAttribute('width'))")
            assert widths and max(widths) > 0, name
    keep(page, "dashboard.png")

    with page.expect_download() as downloading:
        page.get_by_role("link", name="Download these figures as CSV").click()
    rows = list(csv.reader(io.StringIO(Path(downloading.value.path()).read_text(encoding="utf-8"))))
    in_csv = {f"{section}.{figure}" for section, figure, *_ in rows[4:]}
    assert set(definitions().figures) <= in_csv  # every figure, also the callbacks done, with its rows


def test_operations_choose_a_language_and_keep_it_for_another_period_and_the_csv(web, new_page):
    page = new_page()
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, web.url, DEMO_OPERATIONS_EMAIL, DEMO_OPERATIONS_PASSWORD)
    page.goto(f"{web.url}/agent/dashboard?days=30")
    conversations = page.locator('figure[data-figure="containment.conversations"] .kpi-value')
    every = int(conversations.inner_text())
    languages = page.get_by_role("navigation", name="Language")
    expect(languages.get_by_role("link", name="All")).to_have_attribute("aria-current", "page")

    languages.get_by_role("link", name="Dutch").click()
    expect(page.locator(".period-shown")).to_contain_text("in Dutch only")
    expect(languages.get_by_role("link", name="Dutch")).to_have_attribute("aria-current", "page")
    assert 0 < int(conversations.inner_text()) < every  # the demo's chats are in three languages
    expect(page.locator("figure.kpi")).to_have_count(len(definitions().figures))

    page.get_by_role("link", name="7 days").click()
    expect(page.get_by_text("From 16 November 2026 to 22 November 2026")).to_be_visible()
    expect(languages.get_by_role("link", name="Dutch")).to_have_attribute("aria-current", "page")
    with page.expect_download() as downloading:
        page.get_by_role("link", name="Download these figures as CSV").click()
    assert downloading.value.suggested_filename == "settle-kpis-2026-11-16-to-2026-11-22-nl.csv"
    rows = list(csv.reader(io.StringIO(Path(downloading.value.path()).read_text(encoding="utf-8"))))
    assert rows[3][:4] == ["period", "language", "", "nl"]

    languages.get_by_role("link", name="All").click()
    expect(page.locator(".period-shown")).to_contain_text("every language")


def test_a_wrong_period_is_explained_on_the_page(web, new_page):
    page = new_page()
    log_in(page, web.url, DEMO_OPERATIONS_EMAIL, DEMO_OPERATIONS_PASSWORD)
    page.goto(f"{web.url}/agent/dashboard")
    page.get_by_label("or from").fill("2026-11-20")
    page.get_by_label("to", exact=True).fill("2026-11-10")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("alert")).to_have_text("The last day (2026-11-10) is before the first day (2026-11-20).")
    expect(page.locator("figure.kpi")).to_have_count(0)


def test_an_agent_cannot_open_the_dashboard(web, new_page):
    page = new_page()
    log_in(page, web.url, DEMO_AGENT_EMAIL, DEMO_AGENT_PASSWORD)
    expect(page.get_by_role("link", name="Dashboard")).to_have_count(0)
    answer = page.goto(f"{web.url}/agent/dashboard")
    assert answer is not None and answer.status == 403
    expect(page.get_by_role("heading", name="This page is not for your role")).to_be_visible()
    expect(page.locator("figure.kpi")).to_have_count(0)


def test_operations_work_through_a_flagged_account(web, new_page):
    page = new_page()
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, web.url, DEMO_OPERATIONS_EMAIL, DEMO_OPERATIONS_PASSWORD)
    page.get_by_role("link", name="Flagged accounts").click()
    expect(page.get_by_role("heading", name="Accounts flagged for a person")).to_be_visible()
    keep(page, "flagged-accounts.png")
    expect(page.get_by_role("link", name="Lucas Janssens")).to_have_count(1)
    page.get_by_role("link", name="Lucas Janssens").click()

    expect(page.locator("#reminders")).to_contain_text("review (flagged)")
    expect(page.locator("#reminders-state")).to_have_text("Running")
    page.get_by_label("Note a call").fill("Called him: he will pay both bills on Friday.")
    page.get_by_role("button", name="Save the note").click()
    expect(page.get_by_role("alert")).to_have_text("The call is noted.")
    expect(page.locator("#review-entries")).to_contain_text("Called him: he will pay both bills on Friday.")
    page.get_by_role("button", name="Pause reminders").click()
    expect(page.locator("#reminders-state")).to_have_text("Paused")
    page.get_by_label("Monthly instalments").select_option("3")
    page.get_by_role("button", name="Set up the plan").click()
    expect(page.get_by_role("alert")).to_contain_text("The plan is set up. The link for its first instalment")
    expect(page.locator("#review-entries")).to_contain_text("set up a plan")
    expect(page.get_by_text("No plan: a plan is running already.")).to_be_visible()
    keep(page, "flagged-account.png")

    page.get_by_role("button", name="Mark reviewed").click()
    expect(page).to_have_url(re.compile(r"/agent/flagged$"))
    expect(page.get_by_role("alert")).to_have_text("Marked reviewed: the account has left the list.")
    expect(page.get_by_role("link", name="Lucas Janssens")).to_have_count(0)
