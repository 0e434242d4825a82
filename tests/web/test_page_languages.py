"""The customer's pages speak the customer's language: a link's pages in the language of the customer it was made
for, any page in the language asked for (`?language=`, the page's switch), otherwise in the browser's; amounts and
dates as Belgians write them in it. Over real HTTP, against the app as it runs."""
from __future__ import annotations

import io
import threading
import time
from dataclasses import replace

import pytest
import requests
import uvicorn
from pypdf import PdfReader
from sqlalchemy import select

from settle.billing.copies import copy_link
from settle.db import session_factory
from settle.models import Customer
from settle.money import format_euros
from settle.payments.links import offer_link
from settle.tooling.seed import PERSONAS
from settle.web.app import create_app
from settle.web.languages import accepted_language
from tests.conftest import NOW, free_port, seeded_sqlite
from tests.web.conftest import serve, web_settings
from tests.web.test_chat_page import chat_config
from tests.web.test_payment_pages import parse_html

LUCAS = next(p for p in PERSONAS if p.shape == "overdue")
EMMA = next(p for p in PERSONAS if p.shape == "usage_up")
NOAH = next(p for p in PERSONAS if p.shape == "partly_paid")
#: What each language's payment page says first, and how it writes its amounts.
HEADING = {"nl": "Uw factuur betalen", "fr": "Payer votre facture", "en": "Pay your bill"}
NBSP, NNBSP = "\u00a0", "\u202f"


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    """The app on a database of its own: these tests change which language the personas speak."""
    database_url = seeded_sqlite(tmp_path_factory.mktemp("page-languages") / "settle.db")
    yield from serve(web_settings(database_url))


def speaks(web, customer_number: str, language: str) -> None:
    with session_factory(web.settings.database_url).begin() as session:
        customer = session.execute(select(Customer).where(Customer.customer_number == customer_number)).scalar_one()
        customer.language = language


def link_for(web, customer_number: str, now=NOW):
    with session_factory(web.settings.database_url).begin() as session:
        customer = session.execute(select(Customer).where(Customer.customer_number == customer_number)).scalar_one()
        return offer_link(session, customer.id, web.settings, now)


def pdf_text(data: bytes) -> str:
    return PdfReader(io.BytesIO(data)).pages[0].extract_text()


def html_lang(html: str) -> str:
    return next(element.attrs["lang"] for element, _ in parse_html(html).walk() if element.tag == "html")


def switch_links(html: str) -> dict[str, str]:
    """The language switch: each language's name → where it leads."""
    root = parse_html(html)
    nav = next(element for element, _ in root.walk() if element.tag == "nav" and "languages" in element.attrs.get("class", ""))
    return {element.text(): element.attrs["href"] for element, _ in nav.walk() if element.tag == "a"}


@pytest.mark.parametrize(("language", "amount_pattern"), [("nl", "€" + NBSP), ("fr", NBSP + "€"), ("en", "€")])
def test_a_payment_page_speaks_the_language_of_the_customer_it_was_made_for(web, language, amount_pattern):
    speaks(web, LUCAS.customer_number, language)
    offer = link_for(web, LUCAS.customer_number)

    page = requests.get(offer.url, timeout=10)  # no Accept-Language: the customer's language decides

    assert page.status_code == 200
    assert html_lang(page.text) == language
    assert page.headers["Content-Language"] == language
    assert "Accept-Language" in page.headers["Vary"]
    assert f"<h1>{HEADING[language]}</h1>" in page.text
    assert format_euros(offer.amount, language) in page.text and amount_pattern in format_euros(offer.amount, language)


def test_amounts_dates_and_bill_lines_read_as_belgians_write_them(web):
    speaks(web, LUCAS.customer_number, "nl")
    offer = link_for(web, LUCAS.customer_number)
    dutch = requests.get(offer.url, timeout=10).text
    french = requests.get(offer.url, params={"language": "fr"}, timeout=10).text

    assert format_euros(offer.amount, "nl").startswith("€" + NBSP) and format_euros(offer.amount, "nl") in dutch
    assert format_euros(offer.amount, "fr").endswith(NBSP + "€") and format_euros(offer.amount, "fr") in french
    assert "Te betalen uiterlijk op" in dutch and "À payer au plus tard le" in french
    assert "Deze link is persoonlijk en werkt tot" in dutch and "novembre 2026" in french  # Babel's months
    assert "€ " not in dutch.replace(f"€{NBSP}", "")  # an amount never wraps between sign and number
    assert "Vaste vergoeding" in dutch and "Redevance fixe" in french  # the bill's lines in the reader's words
    assert "Standing charge" not in dutch + french
    assert "Verbruikte elektriciteit" in dutch and "Électricité consommée" in french


