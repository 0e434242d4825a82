"""Every payment page and error page over real HTTP, with the sandbox and with Mollie (a local fake)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html.parser import HTMLParser

import pytest
import requests
from sqlalchemy import func, select

from settle.arrangements.plans import create_plan
from settle.billing.copies import copy_link
from settle.db import session_factory
from settle.models import UNPAID_STATUSES, Customer, Invoice, InvoiceStatus, ReceivedPayment
from settle.money import format_euros
from settle.payments.incoming import receive_payment
from settle.payments.links import offer_instalment_link, offer_link
from settle.payments.transfer import structured_communication
from settle.policy import load_policy
from settle.tooling.seed import PERSONAS
from tests.conftest import NOW, TODAY, seeded_sqlite
from tests.fakes.mollie import running_fake_mollie
from tests.web.conftest import serve, web_settings

LUCAS = next(p for p in PERSONAS if p.shape == "overdue")
NOAH = next(p for p in PERSONAS if p.shape == "partly_paid")
EMMA = next(p for p in PERSONAS if p.shape == "usage_up")
LOUIS = next(p for p in PERSONAS if p.shape == "disputed")
#: What the payment page says under a bill that is late.
LATE = "The due date has passed"
VOID_ELEMENTS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    children: list = field(default_factory=list)  # Elements and text

    def text(self) -> str:
        """The text a screen reader reads out of the element, whitespace collapsed."""
        parts = [child if isinstance(child, str) else child.text() for child in self.children]
        return " ".join(" ".join(parts).split())

    def walk(self, ancestors: tuple = ()):
        """(element, its ancestors) for this element and everything in it, in document order."""
        yield self, ancestors
        for child in self.children:
            if isinstance(child, Element):
                yield from child.walk(ancestors + (self,))


class _Tree(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.root = Element("#document", {})
        self.open = [self.root]

    def handle_starttag(self, tag, attrs):
        element = Element(tag, {name: value or "" for name, value in attrs})
        self.open[-1].children.append(element)
        if tag not in VOID_ELEMENTS:
            self.open.append(element)

    def handle_startendtag(self, tag, attrs):
        self.open[-1].children.append(Element(tag, {name: value or "" for name, value in attrs}))

    def handle_endtag(self, tag):
        for depth in range(len(self.open) - 1, 0, -1):
            if self.open[depth].tag == tag:
                del self.open[depth:]
                return

    def handle_data(self, data):
        self.open[-1].children.append(data)


def parse_html(html: str) -> Element:
    tree = _Tree()
    tree.feed(html)
    return tree.root


def accessible_names(html: str) -> list[tuple[str, str]]:
    """(tag, accessible name) of every control a user can operate, as assistive technology names it:
    aria-labelledby, aria-label, then a button's text or value, or the control's <label>."""
    root = parse_html(html)
    elements = list(root.walk())
    by_id = {element.attrs["id"]: element for element, _ in elements if "id" in element.attrs}
    label_for = {
        element.attrs["for"]: element.text() for element, _ in elements if element.tag == "label" and "for" in element.attrs
    }
    named = []
    for element, ancestors in elements:
        kind = element.attrs.get("type", "")
        if element.tag not in ("button", "input", "select", "textarea") or kind == "hidden":
            continue
        if element.attrs.get("aria-labelledby"):
            name = " ".join(by_id[part].text() for part in element.attrs["aria-labelledby"].split())
        elif element.attrs.get("aria-label"):
            name = element.attrs["aria-label"]
        elif element.tag == "button":
            name = element.text()
        elif element.tag == "input" and kind in ("submit", "button", "reset"):
            name = element.attrs.get("value", "")
        else:
            enclosing = next((a.text() for a in reversed(ancestors) if a.tag == "label"), "")
            name = label_for.get(element.attrs.get("id", ""), "") or enclosing
        named.append((element.tag, " ".join(name.split())))
    return named


def image_names(html: str) -> list[str]:
    """The names of the elements that show themselves to screen readers as images."""
    return [element.attrs.get("aria-label", "") for element, _ in parse_html(html).walk() if element.attrs.get("role") == "img"]


def link_for(web, customer_number: str, now: datetime | None = None, invoice_number: str | None = None):
    with session_factory(web.settings.database_url).begin() as session:
        customer = session.execute(select(Customer).where(Customer.customer_number == customer_number)).scalar_one()
        return offer_link(session, customer.id, web.settings, now or NOW, invoice_number)


def received_count(web, reference_prefix: str) -> int:
    with session_factory(web.settings.database_url).begin() as session:
        return session.execute(
            select(func.count()).select_from(ReceivedPayment).where(ReceivedPayment.external_reference.startswith(reference_prefix))
        ).scalar_one()


def invoice_statuses(web, numbers) -> set:
    with session_factory(web.settings.database_url).begin() as session:
        return set(session.execute(select(Invoice.status).where(Invoice.number.in_(numbers))).scalars())


def test_payment_page_shows_the_bill_and_every_way_to_pay(web):
    offer = link_for(web, LUCAS.customer_number)
    page = requests.get(offer.url, timeout=10)

    assert page.status_code == 200
    html = page.text
    assert format_euros(offer.amount) in html
    for number in offer.invoice_numbers:
        assert number in html
        assert structured_communication(number) in html
    assert web.settings.company_iban in html and web.settings.company_bic in html
    assert html.count("<svg") == len(offer.invoice_numbers)  # one QR code per bill
    assert "Electricity used" in html and "Standing charge" in html
    assert f'action="/pay/{offer.token}/checkout"' in html
    assert web.settings.support_phone in html
    assert LATE in html  # Lucas's older bill is past its due date


def test_every_control_on_the_payment_page_says_what_it_does(web):
    offer = link_for(web, LUCAS.customer_number)
    html = requests.get(offer.url, timeout=10).text

    controls = accessible_names(html)
    assert all(name for _, name in controls), controls
    assert controls == [("button", f"Pay online (demo): {format_euros(offer.amount)}")]
    qr_codes = image_names(html)
    assert len(qr_codes) == len(offer.invoice_numbers)
    for name, number in zip(qr_codes, offer.invoice_numbers, strict=True):
        communication = re.escape(structured_communication(number))
        assert re.fullmatch(rf"QR code for a transfer of €[\d,]+\.\d\d with communication {communication}", name)


def test_a_disputed_bill_is_not_called_late_on_the_payment_page(web):
    with session_factory(web.settings.database_url).begin() as session:
        louis = session.execute(select(Customer).where(Customer.customer_number == LOUIS.customer_number)).scalar_one()
        disputed = session.execute(
            select(Invoice).where(Invoice.customer_id == louis.id, Invoice.status == InvoiceStatus.DISPUTED)
        ).scalar_one()
        assert disputed.due_date < TODAY  # late by the calendar, but on hold while the dispute is looked at
        number = disputed.number
    offer = link_for(web, LOUIS.customer_number, invoice_number=number)
    page = requests.get(offer.url, timeout=10)
    assert page.status_code == 200 and f"Bill {number}" in page.text
    assert LATE not in page.text


def test_a_bill_in_a_payment_plan_is_not_called_late_on_the_payment_page(tmp_path):
    database_url = seeded_sqlite(tmp_path / "settle.db")
    for web in serve(web_settings(database_url)):
        with session_factory(database_url).begin() as session:
            lucas = session.execute(select(Customer).where(Customer.customer_number == LUCAS.customer_number)).scalar_one()
            plan = create_plan(session, lucas.id, 3, TODAY, load_policy(web.settings.policy_file), TODAY, NOW)
            assert min(invoice.due_date for invoice in plan.invoices) < TODAY  # the overdue bill went into the plan
            offer = offer_instalment_link(session, plan, web.settings, NOW)  # as the chat gives it
        page = requests.get(offer.url, timeout=10)
        assert page.status_code == 200 and "This part of your payment plan" in page.text
        assert LATE not in page.text


@pytest.mark.parametrize("mangle", [lambda t: t[:-3] + "xyz", lambda t: t.split(".")[0] + ".", lambda t: "a.b"])
def test_a_tampered_link_shows_no_account_data(web, mangle):
    offer = link_for(web, LUCAS.customer_number)
    page = requests.get(f"{web.url}/pay/{mangle(offer.token)}", timeout=10)
    assert page.status_code == 404
    assert "This link doesn't work" in page.text
    assert LUCAS.first_name not in page.text and "€" not in page.text


def test_an_expired_link_says_how_to_get_a_fresh_one(web):
    offer = link_for(web, EMMA.customer_number, now=NOW - timedelta(days=30))
    page = requests.get(offer.url, timeout=10)
    assert page.status_code == 410
    assert "expired" in page.text and "send me a payment link" in page.text
    assert EMMA.first_name not in page.text


def test_a_link_whose_bill_changed_does_not_show_the_old_amount(web):
    offer = link_for(web, NOAH.customer_number)
    with session_factory(web.settings.database_url).begin() as session:
        invoice = session.execute(select(Invoice).where(Invoice.number == offer.invoice_numbers[0])).scalar_one()
        receive_payment(session, external_reference="web-test:changed", source="bank_statement", method="bank_transfer",
                        amount_cents=500, received_at=NOW, invoices=[invoice], customer_id=invoice.customer_id)
    page = requests.get(offer.url, timeout=10)
    assert page.status_code == 410
    assert "This bill has changed" in page.text
    assert format_euros(offer.amount) not in page.text


def test_paying_in_the_sandbox_marks_the_bills_paid_once(web, browser_like):
    offer = link_for(web, LUCAS.customer_number)
    to_checkout = browser_like.post(f"{offer.url}/checkout", allow_redirects=False, timeout=10)
    assert to_checkout.status_code == 303
    checkout_url = to_checkout.headers["location"]
    assert checkout_url.startswith(f"{web.url}/sandbox/checkout/sbx_")

    sandbox_page = browser_like.get(checkout_url, timeout=10)
    assert format_euros(offer.amount) in sandbox_page.text and "no money moves" in sandbox_page.text
    buttons = accessible_names(sandbox_page.text)
    assert buttons == [("button", f"Pay {format_euros(offer.amount)}"), ("button", "Simulate a failed payment")]
    again = browser_like.post(f"{offer.url}/checkout", allow_redirects=False, timeout=10)
    assert again.headers["location"] == checkout_url  # a double click pays once

    paid = browser_like.post(checkout_url, data={"outcome": "pay"}, allow_redirects=False, timeout=10)
    assert paid.status_code == 303 and paid.headers["location"] == f"{offer.url}/done"
    done = browser_like.get(paid.headers["location"], timeout=10)
    assert "This bill is paid" in done.text
    assert invoice_statuses(web, offer.invoice_numbers) == {InvoiceStatus.PAID}

    payment_id = checkout_url.rsplit("/", 1)[1]
    for _ in range(2):  # the provider repeats its webhook
        assert browser_like.post(f"{web.url}/webhooks/sandbox", data={"id": payment_id}, timeout=10).text == "ok"
    browser_like.post(checkout_url, data={"outcome": "pay"}, allow_redirects=False, timeout=10)
    assert received_count(web, f"sandbox:{payment_id}") == 1
    assert requests.get(offer.url, timeout=10).status_code == 200  # a paid link says thank you
    assert "This bill is paid" in requests.get(offer.url, timeout=10).text


def test_a_failed_sandbox_payment_can_be_tried_again(web, browser_like):
    offer = link_for(web, EMMA.customer_number)
    checkout_url = browser_like.post(f"{offer.url}/checkout", allow_redirects=False, timeout=10).headers["location"]
    failed = browser_like.post(checkout_url, data={"outcome": "fail"}, allow_redirects=False, timeout=10)
    done = browser_like.get(failed.headers["location"], timeout=10)
    assert "did not go through" in done.text and "Nothing was charged" in done.text
    assert invoice_statuses(web, offer.invoice_numbers) == {InvoiceStatus.OPEN}
    retry = browser_like.post(f"{offer.url}/checkout", allow_redirects=False, timeout=10)
    assert retry.headers["location"] != checkout_url


def test_webhooks_for_unknown_payments_or_providers(web):
    assert requests.post(f"{web.url}/webhooks/sandbox", data={"id": "sbx_unknown"}, timeout=10).text == "ok"
    assert requests.post(f"{web.url}/webhooks/stripe", data={"id": "x"}, timeout=10).status_code == 404
    assert requests.get(f"{web.url}/sandbox/checkout/sbx_unknown", timeout=10).status_code == 404


def test_invoice_copy_is_a_pdf_behind_a_signed_link(web):
    with session_factory(web.settings.database_url).begin() as session:
        customer = session.execute(select(Customer).where(Customer.customer_number == EMMA.customer_number)).scalar_one()
        url, invoice = copy_link(session, customer.id, web.settings, NOW)
        number = invoice.number
    pdf = requests.get(url, timeout=10)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    assert requests.get(url.replace(number, "INV-2026-000001"), timeout=10).status_code == 404
    base, token = url.split("/invoices/")
    longer = re.sub(r"\.(\d+)\.", lambda m: f".{int(m.group(1)) + 86400}.", token, count=1)
    assert requests.get(f"{base}/invoices/{longer}", timeout=10).status_code == 404


@pytest.fixture
def mollie_web(web_database):
    with running_fake_mollie("test_mollie_key") as fake:
        settings = web_settings(web_database, payment_provider="mollie", mollie_api_key="test_mollie_key", mollie_api_url=fake.url)
        for app in serve(settings):
            yield app, fake


def test_paying_through_mollie_records_one_payment_whatever_the_webhooks(mollie_web, browser_like):
    web, fake = mollie_web
    offer = link_for(web, NOAH.customer_number)
    to_checkout = browser_like.post(f"{offer.url}/checkout", allow_redirects=False, timeout=10)
    assert to_checkout.status_code == 303
    payment_id = next(iter(fake.payments))
    assert to_checkout.headers["location"] == fake.payments[payment_id]["_links"]["checkout"]["href"]
    created = fake.payments[payment_id]
    assert created["amount"] == {"currency": "EUR", "value": f"{offer.amount:.2f}"}
    assert created["webhookUrl"] == f"{web.url}/webhooks/mollie"
    assert created["locale"] == "en_US"  # Noah's language

    # A webhook before the payment is done records nothing.
    assert browser_like.post(f"{web.url}/webhooks/mollie", data={"id": payment_id}, timeout=10).text == "ok"
    assert received_count(web, f"mollie:{payment_id}") == 0
    fake.set_status(payment_id, "paid")
    for _ in range(3):
        assert browser_like.post(f"{web.url}/webhooks/mollie", data={"id": payment_id}, timeout=10).text == "ok"
    assert received_count(web, f"mollie:{payment_id}") == 1
    assert invoice_statuses(web, offer.invoice_numbers) == {InvoiceStatus.PAID}


@pytest.mark.parametrize(("speaks", "page_in", "locale"), [("nl", "", "nl_BE"), ("fr", "", "fr_BE"), ("fr", "en", "en_US")])
def test_mollies_checkout_speaks_the_language_of_the_payment_page(mollie_web, browser_like, speaks, page_in, locale):
    """The customer's own language, or the one chosen on the page (`?language=`), as Mollie's Belgian locale."""
    web, fake = mollie_web
    offer = link_for(web, a_customer_owing(web, speaks, nth={"": 0, "en": 1}[page_in]))
    chosen = f"?language={page_in}" if page_in else ""
    assert browser_like.post(f"{offer.url}/checkout{chosen}", allow_redirects=False, timeout=10).status_code == 303
    assert [payment["locale"] for payment in fake.payments.values()] == [locale]


def a_customer_owing(web, language: str, nth: int) -> str:
    """The customer number of the nth demo customer (no persona) who speaks `language` and has a bill to pay."""
    personas = [persona.customer_number for persona in PERSONAS]
    with session_factory(web.settings.database_url).begin() as session:
        owing = select(Invoice.customer_id).where(Invoice.status.in_(UNPAID_STATUSES))
        return session.execute(
            select(Customer.customer_number).where(Customer.language == language, Customer.id.in_(owing),
                                                   Customer.customer_number.not_in(personas))
            .order_by(Customer.id).offset(nth).limit(1)).scalar_one()


def test_mollie_being_down_gives_a_clear_page_and_a_retry_later(web_database, browser_like):
    with running_fake_mollie("right_key") as fake:
        settings = web_settings(web_database, payment_provider="mollie", mollie_api_key="wrong_key", mollie_api_url=fake.url)
        for web in serve(settings):
            offer = link_for(web, EMMA.customer_number)
            page = browser_like.post(f"{offer.url}/checkout", allow_redirects=False, timeout=10)
            assert page.status_code == 503
            assert "Online payment is not available right now" in page.text and "wrong_key" not in page.text
            retry = browser_like.post(f"{web.url}/webhooks/mollie", data={"id": "tr_abcdefghij"}, timeout=10)
            assert retry.text == "ok"  # not one of ours: nothing to fetch
            # with a real provider, the demo sandbox can't be used to mark bills paid
            assert browser_like.get(f"{web.url}/sandbox/checkout/sbx_any", timeout=10).status_code == 404
            assert browser_like.post(f"{web.url}/webhooks/sandbox", data={"id": "sbx_any"}, timeout=10).status_code == 404
