"""Can't pay now, as the action server runs it: plans, extensions, disputes, hardship."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from actions.arrangements import (
    ActionAskDisputeInvoice,
    ActionAskPlanConfirmed,
    ActionAskPlanMonths,
    ActionAskPlanStart,
    ActionFinishDispute,
    ActionFinishExtension,
    ActionFinishPlan,
    ActionHandleHardship,
    ActionOfferExtension,
    ActionOfferPlan,
    ValidateDisputeForm,
    ValidateExtensionForm,
    ValidateInstalmentPlanForm,
)
from settle.db import session_factory
from settle.models import Customer, Escalation, HardshipReport, InstalmentPlan, Invoice, InvoiceStatus
from settle.tooling.seed import PERSONAS
from tests.actions.conftest import make_tracker, responses, slot_events
from tests.conftest import TODAY

PERSONA = {persona.shape: persona for persona in PERSONAS}


def verified(url: str, shape: str, **slots):
    with session_factory(url).begin() as session:
        customer_id = session.execute(select(Customer.id).where(Customer.customer_number == PERSONA[shape].customer_number)).scalar_one()
    return make_tracker(slots={"verification": "verified", "verified_customer_id": str(customer_id), **slots}), customer_id


def fills_its_text(domain, message) -> bool:
    domain["responses"][message["response"]][0]["text"].format(**message)
    return True


async def test_plan_offer_says_the_months_allowed(fresh_actions_database, dispatcher, domain):
    tracker, _ = verified(fresh_actions_database, "overdue")
    events = await ActionOfferPlan().run(dispatcher, tracker, domain)
    [message] = dispatcher.messages
    assert message["response"] == "utter_plan_possible" and fills_its_text(domain, message)
    assert (message["min_months"], message["max_months"]) == (2, 3)  # €203.69 is in the band up to €250
    assert slot_events(events)["plan_eligible"] is True


async def test_no_plan_below_the_minimum(fresh_actions_database, dispatcher, domain):
    tracker, _ = verified(fresh_actions_database, "partly_paid")
    events = await ActionOfferPlan().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_plan_not_possible_below_minimum"]
    assert fills_its_text(domain, dispatcher.messages[0])
    assert slot_events(events)["plan_eligible"] is False


@pytest.mark.parametrize("typed, accepted", [("2", "2"), ("three", "3"), ("3 months please", "3"), ("six", None), ("1", None), ("lots", None)])
async def test_months_outside_the_range_are_explained(fresh_actions_database, dispatcher, domain, typed, accepted):
    tracker, _ = verified(fresh_actions_database, "overdue", requested_slot="plan_months")
    result = ValidateInstalmentPlanForm().validate_plan_months(typed, dispatcher, tracker, domain)
    assert result == {"plan_months": accepted}
    assert responses(dispatcher) == ([] if accepted else ["utter_invalid_plan_months"])


@pytest.mark.parametrize("typed, ok", [("tomorrow", True), ("next Friday", True), ("yesterday", False), ("in three months", False), ("whenever", False)])
async def test_start_dates_in_natural_forms(fresh_actions_database, dispatcher, domain, typed, ok):
    tracker, _ = verified(fresh_actions_database, "overdue")
    result = ValidateInstalmentPlanForm().validate_plan_start(typed, dispatcher, tracker, domain)
    if ok:
        assert date.fromisoformat(result["plan_start"]) >= TODAY
    else:
        assert result == {"plan_start": None} and responses(dispatcher) == ["utter_invalid_plan_start"]


async def test_the_schedule_shown_adds_up_to_the_cent(fresh_actions_database, dispatcher, domain):
    start = (TODAY + timedelta(days=3)).isoformat()
    tracker, _ = verified(fresh_actions_database, "overdue", plan_months="3", plan_start=start)
    await ActionAskPlanConfirmed().run(dispatcher, tracker, domain)
    total = Decimal(dispatcher.messages[0]["total"].lstrip("€"))
    parts = [m for m in dispatcher.messages if m["response"] == "utter_plan_instalment"]
    assert len(parts) == 3 and sum(Decimal(p["amount"].lstrip("€")) for p in parts) == total
    assert dispatcher.messages[-1]["response"] == "utter_ask_plan_confirmed"


async def test_a_confirmed_plan_is_stored_with_a_link_for_the_first_part(fresh_actions_database, dispatcher, domain):
    start = (TODAY + timedelta(days=3)).isoformat()
    tracker, customer_id = verified(fresh_actions_database, "overdue", plan_months="2", plan_start=start, plan_confirmed=True)
    events = await ActionFinishPlan().run(dispatcher, tracker, domain)
    [message] = dispatcher.messages
    assert message["response"] == "utter_plan_created" and "/pay/" in message["link"] and fills_its_text(domain, message)
    assert slot_events(events)["plan_months"] is None
    with session_factory(fresh_actions_database).begin() as session:
        plan = session.execute(select(InstalmentPlan).where(InstalmentPlan.customer_id == customer_id)).scalar_one()
        assert {invoice.status for invoice in plan.invoices} == {InvoiceStatus.IN_PLAN}
        assert message["amount"] == f"€{Decimal(plan.instalments[0].amount_cents) / 100:.2f}"

    dispatcher.messages.clear()
    await ActionOfferPlan().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_active_plan", "utter_active_plan_next"]


async def test_a_declined_plan_stores_nothing(fresh_actions_database, dispatcher, domain):
    tracker, customer_id = verified(fresh_actions_database, "overdue", plan_months="2", plan_start=TODAY.isoformat(), plan_confirmed=False)
    await ActionFinishPlan().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_plan_not_set"]
    with session_factory(fresh_actions_database).begin() as session:
        assert session.execute(select(func.count()).select_from(InstalmentPlan)).scalar_one() == 0


async def test_an_extension_once_per_bill(fresh_actions_database, dispatcher, domain):
    tracker, _ = verified(fresh_actions_database, "usage_up")
    events = await ActionOfferExtension().run(dispatcher, tracker, domain)
    offer = dispatcher.messages[0]
    assert offer["response"] == "utter_extension_possible" and fills_its_text(domain, offer)
    number = slot_events(events)["invoice_number"]

    dispatcher.messages.clear()
    tracker.slots["invoice_number"] = number
    chosen = ValidateExtensionForm().validate_extension_date("in 5 days", dispatcher, tracker, domain)
    assert chosen["extension_date"] and dispatcher.messages == []
    too_far = ValidateExtensionForm().validate_extension_date("in 2 months", dispatcher, tracker, domain)
    assert too_far == {"extension_date": None} and responses(dispatcher) == ["utter_invalid_extension_date"]

    dispatcher.messages.clear()
    tracker.slots.update(extension_date=chosen["extension_date"], extension_confirmed=True)
    await ActionFinishExtension().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_extension_granted"]
    with session_factory(fresh_actions_database).begin() as session:
        due = session.execute(select(Invoice.due_date).where(Invoice.number == number)).scalar_one()
    assert due.isoformat() == chosen["extension_date"]

    dispatcher.messages.clear()
    tracker.slots["invoice_number"] = number
    await ActionOfferExtension().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_extension_not_possible_already_extended"]
    assert number in dispatcher.messages[0]["invoice_number"]


async def test_a_dispute_puts_the_bill_on_hold_and_tells_a_person(fresh_actions_database, dispatcher, domain):
    tracker, customer_id = verified(fresh_actions_database, "usage_up")
    await ActionAskDisputeInvoice().run(dispatcher, tracker, domain)
    buttons = dispatcher.messages[0]["buttons"]
    assert buttons and all(b["payload"].startswith('/inform{"invoice_number": "INV-') for b in buttons)
    number = buttons[0]["payload"].split('"')[3]

    dispatcher.messages.clear()
    assert ValidateDisputeForm().validate_dispute_invoice("INV-1999-000000", dispatcher, tracker, domain) == {"dispute_invoice": None}
    assert ValidateDisputeForm().validate_dispute_invoice(number.lower(), dispatcher, tracker, domain) == {"dispute_invoice": number}

    dispatcher.messages.clear()
    tracker.slots.update(dispute_invoice=number, dispute_reason="I was away all month, the meter reading can't be right")
    await ActionFinishDispute().run(dispatcher, tracker, domain)
    [message] = dispatcher.messages
    assert message["response"] == "utter_dispute_opened" and message["reference"].startswith("DSP-")
    with session_factory(fresh_actions_database).begin() as session:
        assert session.execute(select(Invoice.status).where(Invoice.number == number)).scalar_one() == InvoiceStatus.DISPUTED
        escalation = session.execute(select(Escalation).where(Escalation.customer_id == customer_id)).scalar_one()
        assert escalation.reason == "dispute" and number in escalation.context_json


async def test_hardship_gives_the_local_welfare_service_and_records_only_the_fact(fresh_actions_database, dispatcher, domain):
    tracker, customer_id = verified(fresh_actions_database, "usage_up")  # Emma lives in 1000 Brussels
    await ActionHandleHardship().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_hardship", "utter_hardship_options", "utter_hardship_welfare"]
    assert "Brussel" in dispatcher.messages[-1]["name"] and fills_its_text(domain, dispatcher.messages[-1])
    with session_factory(fresh_actions_database).begin() as session:
        assert session.execute(select(func.count()).select_from(HardshipReport).where(HardshipReport.customer_id == customer_id)).scalar_one() == 1
        escalation = session.execute(select(Escalation).where(Escalation.conversation_id == tracker.sender_id)).scalar_one()
        assert (escalation.reason, escalation.customer_id) == ("hardship", customer_id)  # a person can reach out


async def test_hardship_before_verification_records_nothing_and_points_to_the_general_service(fresh_actions_database, dispatcher, domain):
    await ActionHandleHardship().run(dispatcher, make_tracker(), domain)
    assert "your municipality" in dispatcher.messages[-1]["name"]
    with session_factory(fresh_actions_database).begin() as session:
        assert session.execute(select(func.count()).select_from(HardshipReport)).scalar_one() == 0


async def test_a_plan_whose_start_date_has_passed_is_not_stored_and_explained(fresh_actions_database, dispatcher, domain):
    past = (TODAY - timedelta(days=2)).isoformat()
    tracker, _ = verified(fresh_actions_database, "overdue", plan_months="2", plan_start=past, plan_confirmed=True)
    await ActionFinishPlan().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_arrangement_changed"]
    with session_factory(fresh_actions_database).begin() as session:
        assert session.execute(select(func.count()).select_from(InstalmentPlan)).scalar_one() == 0


async def test_an_extension_granted_meanwhile_in_another_chat_is_explained(fresh_actions_database, dispatcher, domain):
    tracker, _ = verified(fresh_actions_database, "usage_up")
    events = await ActionOfferExtension().run(dispatcher, tracker, domain)
    number = slot_events(events)["invoice_number"]
    chosen = (TODAY + timedelta(days=5)).isoformat()
    tracker.slots.update(invoice_number=number, extension_date=chosen, extension_confirmed=True)
    await ActionFinishExtension().run(dispatcher, tracker, domain)
    dispatcher.messages.clear()
    await ActionFinishExtension().run(dispatcher, tracker, domain)  # the same confirmation from a second chat
    assert responses(dispatcher) == ["utter_extension_not_possible_already_extended"]


async def test_a_card_number_is_never_taken_as_a_dispute_reason(fresh_actions_database, dispatcher, domain):
    tracker, _ = verified(fresh_actions_database, "usage_up")
    result = ValidateDisputeForm().validate_dispute_reason("charged twice on 4111 1111 1111 1111", dispatcher, tracker, domain)
    assert result == {"dispute_reason": None} and responses(dispatcher) == ["utter_no_card_numbers_in_reason"]


async def test_a_plan_is_not_stored_when_the_total_changed_after_it_was_shown(fresh_actions_database, dispatcher, domain):
    start = (TODAY + timedelta(days=3)).isoformat()
    tracker, customer_id = verified(fresh_actions_database, "overdue", plan_months="2", plan_start=start)
    events = await ActionAskPlanConfirmed().run(dispatcher, tracker, domain)
    shown_total = slot_events(events)["plan_total_cents"]
    tracker.slots.update(plan_total_cents=str(int(shown_total) + 500), plan_confirmed=True)  # a payment landed meanwhile
    dispatcher.messages.clear()
    await ActionFinishPlan().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_arrangement_changed"]
    with session_factory(fresh_actions_database).begin() as session:
        assert session.execute(select(func.count()).select_from(InstalmentPlan)).scalar_one() == 0

    tracker.slots["plan_total_cents"] = shown_total
    dispatcher.messages.clear()
    await ActionFinishPlan().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_plan_created"]


# -- forms that forgive (issue 17) ----------------------------------------------------------------


def asked(tracker, requested: str, text: str, intent: str = "inform"):
    """The same tracker, with the form asking `requested` and the customer's latest message."""
    tracker.slots["requested_slot"] = requested
    tracker.latest_message.update(text=text, intent={"name": intent, "confidence": 0.9})
    tracker.events.append({"event": "user", "text": text, "parse_data": tracker.latest_message})
    return tracker


