"""Billing operations in the console over real HTTP: who may open the dashboard and the flagged accounts,
the period filter and its errors, the CSV, and working through a flagged account."""
from __future__ import annotations

import html
import io
import re
from datetime import date

import pytest
import requests

from settle.clock import FixedClock
from settle.insights import services as insights
from settle.insights.definitions import definitions
from settle.insights.export import write_csv
from settle.tooling.seed import (
    DEMO_AGENT_EMAIL,
    DEMO_AGENT_PASSWORD,
    DEMO_DESIGNER_EMAIL,
    DEMO_DESIGNER_PASSWORD,
    DEMO_OPERATIONS_EMAIL,
    DEMO_OPERATIONS_PASSWORD,
)
from settle.unit_of_work import UnitOfWork
from tests.conftest import NOW, TODAY, seeded_sqlite
from tests.web.conftest import serve, web_settings, with_reminders_run

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
ALERT = re.compile(r'role="alert"[^>]*>([^<]*)<')
FLAGGED_LINK = re.compile(r'href="/agent/flagged/(\d+)">([^<]+)<')
ROLE_PAGES = ["/agent/dashboard", "/agent/dashboard.csv", "/agent/flagged", "/agent/flagged/2"]


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    database_url = with_reminders_run(seeded_sqlite(tmp_path_factory.mktemp("operations") / "settle.db"))
    yield from serve(web_settings(database_url))


def logged_in(console, email: str, password: str) -> requests.Session:
    client = requests.Session()
    token = CSRF.search(client.get(f"{console.url}/agent/login", timeout=10).text).group(1)
    answer = client.post(f"{console.url}/agent/login", data={"email": email, "password": password, "csrf_token": token},
                         allow_redirects=False, timeout=10)
    assert answer.status_code == 303, answer.text
    return client


@pytest.fixture
def operations(console) -> requests.Session:
    return logged_in(console, DEMO_OPERATIONS_EMAIL, DEMO_OPERATIONS_PASSWORD)


def alert(page: requests.Response) -> str:
    return html.unescape(ALERT.search(page.text).group(1)).strip()


def flagged(client: requests.Session, console) -> dict[str, str]:
    """The review list: customer id -> name."""
    page = client.get(f"{console.url}/agent/flagged", timeout=10)
    assert page.status_code == 200
    return {customer_id: html.unescape(name) for customer_id, name in FLAGGED_LINK.findall(page.text)}


def act(client: requests.Session, console, customer_id: str, action: str, **data) -> requests.Response:
    page = client.get(f"{console.url}/agent/flagged/{customer_id}", timeout=10)
    token = CSRF.search(page.text).group(1)
    return client.post(f"{console.url}/agent/flagged/{customer_id}/{action}", data={"csrf_token": token, **data},
                       allow_redirects=False, timeout=10)


# Who may open what


@pytest.mark.parametrize("path", ROLE_PAGES)
def test_a_stranger_is_sent_to_the_login(console, path):
    answer = requests.get(f"{console.url}{path}", allow_redirects=False, timeout=10)
    assert answer.status_code == 303 and answer.headers["location"] == f"/agent/login?next={path.split('?')[0]}"


@pytest.mark.parametrize("path", ROLE_PAGES)
def test_an_agent_gets_a_polite_refusal_and_keeps_the_queue(console, path):
    agent = logged_in(console, DEMO_AGENT_EMAIL, DEMO_AGENT_PASSWORD)
    refused = agent.get(f"{console.url}{path}", timeout=10)
    assert refused.status_code == 403
    assert "This page is not for your role" in refused.text and "Traceback" not in refused.text
    assert "Lucas" not in refused.text and "containment" not in refused.text
    queue = agent.get(f"{console.url}/agent", timeout=10)
    assert queue.status_code == 200 and 'href="/agent/dashboard"' not in queue.text


def test_an_agent_cannot_act_on_a_flagged_account(console, operations):
    customer_id = next(iter(flagged(operations, console)))
    agent = logged_in(console, DEMO_AGENT_EMAIL, DEMO_AGENT_PASSWORD)
    token = CSRF.search(agent.get(f"{console.url}/agent", timeout=10).text).group(1)
    answer = agent.post(f"{console.url}/agent/flagged/{customer_id}/reviewed", data={"csrf_token": token}, timeout=10)
    assert answer.status_code == 403
    assert customer_id in flagged(operations, console)


