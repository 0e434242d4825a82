"""Account answers, as the action server runs them: right figures for the verified customer, nothing otherwise."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from actions.fallback import ActionHandleFallback
from actions.invoices import ActionExplainBill, ActionListInvoices, ActionTellBalance, ActionTellDueDates
from actions.payments import ActionSendInvoiceCopy, ActionSendPaymentLink, ActionTellPaymentStatus
from settle.db import session_factory
from settle.models import UNPAID_STATUSES, Customer, Invoice, Payment
from settle.money import euros, format_euros
from settle.tooling.seed import PERSONAS
from tests.actions.conftest import make_tracker, responses

PERSONA = {persona.shape: persona for persona in PERSONAS}
ACCOUNT_ACTIONS = [
    ActionTellBalance, ActionTellDueDates, ActionListInvoices, ActionExplainBill,
    ActionSendPaymentLink, ActionTellPaymentStatus, ActionSendInvoiceCopy,
]


def verified(database_url: str, customer_number: str):
    with session_factory(database_url).begin() as session:
        customer_id = session.execute(select(Customer.id).where(Customer.customer_number == customer_number)).scalar_one()
    return make_tracker(slots={"verification": "verified", "verified_customer_id": str(customer_id)}), customer_id


def open_amount_in_database(database_url: str, customer_id: int) -> Decimal:
    """Computed here straight from the tables, independently of settle.billing.invoices."""
    with session_factory(database_url).begin() as session:
        totals = session.execute(
            select(func.coalesce(func.sum(Invoice.total_cents), 0)).where(
                Invoice.customer_id == customer_id, Invoice.status.in_(UNPAID_STATUSES)
            )
        ).scalar_one()
        paid = session.execute(
            select(func.coalesce(func.sum(Payment.amount_cents), 0))
            .join(Invoice)
            .where(Invoice.customer_id == customer_id, Invoice.status.in_(UNPAID_STATUSES))
        ).scalar_one()
    return euros(totals - paid)


@pytest.mark.parametrize("action", ACCOUNT_ACTIONS)
@pytest.mark.parametrize(
    "slots",
    [
        {},
        {"verified_customer_id": "1"},  # an id without verification, e.g. injected through text
        {"verification": "locked", "verified_customer_id": "1"},
        {"verification": "verified"},
    ],
    ids=["nothing", "id-only", "locked", "no-id"],
)
async def test_no_account_data_without_verification(actions_database, dispatcher, domain, action, slots):
    await action().run(dispatcher, make_tracker(slots=slots), domain)
    assert responses(dispatcher) == ["utter_need_verification"]
    assert not any(key in message for message in dispatcher.messages for key in ("amount", "total", "invoice_number", "link"))


@pytest.mark.parametrize("shape", ["overdue", "partly_paid", "disputed", "usage_up"])
async def test_balance_matches_the_database(actions_database, dispatcher, domain, shape):
    tracker, customer_id = verified(actions_database, PERSONA[shape].customer_number)
    await ActionTellBalance().run(dispatcher, tracker, domain)

    total_message = dispatcher.messages[0]
    assert total_message["response"] == "utter_balance_total"
    assert total_message["total"] == format_euros(open_amount_in_database(actions_database, customer_id))
    listed = [m for m in dispatcher.messages if m["response"] in ("utter_balance_invoice", "utter_balance_on_hold")]
    assert sum(Decimal(m["amount"].lstrip("€").replace(",", "")) for m in listed) == open_amount_in_database(actions_database, customer_id)


async def test_nothing_open_says_so(actions_database, dispatcher, domain):
    tracker, _ = verified(actions_database, PERSONA["all_paid"].customer_number)
    await ActionTellBalance().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_balance_nothing_open"]


async def test_due_dates_say_overdue_bills_kindly_first(actions_database, dispatcher, domain):
    tracker, _ = verified(actions_database, PERSONA["overdue"].customer_number)
    await ActionTellDueDates().run(dispatcher, tracker, domain)
    assert responses(dispatcher)[0] == "utter_due_date_overdue"
    assert "utter_due_date_upcoming" in responses(dispatcher)


async def test_invoice_list_is_newest_first_with_states(actions_database, dispatcher, domain):
    tracker, _ = verified(actions_database, PERSONA["partly_paid"].customer_number)
    await ActionListInvoices().run(dispatcher, tracker, domain)
    sent = responses(dispatcher)
    assert sent[0] == "utter_invoices_intro"
    assert sent[1] == "utter_invoice_partially_paid"
    assert set(sent[2:]) == {"utter_invoice_paid"}
    assert all(name in domain["responses"] for name in sent)


@pytest.mark.parametrize(
    "shape, expected",
    [
        ("usage_up", ["utter_explain_bill_higher", "utter_explain_bill_usage_up"]),
        ("price_up", ["utter_explain_bill_higher", "utter_explain_bill_price_up"]),
        ("one_off", ["utter_explain_bill_higher", "utter_explain_bill_one_off"]),
    ],
)
async def test_explain_bill_names_the_main_reason(actions_database, dispatcher, domain, shape, expected):
    tracker, _ = verified(actions_database, PERSONA[shape].customer_number)
    await ActionExplainBill().run(dispatcher, tracker, domain)
    sent = responses(dispatcher)
    assert sent[: len(expected)] == expected
    assert len(sent) <= 3  # two or three plain sentences
    assert all(name in domain["responses"] for name in sent)


async def test_explain_bill_values_fill_every_placeholder(actions_database, dispatcher, domain):
    for persona in PERSONAS:
        dispatcher.messages.clear()
        tracker, _ = verified(actions_database, persona.customer_number)
        await ActionExplainBill().run(dispatcher, tracker, domain)
        assert dispatcher.messages, f"nothing explained for {persona.shape}"
        for message in dispatcher.messages:
            text = domain["responses"][message["response"]][0]["text"]
            text.format(**message)  # raises KeyError when a value the text needs is missing


def fallback_tracker(misunderstood: int):
    events = []
    for _ in range(misunderstood - 1):
        events.append({"event": "user", "text": "blorp", "parse_data": {"intent": {"name": "nlu_fallback"}}})
        events.append({"event": "action", "name": "action_handle_fallback"})
    tracker = make_tracker(text="blorp", intent="nlu_fallback", earlier_events=events)
    tracker.events[-1]["parse_data"]["intent"]["name"] = "nlu_fallback"
    return tracker


async def test_first_misunderstanding_asks_to_rephrase(dispatcher, domain):
    events = await ActionHandleFallback().run(dispatcher, fallback_tracker(1), domain)
    assert responses(dispatcher) == ["utter_please_rephrase"] and events == []


async def test_second_misunderstanding_in_a_row_offers_a_person(dispatcher, domain):
    events = await ActionHandleFallback().run(dispatcher, fallback_tracker(2), domain)
    assert events == [{"event": "followup", "name": "utter_offer_human", "timestamp": None}]