async def test_six_months_when_two_to_three_are_allowed_is_one_clear_message(fresh_actions_database, dispatcher, domain):
    tracker, _ = verified(fresh_actions_database, "overdue", plan_months="6")
    asked(tracker, None, "can i pay in 6 months?", intent="request_instalment_plan")
    events = await ActionOfferPlan().run(dispatcher, tracker, domain)
    [message] = dispatcher.messages
    assert message["response"] == "utter_plan_possible_other_months" and fills_its_text(domain, message)
    assert (message["months"], message["min_months"], message["max_months"]) == ("6 months", 2, 3)
    assert slot_events(events)["plan_months"] is None and slot_events(events)["plan_eligible"] is True

    # The form then reads the 6 months from the same message and asks for the months: neither refuses or asks
    # again, the offer just did.
    tracker.events.append({"event": "bot", "text": "...", "metadata": {"utter_action": message["response"]}})
    dispatcher.messages.clear()
    assert ValidateInstalmentPlanForm().validate_plan_months("6", dispatcher, tracker, domain)["plan_months"] is None
    await ActionAskPlanMonths().run(dispatcher, tracker, domain)
    assert dispatcher.messages == []


async def test_months_and_first_date_in_the_request_are_both_kept(fresh_actions_database, dispatcher, domain):
    tracker, _ = verified(fresh_actions_database, "overdue")
    asked(tracker, None, "i want to pay in 3 months starting 20 december", intent="request_instalment_plan")
    events = await ActionOfferPlan().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_plan_possible"]
    assert (slot_events(events)["plan_months"], slot_events(events)["plan_start"]) == ("3", "2026-12-20")