def test_a_designer_sees_the_figures_but_not_the_flagged_accounts(console):
    designer = logged_in(console, DEMO_DESIGNER_EMAIL, DEMO_DESIGNER_PASSWORD)
    assert designer.get(f"{console.url}/agent/dashboard", timeout=10).status_code == 200
    assert designer.get(f"{console.url}/agent/flagged", timeout=10).status_code == 403


# The dashboard


def test_the_dashboard_shows_every_figure_with_its_definition(console, operations):
    page = operations.get(f"{console.url}/agent/dashboard", timeout=10)
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "From 24 October 2026 to 22 November 2026" in " ".join(re.sub(r"<[^>]+>", " ", text).split())
    for name, definition in definitions().figures.items():
        assert f'data-figure="{name}"' in page.text, name
        assert definition in text, name
    assert 'data-figure="reached_out_first.reminders_by_stage"' in page.text and "review" in text


@pytest.mark.parametrize("query, first, last", [
    ("days=7", date(2026, 11, 16), TODAY),
    ("days=90", date(2026, 8, 25), TODAY),
    ("from=2026-11-01&to=2026-11-15", date(2026, 11, 1), date(2026, 11, 15)),
])
def test_the_csv_holds_the_same_figures_as_settle_kpis(console, operations, query, first, last):
    answer = operations.get(f"{console.url}/agent/dashboard.csv?{query}", timeout=10)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["content-disposition"] == f'attachment; filename="settle-kpis-{first}-to-{last}.csv"'
    expected = io.StringIO()
    write_csv(insights.figures_for(UnitOfWork(console.settings, FixedClock(NOW)), first, last), expected)
    assert answer.text == expected.getvalue()


def test_the_page_links_the_csv_of_the_period_shown(console, operations):
    page = operations.get(f"{console.url}/agent/dashboard?days=7", timeout=10)
    assert 'href="/agent/dashboard.csv?from=2026-11-16&amp;to=2026-11-22"' in page.text


def test_a_language_is_chosen_for_the_period_shown_and_kept_in_the_csv(console, operations):
    page = operations.get(f"{console.url}/agent/dashboard?days=7&language=nl", timeout=10)
    assert page.status_code == 200
    text = " ".join(re.sub(r"<[^>]+>", " ", html.unescape(page.text)).split())
    assert "in Dutch only" in text
    assert 'href="/agent/dashboard.csv?from=2026-11-16&amp;to=2026-11-22&amp;language=nl"' in page.text
    assert 'href="/agent/dashboard?days=90&amp;language=nl"' in page.text  # the other periods keep the language
    assert 'href="/agent/dashboard?days=7"' in page.text  # and "All" keeps the period
    answer = operations.get(f"{console.url}/agent/dashboard.csv?from=2026-11-16&to=2026-11-22&language=nl", timeout=10)
    assert answer.headers["content-disposition"] == 'attachment; filename="settle-kpis-2026-11-16-to-2026-11-22-nl.csv"'
    expected = io.StringIO()
    write_csv(insights.figures_for(UnitOfWork(console.settings, FixedClock(NOW)), date(2026, 11, 16), TODAY, "nl"), expected)
    assert answer.text == expected.getvalue() and "period,language,,nl," in answer.text


def test_a_language_settle_does_not_speak_gets_a_clear_message(console, operations):
    page = operations.get(f"{console.url}/agent/dashboard?days=7&language=de", timeout=10)
    assert page.status_code == 400 and alert(page) == "Choose all languages or one of en, fr, nl."
    assert operations.get(f"{console.url}/agent/dashboard.csv?days=7&language=de", timeout=10).status_code == 400


