"""Payment links and checkouts in the core: amounts from the database, signed, expiring, idempotent."""
from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, text

from settle.config import Settings
from settle.errors import InvoiceNotFound, LinkProblem, NothingToPay
from settle.models import Customer, Invoice, InvoiceStatus, Payment, ReceivedPayment
from settle.payments.checkout import handle_notification, provider_for, start_checkout
from settle.payments.incoming import receive_payment
from settle.payments.links import offer_link, open_link
from settle.tooling.seed import PERSONAS

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=timezone.utc)
PERSONA = {persona.shape: persona for persona in PERSONAS}


@pytest.fixture
def settings() -> Settings:
    return replace(Settings.from_environment(), link_secret="unit-test-link-secret", public_url="https://pay.example")


def customer(session, shape: str) -> Customer:
    return session.execute(select(Customer).where(Customer.customer_number == PERSONA[shape].customer_number)).scalar_one()


def open_total(session, customer_id: int) -> int:
    """Cents still to pay on the customer's open bills, summed in SQL rather than by the code under test."""
    return session.execute(
        text(
            "SELECT COALESCE(SUM(i.total_cents - (SELECT COALESCE(SUM(p.amount_cents), 0) FROM payments p"
            " WHERE p.invoice_id = i.id)), 0) FROM invoices i"
            " WHERE i.customer_id = :customer AND i.status IN ('open', 'partially_paid')"
        ),
        {"customer": customer_id},
    ).scalar_one()


def test_link_for_everything_open_carries_the_open_amount_from_the_database(session, settings):
    lucas = customer(session, "overdue")
    offer = offer_link(session, lucas.id, settings, NOW)
    assert offer.url.startswith("https://pay.example/pay/")
    assert int(offer.amount * 100) == open_total(session, lucas.id)
    assert len(offer.invoice_numbers) == 2
    assert offer.expires_at == NOW + timedelta(days=settings.link_ttl_days)


def test_the_token_is_the_reference_and_an_hmac_over_who_how_much_which_bills_and_until_when(session, settings):
    lucas = customer(session, "overdue")
    offer = offer_link(session, lucas.id, settings, NOW)
    reference, signature = offer.token.split(".")
    expires = int((NOW + timedelta(days=settings.link_ttl_days)).timestamp())
    # reference|customer id|amount in cents|expiry (Unix seconds)|invoice numbers, sorted|instalment (None: no plan)
    signed = f"{reference}|{lucas.id}|{open_total(session, lucas.id)}|{expires}|{','.join(sorted(offer.invoice_numbers))}|None"
    digest = hmac.new(b"unit-test-link-secret", signed.encode(), hashlib.sha256).digest()
    assert signature == base64.urlsafe_b64encode(digest[:24]).decode().rstrip("=")
    assert offer.url == f"https://pay.example/pay/{reference}.{signature}"


def test_asking_twice_gives_the_same_link(session, settings):
    lucas = customer(session, "overdue")
    first = offer_link(session, lucas.id, settings, NOW)
    again = offer_link(session, lucas.id, settings, NOW + timedelta(hours=3))
    assert again.url == first.url


def test_a_link_for_one_invoice_differs_from_the_link_for_all(session, settings):
    lucas = customer(session, "overdue")
    everything = offer_link(session, lucas.id, settings, NOW)
    one = offer_link(session, lucas.id, settings, NOW, invoice_number=everything.invoice_numbers[0].lower())
    assert one.url != everything.url
    assert one.invoice_numbers == everything.invoice_numbers[:1]
    assert one.amount < everything.amount


def test_an_invoice_of_another_customer_is_not_found(session, settings):
    lucas, emma = customer(session, "overdue"), customer(session, "usage_up")
    emmas_invoice = session.execute(select(Invoice.number).where(Invoice.customer_id == emma.id)).scalars().first()
    with pytest.raises(InvoiceNotFound):
        offer_link(session, lucas.id, settings, NOW, invoice_number=emmas_invoice)


def test_nothing_open_means_no_link(session, settings):
    with pytest.raises(NothingToPay):
        offer_link(session, customer(session, "all_paid").id, settings, NOW)


def test_disputed_bills_are_left_out_of_the_default_link(session, settings):
    louis = customer(session, "disputed")
    offer = offer_link(session, louis.id, settings, NOW)
    disputed = session.execute(
        select(Invoice.number).where(Invoice.customer_id == louis.id, Invoice.status == InvoiceStatus.DISPUTED)
    ).scalar_one()
    assert disputed not in offer.invoice_numbers


def test_a_valid_link_opens(session, settings):
    lucas = customer(session, "overdue")
    offer = offer_link(session, lucas.id, settings, NOW)
    link = open_link(session, offer.token, settings, NOW)
    assert link.customer_id == lucas.id