async def test_a_date_given_when_the_months_are_asked_is_kept_not_refused(fresh_actions_database, dispatcher, domain):
    tracker, _ = verified(fresh_actions_database, "overdue")
    result = ValidateInstalmentPlanForm().validate_plan_months("next friday", dispatcher, asked(tracker, "plan_months", "next friday"), domain)
    assert result == {"plan_months": None, "plan_start": "2026-11-27"}
    assert dispatcher.messages == []  # the months are simply asked next


async def test_a_date_in_the_same_message_as_refused_months_is_not_lost(fresh_actions_database, dispatcher, domain):
    tracker, _ = verified(fresh_actions_database, "overdue")
    typed = "6 months from next friday"
    result = ValidateInstalmentPlanForm().validate_plan_months("6", dispatcher, asked(tracker, "plan_months", typed), domain)
    assert result == {"plan_months": None, "plan_start": "2026-11-27"}
    assert responses(dispatcher) == ["utter_invalid_plan_months"]


async def test_the_bots_own_example_date_is_accepted(fresh_actions_database, dispatcher, domain):
    tracker, _ = verified(fresh_actions_database, "overdue", plan_months="2")
    tracker.events.insert(0, {"event": "slot", "name": "plan_months", "value": "2"})  # chosen earlier
    await ActionAskPlanStart().run(dispatcher, tracker, domain)
    [question] = dispatcher.messages
    assert question["response"] == "utter_ask_plan_start" and fills_its_text(domain, question)
    example = question["example"]
    dispatcher.messages.clear()
    # A day of the month read as "1 month" by the entity extractor changes nothing.
    asked(tracker, "plan_start", example)
    tracker.events.append({"event": "slot", "name": "plan_months", "value": "1"})
    form = ValidateInstalmentPlanForm()
    assert form.validate_plan_months("1", dispatcher, tracker, domain) == {"plan_months": "2"}
    result = form.validate_plan_start(example.split()[1], dispatcher, tracker, domain)  # the entity: "December"
    assert result == {"plan_start": "2026-12-01"} and dispatcher.messages == []


