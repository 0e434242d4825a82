"""The link in an SMS reminder, opened on a phone in a real Chromium: the customer stops the SMS reminders in one
press, in their language, and can start them again. Only the web app runs here (no Rasa)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from settle.db import session_factory
from settle.models import Customer, ReminderChoice
from settle.outreach.opt_outs import opt_out_link
from tests.conftest import seeded_sqlite
from tests.web.conftest import serve, web_settings

PHONE = {"width": 360, "height": 740}


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    yield from serve(web_settings(seeded_sqlite(tmp_path_factory.mktemp("opt-out-browser") / "settle.db", customers=12)))


def test_a_customer_stops_sms_reminders_from_the_link_on_a_phone_and_changes_their_mind(web, browser):
    with session_factory(web.settings.database_url)() as session:
        customer = session.execute(select(Customer).where(Customer.language == "nl").order_by(Customer.id).limit(1)).scalar_one()
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        page.goto(opt_out_link(web.settings, customer.id, "sms"))
        assert page.get_by_role("heading", level=1).inner_text() == "Herinneringen per sms stoppen?"
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.get_by_role("button", name="Herinneringen per sms stoppen").click()
        assert page.get_by_role("heading", level=1).inner_text() == "In orde: geen herinneringen meer per sms"
        page.get_by_role("button", name="Stuur me weer herinneringen per sms").click()
        assert page.get_by_role("heading", level=1).inner_text() == "U krijgt weer herinneringen per sms"
    finally:
        context.close()
    with session_factory(web.settings.database_url)() as session:
        assert [(c.channel, c.opted_out) for c in session.execute(
            select(ReminderChoice).where(ReminderChoice.customer_id == customer.id).order_by(ReminderChoice.id)).scalars()] == [
            ("sms", True), ("sms", False)]