def test_the_language_asked_for_wins_and_is_kept_by_the_pages_links_and_forms(web):
    speaks(web, EMMA.customer_number, "nl")
    offer = link_for(web, EMMA.customer_number)

    page = requests.get(offer.url, params={"language": "fr"}, headers={"Accept-Language": "nl-BE"}, timeout=10)

    assert html_lang(page.text) == "fr" and HEADING["fr"] in page.text
    assert f'action="/pay/{offer.token}/checkout?language=fr"' in page.text  # the checkout keeps the choice
    links = switch_links(page.text)
    assert set(links) == {"Nederlands", "Français", "English"}
    english = requests.get(f"{web.url}{links['English']}", timeout=10)
    assert html_lang(english.text) == "en" and HEADING["en"] in english.text


def test_a_chosen_language_goes_through_the_sandbox_checkout_and_back(web, browser_like):
    speaks(web, EMMA.customer_number, "fr")
    offer = link_for(web, EMMA.customer_number)
    to_checkout = browser_like.post(f"{offer.url}/checkout?language=nl", allow_redirects=False, timeout=10)
    checkout_url = to_checkout.headers["location"]
    assert checkout_url.endswith("?language=nl")
    sandbox = browser_like.get(checkout_url, timeout=10)
    assert html_lang(sandbox.text) == "nl"
    failed = browser_like.post(checkout_url, data={"outcome": "fail"}, allow_redirects=False, timeout=10)
    assert failed.headers["location"] == f"{offer.url}/done?language=nl"
    assert "De betaling is niet gelukt" in browser_like.get(failed.headers["location"], timeout=10).text


def test_an_unsupported_language_asked_for_falls_back_to_the_customers(web):
    speaks(web, EMMA.customer_number, "fr")
    offer = link_for(web, EMMA.customer_number)
    page = requests.get(offer.url, params={"language": "de"}, timeout=10)
    assert html_lang(page.text) == "fr" and HEADING["fr"] in page.text


@pytest.mark.parametrize(("accepted", "language"), [
    ("nl-BE,nl;q=0.9,en;q=0.8", "nl"),
    ("fr-BE,fr;q=0.9", "fr"),
    ("de-DE,de;q=0.9,fr;q=0.5,nl;q=0.4", "fr"),
    ("en;q=0.3,nl;q=0.7", "nl"),
    ("de-DE", "en"),
    ("", "en"),
])
def test_without_a_customer_the_browsers_language_decides(web, accepted, language):
    page = requests.get(f"{web.url}/pay/not-a.link", headers={"Accept-Language": accepted}, timeout=10)
    assert page.status_code == 404
    assert html_lang(page.text) == language and page.headers["Content-Language"] == language
    assert "Accept-Language" in page.headers["Vary"]


def test_a_browser_language_settle_does_not_speak_is_no_choice():
    assert accepted_language("de-DE,de;q=0.9") is None
    assert accepted_language("nl;q=0, fr;q=0.2") == "fr"  # q=0 means "not this one"
    assert accepted_language("en, nl") == "en"  # a tie goes to the first listed


def test_a_dead_link_still_speaks_its_customers_language(web):
    speaks(web, NOAH.customer_number, "fr")
    expired = link_for(web, NOAH.customer_number, now=NOW.replace(year=2025))
    page = requests.get(expired.url, headers={"Accept-Language": "nl"}, timeout=10)
    assert page.status_code == 410
    assert "Ce lien a expiré" in page.text and "envoyez-moi un lien de paiement" in page.text
    assert NOAH.first_name not in page.text


def test_the_sandbox_checkout_speaks_the_customers_language(web, browser_like):
    speaks(web, LUCAS.customer_number, "nl")
    offer = link_for(web, LUCAS.customer_number)
    checkout_url = browser_like.post(f"{offer.url}/checkout", allow_redirects=False, timeout=10).headers["location"]

    sandbox = browser_like.get(checkout_url, timeout=10)

    assert html_lang(sandbox.text) == "nl"
    assert f"{format_euros(offer.amount, 'nl')} betalen" in sandbox.text
    assert "Een mislukte betaling nabootsen" in sandbox.text
    failed = browser_like.post(checkout_url, data={"outcome": "fail"}, allow_redirects=False, timeout=10)
    done = browser_like.get(failed.headers["location"], timeout=10)
    assert "De betaling is niet gelukt" in done.text and "Er werd niets aangerekend" in done.text