async def offered_extension(url, dispatcher, domain, shape="usage_up"):
    tracker, _ = verified(url, shape)
    events = await ActionOfferExtension().run(dispatcher, tracker, domain)
    tracker.slots["invoice_number"] = slot_events(events)["invoice_number"]
    dispatcher.messages.clear()
    return tracker


async def test_no_wait_the_9th_at_the_confirmation_corrects_the_date(fresh_actions_database, dispatcher, domain):
    tracker = await offered_extension(fresh_actions_database, dispatcher, domain)
    tracker.slots.update(extension_date="2026-12-01", extension_day="1 December 2026")
    form = ValidateExtensionForm()
    result = form.validate_extension_confirmed(False, dispatcher, asked(tracker, "extension_confirmed", "no wait, the 9th", "deny"), domain)
    assert result == {"extension_confirmed": None, "extension_date": "2026-12-09", "extension_day": "9 December 2026"}


async def test_a_plain_no_at_the_confirmation_asks_the_day_again_and_never_mind_stops(fresh_actions_database, dispatcher, domain):
    tracker = await offered_extension(fresh_actions_database, dispatcher, domain)
    tracker.slots.update(extension_date="2026-12-01", extension_day="1 December 2026")
    form = ValidateExtensionForm()
    no_wait = form.validate_extension_confirmed(False, dispatcher, asked(tracker, "extension_confirmed", "no wait", "deny"), domain)
    assert no_wait == {"extension_confirmed": None, "extension_date": None}
    stop = form.validate_extension_confirmed(False, dispatcher, asked(tracker, "extension_confirmed", "never mind", "deny"), domain)
    assert stop == {"extension_confirmed": False}


