"""The Mollie provider against a fake Mollie over real HTTP: what it sends, what it reads, how it fails."""
from __future__ import annotations

import socket
from datetime import datetime, timedelta, timezone

import pytest
import requests

from settle.errors import ProviderError
from settle.payments.providers import CheckoutRequest
from settle.payments.providers.mollie import MollieProvider
from tests.fakes.mollie import running_fake_mollie

API_KEY = "test_settleFakeKey0123456789abcdefgh"
WRONG_KEY = "test_wrongFakeKey9876543210zyxwvuts"


@pytest.fixture
def fake():
    with running_fake_mollie(API_KEY) as running:
        yield running


@pytest.fixture
def mollie(fake) -> MollieProvider:
    return MollieProvider(fake.url, API_KEY, timeout=2)


def checkout_request(amount_cents: int = 1234, idempotency_key: str = "link-1-attempt-1", language: str = "en") -> CheckoutRequest:
    return CheckoutRequest(
        amount_cents=amount_cents,
        description="Invoice INV-2026-0042",
        idempotency_key=idempotency_key,
        redirect_url="https://settle.example/pay/return/abc",
        webhook_url="https://settle.example/webhooks/mollie",
        language=language,
        metadata={"invoice_number": "INV-2026-0042", "payment_link": "17"},
    )


def created_payment(mollie, amount_cents: int = 1234) -> str:
    return mollie.create_checkout(checkout_request(amount_cents)).provider_payment_id


def assert_one_line_without_keys(error: ProviderError) -> None:
    message = str(error)
    assert "\n" not in message
    assert API_KEY not in message
    assert WRONG_KEY not in message


# --- creating a checkout -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cents", "value"),
    [(1234, "12.34"), (50, "0.50"), (5, "0.05"), (100, "1.00"), (1999, "19.99"), (123456789, "1234567.89")],
)
def test_create_sends_the_amount_as_a_string_with_two_decimals(fake, mollie, cents, value):
    mollie.create_checkout(checkout_request(cents))

    assert fake.requests[-1].body["amount"] == {"currency": "EUR", "value": value}


def test_create_sends_description_urls_and_metadata(fake, mollie):
    mollie.create_checkout(checkout_request())

    sent = fake.requests[-1]
    assert (sent.method, sent.path) == ("POST", "/v2/payments")
    assert sent.body == {
        "amount": {"currency": "EUR", "value": "12.34"},
        "description": "Invoice INV-2026-0042",
        "redirectUrl": "https://settle.example/pay/return/abc",
        "webhookUrl": "https://settle.example/webhooks/mollie",
        "metadata": {"invoice_number": "INV-2026-0042", "payment_link": "17"},
        "locale": "en_US",
    }


@pytest.mark.parametrize(("language", "locale"), [("nl", "nl_BE"), ("fr", "fr_BE"), ("en", "en_US")])
def test_the_checkout_speaks_the_customers_language_the_belgian_way(fake, mollie, language, locale):
    created = mollie.create_checkout(checkout_request(language=language))

    assert fake.requests[-1].body["locale"] == locale
    assert fake.payments[created.provider_payment_id]["locale"] == locale  # accepted, not refused


def test_create_sends_the_bearer_key_and_the_idempotency_key(fake, mollie):
    mollie.create_checkout(checkout_request(idempotency_key="link-7-attempt-2"))

    headers = fake.requests[-1].headers
    assert headers["Authorization"] == f"Bearer {API_KEY}"
    assert headers["Idempotency-Key"] == "link-7-attempt-2"
    assert headers["Content-Type"] == "application/json"


def test_create_returns_mollies_id_and_checkout_link(fake, mollie):
    created = mollie.create_checkout(checkout_request())

    assert created.provider_payment_id in fake.payments
    assert created.checkout_url == fake.payments[created.provider_payment_id]["_links"]["checkout"]["href"]
    assert created.checkout_url.startswith(fake.url.removesuffix("/v2"))


def test_the_same_idempotency_key_twice_gives_the_same_payment(fake, mollie):
    first = mollie.create_checkout(checkout_request(idempotency_key="link-1-attempt-1"))
    again = mollie.create_checkout(checkout_request(idempotency_key="link-1-attempt-1"))

    assert again == first
    assert list(fake.payments) == [first.provider_payment_id]


def test_different_idempotency_keys_give_different_payments(fake, mollie):
    first = mollie.create_checkout(checkout_request(idempotency_key="link-1-attempt-1"))
    second = mollie.create_checkout(checkout_request(idempotency_key="link-1-attempt-2"))

    assert first.provider_payment_id != second.provider_payment_id
    assert len(fake.payments) == 2


