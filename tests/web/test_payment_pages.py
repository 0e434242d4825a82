"""Every payment page and error page over real HTTP, with the sandbox and with Mollie (a local fake)."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
import requests
from sqlalchemy import func, select

from settle.clock import now_utc
from settle.db import session_factory
from settle.billing.copies import copy_link
from settle.models import Customer, Invoice, InvoiceStatus, ReceivedPayment
from settle.money import format_euros
from settle.payments.links import offer_link
from settle.payments.incoming import receive_payment
from settle.tooling.seed import PERSONAS
from settle.payments.transfer import structured_communication
from tests.fakes.mollie import running_fake_mollie
from tests.web.conftest import serve, web_settings

LUCAS = next(p for p in PERSONAS if p.shape == "overdue")
NOAH = next(p for p in PERSONAS if p.shape == "partly_paid")
EMMA = next(p for p in PERSONAS if p.shape == "usage_up")


def link_for(web, customer_number: str, now: datetime | None = None, invoice_number: str | None = None):
    with session_factory(web.settings.database_url).begin() as session:
        customer = session.execute(select(Customer).where(Customer.customer_number == customer_number)).scalar_one()
        return offer_link(session, customer.id, web.settings, now or now_utc(), invoice_number)


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
    assert "<label" in html or "aria-label" in html


@pytest.mark.parametrize("mangle", [lambda t: t[:-3] + "xyz", lambda t: t.split(".")[0] + ".", lambda t: "a.b"])
def test_a_tampered_link_shows_no_account_data(web, mangle):
    offer = link_for(web, LUCAS.customer_number)
    page = requests.get(f"{web.url}/pay/{mangle(offer.token)}", timeout=10)
    assert page.status_code == 404
    assert "This link doesn't work" in page.text
    assert LUCAS.first_name not in page.text and "€" not in page.text


def test_an_expired_link_says_how_to_get_a_fresh_one(web):
    offer = link_for(web, EMMA.customer_number, now=now_utc() - timedelta(days=30))
    page = requests.get(offer.url, timeout=10)
    assert page.status_code == 410
    assert "expired" in page.text and "send me a payment link" in page.text
    assert EMMA.first_name not in page.text


def test_a_link_whose_bill_changed_does_not_show_the_old_amount(web):
    offer = link_for(web, NOAH.customer_number)
    with session_factory(web.settings.database_url).begin() as session:
        invoice = session.execute(select(Invoice).where(Invoice.number == offer.invoice_numbers[0])).scalar_one()
        receive_payment(session, external_reference="web-test:changed", source="bank_statement", method="bank_transfer",
                        amount_cents=500, received_at=now_utc(), invoices=[invoice], customer_id=invoice.customer_id)
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
        url, invoice = copy_link(session, customer.id, web.settings, now_utc())
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

    # A webhook before the payment is done records nothing.
    assert browser_like.post(f"{web.url}/webhooks/mollie", data={"id": payment_id}, timeout=10).text == "ok"
    assert received_count(web, f"mollie:{payment_id}") == 0
    fake.set_status(payment_id, "paid")
    for _ in range(3):
        assert browser_like.post(f"{web.url}/webhooks/mollie", data={"id": payment_id}, timeout=10).text == "ok"
    assert received_count(web, f"mollie:{payment_id}") == 1
    assert invoice_statuses(web, offer.invoice_numbers) == {InvoiceStatus.PAID}


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