async def test_below_the_plan_minimum_with_more_time_used_up_a_person_is_offered_not_a_circle(fresh_actions_database, dispatcher, domain):
    tracker = await offered_extension(fresh_actions_database, dispatcher, domain, shape="partly_paid")
    number = tracker.slots["invoice_number"]
    tracker.slots.update(extension_date=(TODAY + timedelta(days=10)).isoformat(), extension_confirmed=True)
    await ActionFinishExtension().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_extension_granted"]

    dispatcher.messages.clear()
    tracker, _ = verified(fresh_actions_database, "partly_paid")
    await ActionOfferPlan().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_plan_not_possible_below_minimum_no_extension"]
    assert "more time" not in domain["responses"]["utter_plan_not_possible_below_minimum_no_extension"][0]["text"].split(":")[-1]

    dispatcher.messages.clear()
    tracker.slots["invoice_number"] = number
    await ActionOfferExtension().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_extension_not_possible_already_extended_no_plan"]
    assert "a person" in domain["responses"]["utter_extension_not_possible_already_extended_no_plan"][0]["text"]


async def test_slots_the_offer_cleared_are_not_refused_when_the_form_starts(fresh_actions_database, dispatcher, domain):
    """rasa-sdk hands the form the offer's trailing slot events to validate: a cleared slot is no answer."""
    tracker, _ = verified(fresh_actions_database, "overdue")
    tracker.events.insert(0, {"event": "slot", "name": "plan_months", "value": "6"})  # from the request, refused
    form = ValidateInstalmentPlanForm()
    assert form.validate_plan_months(None, dispatcher, tracker, domain) == {"plan_months": None}
    assert form.validate_plan_start(None, dispatcher, tracker, domain) == {"plan_start": None}
    assert dispatcher.messages == []