@pytest.mark.parametrize(
    ("amount", "field"),
    [
        ({"currency": "EUR", "value": "12.3"}, "amount.value"),
        ({"currency": "EUR", "value": 12.34}, "amount.value"),
        ({"currency": "EUR", "value": "12"}, "amount.value"),
        ({"currency": "USD", "value": "12.34"}, "amount.currency"),
    ],
)
def test_the_fake_refuses_amounts_the_real_mollie_refuses(fake, amount, field):
    """The fake holds Mollie's side of the contract, so the amount tests above mean something."""
    answer = requests.post(
        f"{fake.url}/payments",
        json={"amount": amount, "description": "x", "redirectUrl": "https://r.example"},
        headers={"Authorization": f"Bearer {API_KEY}"},
        timeout=2,
    )

    assert (answer.status_code, answer.json()["field"]) == (422, field)
    assert answer.headers["Content-Type"] == "application/hal+json"
    assert fake.payments == {}


# --- fetching a payment --------------------------------------------------------------------------------


def test_fetch_a_paid_payment(fake, mollie):
    payment_id = created_payment(mollie)
    fake.set_status(payment_id, "paid", method="ideal")

    payment = mollie.fetch_payment(payment_id)

    assert fake.requests[-1].method == "GET"
    assert fake.requests[-1].path == f"/v2/payments/{payment_id}"
    assert fake.requests[-1].headers["Authorization"] == f"Bearer {API_KEY}"
    assert payment.provider_payment_id == payment_id
    assert (payment.status, payment.amount_cents, payment.method) == ("paid", 1234, "ideal")
    assert payment.metadata == {"invoice_number": "INV-2026-0042", "payment_link": "17"}
    assert payment.paid_at is not None and payment.paid_at.utcoffset() == timedelta(0)
    assert abs(payment.paid_at - datetime.now(timezone.utc)) < timedelta(minutes=1)


def test_fetch_an_open_payment_has_no_paid_at_and_the_method_mollie(fake, mollie):
    payment = mollie.fetch_payment(created_payment(mollie))

    assert (payment.status, payment.paid_at, payment.method) == ("open", None, "mollie")


def test_fetch_reads_paid_at_in_its_own_timezone(fake, mollie):
    payment_id = created_payment(mollie)
    fake.set_status(payment_id, "paid")
    fake.payments[payment_id]["paidAt"] = "2026-11-22T11:30:05+01:00"

    paid_at = mollie.fetch_payment(payment_id).paid_at

    assert paid_at == datetime(2026, 11, 22, 10, 30, 5, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("mollie_status", "status"),
    [
        ("open", "open"),
        ("pending", "pending"),
        ("authorized", "pending"),
        ("failed", "failed"),
        ("expired", "expired"),
        ("canceled", "canceled"),
    ],
)
def test_fetch_maps_mollies_statuses(fake, mollie, mollie_status, status):
    payment_id = created_payment(mollie)
    fake.set_status(payment_id, mollie_status)

    payment = mollie.fetch_payment(payment_id)

    assert (payment.status, payment.paid_at) == (status, None)


@pytest.mark.parametrize(("value", "cents"), [("0.29", 29), ("19.99", 1999), ("1.10", 110), ("1234567.89", 123456789)])
def test_fetch_reads_the_amount_exactly(fake, mollie, value, cents):
    payment_id = created_payment(mollie)
    fake.payments[payment_id]["amount"] = {"currency": "EUR", "value": value}

    assert mollie.fetch_payment(payment_id).amount_cents == cents


@pytest.mark.parametrize(
    "amount",
    [
        {"currency": "EUR", "value": "12.345"},
        {"currency": "USD", "value": "12.34"},
        {"currency": "EUR", "value": 12.34},
        {"currency": "EUR", "value": "Infinity"},
        {"currency": "EUR", "value": "twelve"},
    ],
)
def test_fetch_refuses_an_amount_it_cannot_read_exactly(fake, mollie, amount):
    payment_id = created_payment(mollie)
    fake.payments[payment_id]["amount"] = amount

    with pytest.raises(ProviderError, match=payment_id):
        mollie.fetch_payment(payment_id)


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"status": "refunded-ish"}, "refunded-ish"),
        ({"status": "paid", "paidAt": "2026-11-22T10:30:05"}, "no timezone"),
        ({"status": "paid", "paidAt": "yesterday"}, "paidAt|yesterday"),
    ],
)
def test_fetch_refuses_a_status_or_paid_at_it_does_not_know(fake, mollie, changes, problem):
    payment_id = created_payment(mollie)
    fake.payments[payment_id].update(changes)

    with pytest.raises(ProviderError, match=problem):
        mollie.fetch_payment(payment_id)


