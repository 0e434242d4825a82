"""A customer's pages in a real Chromium speak the customer's language: the payment page of a French-speaking
customer in French whatever the browser prefers, the switch to Dutch kept through the sandbox checkout and back; the help
page and its chat widget in the browser's language. Only the web app runs (Rasa's socket is a local fake)."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from settle.db import session_factory
from settle.models import Customer
from settle.money import format_euros
from settle.payments.links import offer_link
from settle.tooling.seed import PERSONAS
from tests.conftest import NOW, seeded_sqlite
from tests.fakes.rasa_socket import running_fake_rasa_socket
from tests.web.conftest import serve, web_settings

NOOR = next(p for p in PERSONAS if p.shape == "partly_paid")


@pytest.fixture(scope="module")
def rasa_socket():
    with running_fake_rasa_socket() as fake:
        yield fake


@pytest.fixture(scope="module")
def web(tmp_path_factory, rasa_socket):
    database_url = seeded_sqlite(tmp_path_factory.mktemp("pages-in-their-language") / "settle.db")
    yield from serve(web_settings(database_url, chat_socket_url=rasa_socket.url))


def french_speaking_link(web):
    with session_factory(web.settings.database_url).begin() as session:
        customer = session.execute(select(Customer).where(Customer.customer_number == NOOR.customer_number)).scalar_one()
        customer.language = "fr"
        return offer_link(session, customer.id, web.settings, NOW)


def test_pay_in_the_customers_language_and_switch_to_dutch_on_the_way(web, browser):
    offer = french_speaking_link(web)
    context = browser.new_context(locale="nl-BE")  # the browser prefers Dutch: the customer's French wins
    try:
        page = context.new_page()
        page.goto(offer.url)
        expect(page.locator("html")).to_have_attribute("lang", "fr")
        expect(page.locator("h1")).to_have_text("Payer votre facture")
        expect(page.locator("#amount-to-pay")).to_contain_text(format_euros(offer.amount, "fr"))

        page.get_by_role("navigation", name="Langue").get_by_role("link", name="Nederlands").click()
        expect(page.locator("html")).to_have_attribute("lang", "nl")
        expect(page.locator("h1")).to_have_text("Uw factuur betalen")
        page.get_by_role("button", name=re.compile("Online betalen")).click()
        page.wait_for_url(re.compile(r"/sandbox/checkout/"))
        page.get_by_role("button", name=f"{format_euros(offer.amount, 'nl')} betalen").click()
        page.wait_for_url(re.compile(r"/done(?:\?|$)"))
        expect(page.locator("h1")).to_have_text("Deze factuur is betaald")  # the choice is kept all the way
    finally:
        context.close()


def test_the_help_page_and_its_widget_speak_the_browsers_language(web, browser, rasa_socket):
    rasa_socket.replies = [("Noté.", None)]
    rasa_socket.metadata.clear()
    context = browser.new_context(locale="fr-BE")
    try:
        page = context.new_page()
        page.goto(f"{web.url}/chat")
        expect(page.locator("html")).to_have_attribute("lang", "fr")
        launcher = page.get_by_role("button", name="Discutez avec nous")
        launcher.click()
        box = page.get_by_label("Votre message")
        expect(box).to_be_enabled()
        box.fill("bonjour")
        box.press("Enter")
        expect(page.get_by_role("log").locator(".settle-chat-bot")).to_have_count(1)
        expect(page.get_by_role("log")).to_contain_text("Settle a dit")
        assert rasa_socket.metadata[-1].get("language") is None  # a guess from the browser is not sent
    finally:
        context.close()