@pytest.mark.parametrize("before_verification", [False, True], ids=["verified", "before verification"])
async def test_the_bill_and_what_is_wrong_said_in_the_request_are_not_asked_again(fresh_actions_database, dispatcher, domain,
                                                                                  before_verification):
    """Said by a verified customer, or before verification: then the customer number, postcode and date of birth
    came between, and the form starts after them."""
    said = "my last bill is wrong, you charged me for a meter replacement i never had"
    tracker, customer_id = verified(fresh_actions_database, "usage_up", account_question="dispute_bill")
    if before_verification:
        tracker.events[:0] = [{"event": "user", "text": said, "parse_data": {"intent": {"name": "dispute_bill", "confidence": 0.9}}},
                              {"event": "action", "name": "verify_customer_form"}]
        tracker.latest_message.update(text="14/02/1985", intent={"name": "inform", "confidence": 0.9})
    else:
        tracker.latest_message.update(text=said, intent={"name": "dispute_bill", "confidence": 0.9})
    with session_factory(fresh_actions_database).begin() as session:
        newest = session.execute(select(Invoice.number).where(Invoice.customer_id == customer_id, Invoice.status != InvoiceStatus.DISPUTED)
                                 .order_by(Invoice.issue_date.desc())).scalars().first()
    form = ValidateDisputeForm()
    assert await form.extract_dispute_invoice(dispatcher, tracker, domain) == {"dispute_invoice": newest}
    assert await form.extract_dispute_reason(dispatcher, tracker, domain) == {"dispute_reason": said}

    if before_verification:  # once that one is filed, a new dispute asks what is wrong
        tracker.events.append({"event": "action", "name": "action_finish_dispute"})
        assert await form.extract_dispute_reason(dispatcher, tracker, domain) == {}


@pytest.mark.parametrize("said", ["i think my bill is wrong", "this bill is not right, why?", "je conteste ma facture"])
async def test_a_request_that_does_not_say_what_is_wrong_gets_the_question(fresh_actions_database, dispatcher, domain, said):
    tracker, _ = verified(fresh_actions_database, "usage_up")
    tracker.latest_message.update(text=said, intent={"name": "dispute_bill", "confidence": 0.9})
    assert await ValidateDisputeForm().extract_dispute_reason(dispatcher, tracker, domain) == {}
    assert await ValidateDisputeForm().extract_dispute_invoice(dispatcher, tracker, domain) == {}  # "which bill?" is asked


async def test_an_answer_inside_the_dispute_is_not_taken_as_the_request(fresh_actions_database, dispatcher, domain):
    tracker, _ = verified(fresh_actions_database, "usage_up", requested_slot="dispute_invoice")
    tracker.latest_message.update(text="my last bill, you charged me for a meter replacement i never had")
    assert await ValidateDisputeForm().extract_dispute_reason(dispatcher, tracker, domain) == {}


async def test_asking_how_a_complaint_stands_gets_its_reference_not_a_new_dispute(fresh_actions_database, dispatcher, domain):
    said = "whats happening with my complaint about the bill?"
    tracker, customer_id = verified(fresh_actions_database, "disputed")
    tracker.latest_message.update(text=said, intent={"name": "dispute_bill", "confidence": 0.9})
    with session_factory(fresh_actions_database).begin() as session:
        disputed = session.execute(select(Invoice.number).where(Invoice.customer_id == customer_id,
                                                                Invoice.status == InvoiceStatus.DISPUTED)).scalar_one()
    form = ValidateDisputeForm()
    slots = await form.extract_dispute_invoice(dispatcher, tracker, domain)
    assert slots == {"dispute_invoice": disputed, "dispute_reason": said}
    assert form.validate_dispute_invoice(disputed, dispatcher, tracker, domain) == {"dispute_invoice": disputed}
    tracker.slots.update(slots)
    await ActionFinishDispute().run(dispatcher, tracker, domain)
    [message] = dispatcher.messages  # the demo's disputed bill has no dispute record, so no reference to give
    assert message["response"] == "utter_dispute_already_open_no_reference" and message["invoice_number"] == disputed
    assert fills_its_text(domain, message)
