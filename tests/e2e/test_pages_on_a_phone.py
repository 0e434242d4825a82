"""Settle's pages on a small phone, in a real Chromium: nothing wider than the screen (no sideways scrolling).

Only the web app runs here (no Rasa): the pages are served from the seeded test database."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from settle.db import session_factory
from settle.models import Customer
from settle.payments.links import offer_link
from settle.tooling.seed import PERSONAS
from tests.conftest import NOW, seeded_sqlite
from tests.web.conftest import serve, web_settings

LUCAS = next(p for p in PERSONAS if p.shape == "overdue")  # two open bills: two sets of bank details
PHONE = {"width": 360, "height": 740}


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    yield from serve(web_settings(seeded_sqlite(tmp_path_factory.mktemp("phone") / "settle.db")))


def test_the_payment_page_fits_a_360_px_screen(web, browser):
    with session_factory(web.settings.database_url).begin() as session:
        customer = session.execute(select(Customer).where(Customer.customer_number == LUCAS.customer_number)).scalar_one()
        link = offer_link(session, customer.id, web.settings, NOW)
    assert len(link.invoice_numbers) == 2
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        page.goto(link.url)
        assert page.locator(".transfer").count() == 2
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        too_wide = page.evaluate(
            """() => Array.from(document.querySelectorAll('main *'))
                 .filter(node => node.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5)
                 .map(node => node.tagName + '.' + node.className + ': ' + node.textContent.trim().slice(0, 40))"""
        )
        assert too_wide == []
        for detail in ("IBAN", "BIC", "Structured communication"):  # the bank details are all there
            assert page.get_by_text(detail, exact=True).first.is_visible()
    finally:
        context.close()
