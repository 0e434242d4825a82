"""The page of the link in an e-mail or SMS reminder: it asks before it stops anything (mail scanners open every
link), stops the reminders on the link's channel or everywhere, lets the customer change their mind, answers a mail
program's one-click unsubscribe, and speaks the customer's language. Over real HTTP."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from settle.db import session_factory
from settle.models import Customer, ReminderChoice
from settle.outreach.opt_outs import opt_out_link
from tests.conftest import seeded_sqlite
from tests.web.conftest import serve, web_settings


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    """The app on a database of its own: these tests record opt-outs."""
    yield from serve(web_settings(seeded_sqlite(tmp_path_factory.mktemp("opt-outs") / "settle.db", customers=12)))


def customer_speaking(web, language: str) -> Customer:
    with session_factory(web.settings.database_url)() as session:
        return session.execute(select(Customer).where(Customer.language == language).order_by(Customer.id).limit(1)).scalar_one()


def recorded(web, customer_id: int) -> list[tuple[str, bool, str]]:
    with session_factory(web.settings.database_url)() as session:
        return [(c.channel, c.opted_out, str(c.source)) for c in session.execute(
            select(ReminderChoice).where(ReminderChoice.customer_id == customer_id).order_by(ReminderChoice.id)).scalars()]


def fresh_customer(web, number: int) -> Customer:
    with session_factory(web.settings.database_url).begin() as session:
        customer = session.execute(select(Customer).order_by(Customer.id).offset(number).limit(1)).scalar_one()
        session.expunge(customer)
        return customer


def test_opening_the_link_changes_nothing_until_the_customer_presses_stop(web, browser_like):
    customer = fresh_customer(web, 0)
    link = opt_out_link(web.settings, customer.id, "sms")
    page = browser_like.get(link)
    assert page.status_code == 200
    assert recorded(web, customer.id) == []  # a mail scanner that opens the link stops nothing
    assert customer.first_name not in page.text and customer.customer_number not in page.text  # the page shows nobody
    done = browser_like.post(link, data={"where": "here"})
    assert done.status_code == 200 and "no more reminders" in done.text.lower()
    assert recorded(web, customer.id) == [("sms", True, "link")]
    again = browser_like.get(link)
    assert "are stopped" in again.text and "Changed your mind?" in again.text


def test_stop_everywhere_then_change_ones_mind(web, browser_like):
    customer = fresh_customer(web, 1)
    link = opt_out_link(web.settings, customer.id, "email")
    stopped = browser_like.post(link, data={"where": "everywhere"})
    assert "Done: no more reminders" in stopped.text and "formal notice" in stopped.text
    restarted = browser_like.post(f"{link}/restart", data={"where": "everywhere"})
    assert "get reminders again" in restarted.text
    assert recorded(web, customer.id) == [("all", True, "link"), ("all", False, "link")]


def test_a_mail_programs_one_click_unsubscribe_stops_the_links_channel(web, browser_like):
    customer = fresh_customer(web, 2)
    link = opt_out_link(web.settings, customer.id, "email")
    answer = browser_like.post(link, data={"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 200
    assert recorded(web, customer.id) == [("email", True, "link")]


@pytest.mark.parametrize("language, asks, done", [
    ("nl", "Herinneringen per sms stoppen?", "In orde: geen herinneringen meer per sms"),
    ("fr", "Arrêter les rappels par SMS ?", "C'est fait : plus de rappels par SMS"),
])
def test_the_page_speaks_the_customers_language(web, browser_like, language, asks, done):
    customer = customer_speaking(web, language)
    link = opt_out_link(web.settings, customer.id, "sms")
    page = browser_like.get(link)
    assert page.headers["Content-Language"] == language
    assert asks in page.text.replace("\xa0", " ")
    assert done in browser_like.post(link, data={"where": "here"}).text.replace("&#39;", "'").replace("\xa0", " ")


@pytest.mark.parametrize("token", ["1.sms.forgedsignature0000000000", "nothing-here", "1.pigeon.abcdefghijklmnopqrstuvwxyz"])
def test_a_link_settle_did_not_sign_stops_nothing(web, browser_like, token):
    page = browser_like.get(f"{web.url}/reminders/stop/{token}")
    assert page.status_code == 404 and "This link doesn't work" in page.text.replace("&#39;", "'")
    assert browser_like.post(f"{web.url}/reminders/stop/{token}", data={"where": "everywhere"}).status_code == 404