@pytest.mark.parametrize("query, says", [
    ("from=2026-11-10&to=2026-11-01", "The last day (2026-11-01) is before the first day (2026-11-10)."),
    ("from=last+week&to=2026-11-01", "The first day 'last week' is not a date like 2026-11-01."),
    ("from=2026-11-01", "Give both the first and the last day of the period."),
    ("days=12", "Choose the last 7, 30, 90 days, or a first and last day."),
])
def test_a_bad_filter_gets_a_clear_message_on_the_page(console, operations, query, says):
    page = operations.get(f"{console.url}/agent/dashboard?{query}", timeout=10)
    assert page.status_code == 400
    assert alert(page) == says
    assert "data-figure=" not in page.text and 'name="from"' in page.text
    csv = operations.get(f"{console.url}/agent/dashboard.csv?{query}", timeout=10)
    assert (csv.status_code, csv.text) == (400, says)


# Working through a flagged account


def test_an_account_flagged_this_morning_is_listed_once(console, operations):
    listed = flagged(operations, console)
    assert "Lucas Janssens" in listed.values()
    page = operations.get(f"{console.url}/agent/flagged", timeout=10)
    assert page.text.count("Lucas Janssens") == 1
    assert f'id="waiting">{len(listed)} accounts waiting.<' in page.text


def test_operations_note_a_call_pause_reminders_and_mark_reviewed(console, operations):
    customer_id = next(c for c, name in flagged(operations, console).items() if name == "Lucas Janssens")
    account = operations.get(f"{console.url}/agent/flagged/{customer_id}", timeout=10)
    assert "review" in account.text and "No hardship or dispute on file." in account.text

    empty = act(operations, console, customer_id, "note", note="  ")
    assert empty.status_code == 303
    assert alert(operations.get(f"{console.url}{empty.headers['location']}", timeout=10)) == \
        "Write what was said in the call before saving the note."

    assert act(operations, console, customer_id, "note", note="Promised to pay on Friday.").status_code == 303
    assert act(operations, console, customer_id, "pause").status_code == 303
    account = operations.get(f"{console.url}/agent/flagged/{customer_id}", timeout=10)
    assert "Promised to pay on Friday." in account.text and "paused the reminders" in account.text
    assert re.search(r'id="reminders-state">Paused<', account.text)

    reviewed = act(operations, console, customer_id, "reviewed")
    assert (reviewed.status_code, reviewed.headers["location"]) == (303, "/agent/flagged")
    assert customer_id not in flagged(operations, console)
    gone = operations.get(f"{console.url}/agent/flagged/{customer_id}", timeout=10)
    assert gone.status_code == 404 and "not waiting for review" in gone.text

    listed = operations.get(f"{console.url}/agent/flagged", timeout=10)  # paused, reviewed, and not forgotten
    assert re.search(r'<td>Lucas Janssens <span class="muted">\d+</span></td>', listed.text.split('id="paused"')[1])
    token = CSRF.search(listed.text).group(1)
    resumed = operations.post(f"{console.url}/agent/paused/{customer_id}/resume", data={"csrf_token": token},
                              allow_redirects=False, timeout=10)
    assert (resumed.status_code, resumed.headers["location"]) == (303, "/agent/flagged")
    after = operations.get(f"{console.url}/agent/flagged", timeout=10)
    assert alert(after) == "Reminders run again for Lucas Janssens from the next reminder run."
    assert 'id="nothing-paused"' in after.text


def test_a_form_without_the_session_token_changes_nothing(console, operations):
    customer_id = next(iter(flagged(operations, console)))
    answer = operations.post(f"{console.url}/agent/flagged/{customer_id}/reviewed", data={"csrf_token": "forged"}, timeout=10)
    assert answer.status_code == 403
    assert customer_id in flagged(operations, console)


def test_an_unknown_action_is_not_found(console, operations):
    customer_id = next(iter(flagged(operations, console)))
    assert act(operations, console, customer_id, "delete").status_code == 404
    assert customer_id in flagged(operations, console)