def test_the_payment_service_being_down_is_said_in_the_customers_language(tmp_path):
    database_url = seeded_sqlite(tmp_path / "settle.db")
    settings = web_settings(database_url, payment_provider="mollie", mollie_api_key="test_key", mollie_api_url="http://127.0.0.1:9")
    for web in serve(settings):
        speaks(web, LUCAS.customer_number, "fr")
        offer = link_for(web, LUCAS.customer_number)
        down = requests.post(f"{offer.url}/checkout", allow_redirects=False, timeout=20)
        assert down.status_code == 503
        assert html_lang(down.text) == "fr" and "Le paiement en ligne n'est pas disponible" in down.text
        assert f'href="/pay/{offer.token}"' in down.text


@pytest.mark.parametrize(("accepted", "language", "heading"), [
    ("nl-BE", "nl", "We vinden deze pagina niet"), ("fr", "fr", "Nous ne trouvons pas cette page"),
    ("en-GB", "en", "We can't find this page"),
])
def test_an_unknown_address_gets_a_friendly_page_in_the_visitors_language(web, accepted, language, heading):
    page = requests.get(f"{web.url}/no/such/page", headers={"Accept-Language": accepted}, timeout=10)
    assert page.status_code == 404 and "text/html" in page.headers["content-type"]
    assert html_lang(page.text) == language and heading in page.text
    assert 'href="/chat"' in page.text and web.settings.support_phone in page.text


def test_an_error_shows_a_kind_page_without_a_stack_trace(tmp_path):
    settings = web_settings(seeded_sqlite(tmp_path / "settle.db"))
    port = free_port()
    app = create_app(replace(settings, public_url=f"http://127.0.0.1:{port}"))

    @app.get("/broken")
    def broken():
        raise RuntimeError("secret internals: customer 123 card 4111")

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        page = requests.get(f"http://127.0.0.1:{port}/broken", headers={"Accept-Language": "fr-BE"}, timeout=10)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert page.status_code == 500
    assert html_lang(page.text) == "fr" and "Un problème est survenu de notre côté" in page.text
    assert "Traceback" not in page.text and "secret internals" not in page.text and "RuntimeError" not in page.text


@pytest.mark.parametrize(("query", "accepted", "language", "sent"), [
    ({"language": "nl"}, "fr", "nl", "nl"),
    ({}, "fr-BE,fr;q=0.9", "fr", None),
    ({}, "", "en", None),
])
def test_the_chat_page_sends_only_a_chosen_language_with_the_messages(web, query, accepted, language, sent):
    page = requests.get(f"{web.url}/chat", params=query, headers={"Accept-Language": accepted}, timeout=10)
    config = chat_config(page.text)

    assert html_lang(page.text) == language
    assert config.get("language") == sent  # a guess from the browser is no reason to override what is typed
    assert set(switch_links(page.text).values()) == {"/chat?language=nl", "/chat?language=fr", "/chat?language=en"}


def test_the_chat_widget_gets_its_words_in_the_pages_language(web):
    texts = {language: chat_config(requests.get(f"{web.url}/chat", params={"language": language}, timeout=10).text)["texts"]
             for language in ("nl", "fr", "en")}
    assert texts["en"]["launcher"] == "Chat with us" and texts["en"]["send"] == "Send"
    assert texts["nl"]["launcher"] == "Chat met ons" and texts["nl"]["send"] == "Versturen"
    assert texts["fr"]["launcher"] == "Discutez avec nous" and texts["fr"]["send"] == "Envoyer"
    assert texts["nl"]["agentSaid"] == "%(name)s van ons team zei: "  # the widget fills in the name
    assert set(texts["nl"]) == set(texts["fr"]) == set(texts["en"])
    assert all(texts["nl"][key] != texts["en"][key] and texts["fr"][key] != texts["en"][key] for key in texts["en"])


def test_the_agent_console_stays_english(web):
    page = requests.get(f"{web.url}/agent/login", headers={"Accept-Language": "fr-BE"}, timeout=10)
    assert page.status_code == 200
    assert html_lang(page.text) == "en" and "languages" not in page.text


def test_the_pdf_copy_of_a_bill_is_in_the_customers_language_unless_another_is_asked(web):
    speaks(web, EMMA.customer_number, "fr")
    with session_factory(web.settings.database_url).begin() as session:
        customer = session.execute(select(Customer).where(Customer.customer_number == EMMA.customer_number)).scalar_one()
        url, _ = copy_link(session, customer.id, web.settings, NOW)

    french = requests.get(url, timeout=10)
    english = requests.get(url, params={"language": "en"}, timeout=10)

    assert french.headers["content-type"] == "application/pdf" and french.headers["Content-Language"] == "fr"
    assert "Copie de la facture" in pdf_text(french.content) and "Reste à payer" in pdf_text(french.content)
    assert english.headers["Content-Language"] == "en" and "Invoice copy" in pdf_text(english.content)