@pytest.mark.parametrize("tamper", [
    lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
    lambda token: token.split(".")[0],
    lambda token: "nothing." + token.split(".")[1],
    lambda token: "",
])
def test_a_tampered_link_is_unknown(session, settings, tamper):
    offer = offer_link(session, customer(session, "overdue").id, settings, NOW)
    with pytest.raises(LinkProblem) as problem:
        open_link(session, tamper(offer.token), settings, NOW)
    assert problem.value.reason == "unknown"


def test_a_link_signed_with_another_secret_is_unknown(session, settings):
    offer = offer_link(session, customer(session, "overdue").id, settings, NOW)
    with pytest.raises(LinkProblem) as problem:
        open_link(session, offer.token, replace(settings, link_secret="another-secret"), NOW)
    assert problem.value.reason == "unknown"


def test_a_link_expires(session, settings):
    offer = offer_link(session, customer(session, "overdue").id, settings, NOW)
    with pytest.raises(LinkProblem) as problem:
        open_link(session, offer.token, settings, offer.expires_at + timedelta(seconds=1))
    assert problem.value.reason == "expired"


def test_a_link_dies_when_part_is_paid_another_way(session, settings):
    lucas = customer(session, "overdue")
    offer = offer_link(session, lucas.id, settings, NOW)
    invoice = session.execute(select(Invoice).where(Invoice.number == offer.invoice_numbers[0])).scalar_one()
    receive_payment(session, external_reference="bank:1", source="bank_statement", method="bank_transfer",
                    amount_cents=100, received_at=NOW, invoices=[invoice], customer_id=lucas.id)
    with pytest.raises(LinkProblem) as problem:
        open_link(session, offer.token, settings, NOW)
    assert problem.value.reason == "changed"
    fresh = offer_link(session, lucas.id, settings, NOW)
    assert fresh.url != offer.url and int(fresh.amount * 100) == int(offer.amount * 100) - 100


def pay_through_sandbox(session, settings, offer, succeeded=True):
    link = open_link(session, offer.token, settings, NOW)
    sandbox = provider_for("sandbox", session, settings, NOW)
    checkout = start_checkout(session, link, offer.token, sandbox, settings, NOW, "en")
    sandbox.complete(checkout.provider_payment_id, succeeded=succeeded)
    return sandbox, checkout


def test_paying_records_one_payment_and_kills_the_link(session, settings):
    lucas = customer(session, "overdue")
    offer = offer_link(session, lucas.id, settings, NOW)
    sandbox, checkout = pay_through_sandbox(session, settings, offer)

    assert handle_notification(session, sandbox, checkout.provider_payment_id, NOW) == "recorded"
    assert handle_notification(session, sandbox, checkout.provider_payment_id, NOW) == "already recorded"
    received = session.execute(select(ReceivedPayment).where(ReceivedPayment.external_reference == f"sandbox:{checkout.provider_payment_id}")).scalars().all()
    assert len(received) == 1 and received[0].amount_cents == int(offer.amount * 100)
    assert open_total(session, lucas.id) == 0
    statuses = session.execute(select(Invoice.status).where(Invoice.number.in_(offer.invoice_numbers))).scalars().all()
    assert set(statuses) == {InvoiceStatus.PAID}
    with pytest.raises(LinkProblem) as problem:
        open_link(session, offer.token, settings, NOW)
    assert problem.value.reason == "paid"


def test_a_failed_payment_records_nothing_and_the_link_stays_usable(session, settings):
    lucas = customer(session, "overdue")
    offer = offer_link(session, lucas.id, settings, NOW)
    before = session.execute(select(func.count()).select_from(Payment)).scalar_one()
    sandbox, checkout = pay_through_sandbox(session, settings, offer, succeeded=False)
    assert handle_notification(session, sandbox, checkout.provider_payment_id, NOW) == "failed"
    assert session.execute(select(func.count()).select_from(Payment)).scalar_one() == before
    assert open_link(session, offer.token, settings, NOW).customer_id == lucas.id


def test_a_double_click_reuses_the_open_checkout(session, settings):
    offer = offer_link(session, customer(session, "overdue").id, settings, NOW)
    link = open_link(session, offer.token, settings, NOW)
    sandbox = provider_for("sandbox", session, settings, NOW)
    first = start_checkout(session, link, offer.token, sandbox, settings, NOW, "en")
    second = start_checkout(session, link, offer.token, sandbox, settings, NOW, "en")
    assert first.id == second.id


def test_a_notification_for_an_unknown_payment_changes_nothing(session, settings):
    sandbox = provider_for("sandbox", session, settings, NOW)
    assert handle_notification(session, sandbox, "sbx_not_ours", NOW) == "unknown"


def test_a_shared_database_needs_a_shared_link_secret(settings):
    from settle.signing import MissingSecret, link_secret

    with pytest.raises(MissingSecret, match="SETTLE_LINK_SECRET"):
        link_secret(replace(settings, link_secret=None, database_url="postgresql://db.example/settle"))