def test_operations_give_more_time_and_set_up_a_plan_by_the_chats_rules(console, operations):
    customer_id = next(c for c, name in flagged(operations, console).items() if name != "Lucas Janssens")
    account = operations.get(f"{console.url}/agent/flagged/{customer_id}", timeout=10).text
    bill = re.search(r'name="invoice_number" value="([^"]+)"', account).group(1)
    latest = re.search(r'name="new_due" type="date" max="([^"]+)"', account).group(1)
    assert latest == "2026-12-06"  # 14 days from today for an overdue bill

    def said_after(answer: requests.Response) -> str:
        assert answer.status_code == 303 and answer.headers["location"] == f"/agent/flagged/{customer_id}"
        return alert(operations.get(f"{console.url}{answer.headers['location']}", timeout=10))

    assert said_after(act(operations, console, customer_id, "more-time", invoice_number=bill, new_due="soon")) == \
        "Not within what the rules allow (the new due date 'soon' is not a date like 2026-12-01). Nothing changed."
    assert said_after(act(operations, console, customer_id, "more-time", invoice_number=bill, new_due="2026-12-07")) == \
        "Not within what the rules allow (new due date 2026-12-07 is not within 2026-11-22..2026-12-06). Nothing changed."
    assert said_after(act(operations, console, customer_id, "more-time", invoice_number=bill, new_due="2026-12-04")) == \
        f"{bill} is now due 4 December 2026."
    assert said_after(act(operations, console, customer_id, "more-time", invoice_number=bill, new_due="2026-12-05")) == \
        "No more time: it was given more time already. Nothing changed."

    account = operations.get(f"{console.url}/agent/flagged/{customer_id}", timeout=10).text
    total = re.search(r'name="agreed_total_cents" value="(\d+)"', account).group(1)
    assert said_after(act(operations, console, customer_id, "plan", months="12", start="2026-12-01",
                          agreed_total_cents=total)).startswith("Not within what the rules allow (12 months is not within 2..")
    done = said_after(act(operations, console, customer_id, "plan", months="2", start="2026-12-01", agreed_total_cents=total))
    assert re.fullmatch(r"The plan is set up\. The link for its first instalment, to give the customer: "
                        r"http://127\.0\.0\.1:\d+/pay/\S+", done)
    account = operations.get(f"{console.url}/agent/flagged/{customer_id}", timeout=10).text
    assert "gave more time" in account and "set up a plan" in account and "No plan: a plan is running already." in account


def test_operations_record_a_customers_opt_out_and_see_it_on_the_account(console, operations):
    customer_id = sorted(flagged(operations, console), key=int)[-1]
    assert 'id="opted-out">Reminders go out on every channel.<' in operations.get(
        f"{console.url}/agent/flagged/{customer_id}", timeout=10).text
    assert act(operations, console, customer_id, "reminder-choice", channel="sms", choice="out").status_code == 303
    account = operations.get(f"{console.url}/agent/flagged/{customer_id}", timeout=10)
    assert alert(account) == "Recorded. Reminders are now stopped on: sms."
    assert re.search(r"<td>sms</td><td>opted out</td><td>console \(Olga[^)]*\)</td>", account.text)

    assert act(operations, console, customer_id, "reminder-choice", channel="all", choice="out").status_code == 303
    account = operations.get(f"{console.url}/agent/flagged/{customer_id}", timeout=10)
    assert "Stopped on: chat, email, sms. Only the formal notice still goes out, by e-mail." in account.text

    assert act(operations, console, customer_id, "reminder-choice", channel="all", choice="in").status_code == 303
    account = operations.get(f"{console.url}/agent/flagged/{customer_id}", timeout=10)
    assert alert(account) == "Recorded. Reminders go out on every channel again."

    assert act(operations, console, customer_id, "reminder-choice", channel="pigeon", choice="out").status_code == 303
    account = operations.get(f"{console.url}/agent/flagged/{customer_id}", timeout=10)
    assert alert(account) == "Choose a channel (chat, email, sms or all). Nothing changed."
    assert account.text.count("<td>console (") == 3


def test_an_agent_cannot_record_an_opt_out_from_the_review(console, operations):
    customer_id = next(iter(flagged(operations, console)))
    agent = logged_in(console, DEMO_AGENT_EMAIL, DEMO_AGENT_PASSWORD)
    token = CSRF.search(agent.get(f"{console.url}/agent", timeout=10).text).group(1)
    answer = agent.post(f"{console.url}/agent/flagged/{customer_id}/reminder-choice",
                        data={"csrf_token": token, "channel": "all", "choice": "out"}, timeout=10)
    assert answer.status_code == 403
    assert "Reminders go out on every channel." in operations.get(f"{console.url}/agent/flagged/{customer_id}", timeout=10).text