def test_fetch_an_unknown_payment_says_what_mollie_said(fake, mollie):
    with pytest.raises(ProviderError, match="404 Not Found — No payment exists with token tr_unknown0001"):
        mollie.fetch_payment("tr_unknown0001")


@pytest.mark.parametrize(
    "bad_id",
    [
        "../../etc",
        "https://evil",
        "tr_abc/../../refunds",
        "tr_abc?x=1",
        "tr_abc\n",
        "tr_",
        "TR_abc123",
        "",
        "tr_" + "a" * 65,
    ],
)
def test_fetch_refuses_a_malformed_id_without_any_request(fake, mollie, bad_id):
    with pytest.raises(ProviderError, match="not a Mollie payment id") as refused:
        mollie.fetch_payment(bad_id)

    assert fake.requests == []
    assert_one_line_without_keys(refused.value)


# --- failures --------------------------------------------------------------------------------------------


def test_a_wrong_key_is_refused_without_the_key_in_the_message(fake):
    mollie = MollieProvider(fake.url, WRONG_KEY, timeout=2)

    with pytest.raises(ProviderError, match="401 Unauthorized Request — Missing authentication") as refused:
        mollie.create_checkout(checkout_request())

    assert_one_line_without_keys(refused.value)
    assert fake.payments == {}


def test_a_key_echoed_back_by_mollie_is_blanked_in_the_message(fake, mollie):
    echo = f'{{"status": 401, "title": "Unauthorized Request", "detail": "Unknown key {API_KEY}"}}'
    fake.answer_next_with(401, echo.encode())

    with pytest.raises(ProviderError, match=r"Unknown key \*\*\*$") as refused:
        mollie.create_checkout(checkout_request())

    assert_one_line_without_keys(refused.value)


def test_a_refused_payment_gives_mollies_detail(fake, mollie):
    with pytest.raises(ProviderError) as refused:
        mollie.create_checkout(checkout_request(amount_cents=0))

    assert str(refused.value) == (
        "Mollie refused to create the payment: 422 Unprocessable Entity — The amount is lower than the minimum"
    )
    assert fake.payments == {}


def test_a_server_error_without_json_gives_the_status(fake, mollie):
    fake.answer_next_with(500, b"<html>oops</html>", {"Content-Type": "text/html"})

    with pytest.raises(ProviderError, match="500 Internal Server Error$"):
        mollie.create_checkout(checkout_request())


def test_a_redirect_is_refused_not_followed(fake, mollie):
    fake.answer_next_with(307, b"", {"Location": f"{fake.url}/payments"})

    with pytest.raises(ProviderError, match="307"):
        mollie.create_checkout(checkout_request())

    assert len(fake.requests) == 1


@pytest.mark.parametrize("answer", [b"{not json", b"", b"[1, 2]"])
def test_a_malformed_answer_to_a_fetch_is_refused(fake, mollie, answer):
    payment_id = created_payment(mollie)
    fake.answer_next_with(200, answer)

    with pytest.raises(ProviderError, match=f"answer to show payment {payment_id}"):
        mollie.fetch_payment(payment_id)


@pytest.mark.parametrize(
    "answer",
    [b"{not json", b'{"id": "tr_abc1234567"}', b'{"id": "../evil", "_links": {"checkout": {"href": "x"}}}'],
)
def test_a_malformed_answer_to_a_create_is_refused(fake, mollie, answer):
    fake.answer_next_with(201, answer)

    with pytest.raises(ProviderError):
        mollie.create_checkout(checkout_request())


def test_mollie_down_is_a_provider_error(fake):
    with running_fake_mollie(API_KEY) as gone:
        url = gone.url
    mollie = MollieProvider(url, API_KEY, timeout=2)

    with pytest.raises(ProviderError, match="could not be reached to create the payment: ConnectionError") as down:
        mollie.create_checkout(checkout_request())
    assert_one_line_without_keys(down.value)
    with pytest.raises(ProviderError, match="could not be reached to show payment tr_abc1234567"):
        mollie.fetch_payment("tr_abc1234567")


def test_mollie_not_answering_in_time_is_a_provider_error():
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        mollie = MollieProvider(f"http://127.0.0.1:{silent.getsockname()[1]}/v2", API_KEY, timeout=0.05)

        with pytest.raises(ProviderError, match="could not be reached to show payment tr_abc1234567: ReadTimeout"):
            mollie.fetch_payment("tr_abc1234567")
