"""Can't pay now: instalment plans, extensions, disputes and hardship, as thin glue over settle."""
from __future__ import annotations

from datetime import date
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import AccountAction, database, verified_customer_id
from actions.handoff import queue_for_a_person
from settle.arrangements import plans as arrangements
from settle.arrangements.plans import NotEligibleForExtension, NotEligibleForPlan, OutOfRange
from settle.identity.card_numbers import contains_card_number
from settle.clock import format_date, local_today, now_utc
from settle.config import Settings
from settle.arrangements.disputes import AlreadyDisputed, disputable_invoices, open_dispute
from settle.arrangements.hardship import report_hardship, welfare_service_for
from settle.billing.invoices import open_balance
from settle.models import Customer
from settle.money import euros, format_euros
from settle.numbers import parse_count
from settle.payments.links import InvoiceNotFound, offer_instalment_link
from settle.policy import current_policy

PLAN_SLOTS = ("plan_months", "plan_start", "plan_confirmed", "plan_total_cents")
EXTENSION_SLOTS = ("extension_date", "extension_confirmed")


def _cleared(*names: str) -> list[dict]:
    return [SlotSet(name, None) for name in names]


# -- instalment plans -----------------------------------------------------------------------------


class ActionOfferPlan(AccountAction):
    """Says whether a plan is possible and within which months, or shows the plan already running."""

    def name(self) -> str:
        return "action_offer_plan"

    def answer(self, dispatcher, session, customer_id, tracker):
        running = arrangements.active_plan(session, customer_id)
        if running is not None:
            _say_active_plan(dispatcher, running)
            return [SlotSet("plan_eligible", False)]
        try:
            offer = arrangements.plan_offer(session, customer_id, current_policy(), local_today())
        except NotEligibleForPlan as refusal:
            dispatcher.utter_message(
                response=f"utter_plan_not_possible_{refusal.reason}",
                minimum=format_euros(current_policy().instalment_plan.minimum_open_amount),
                total=format_euros(open_balance(session, customer_id).total_open),
            )
            return [SlotSet("plan_eligible", False)]
        dispatcher.utter_message(
            response="utter_plan_possible", total=format_euros(offer.total),
            min_months=offer.min_months, max_months=offer.max_months,
        )
        # plan_months is kept: "can I pay in 6 months?" already said it.
        return [SlotSet("plan_eligible", True), *_cleared("plan_start", "plan_confirmed", "plan_total_cents")]


def _say_active_plan(dispatcher: CollectingDispatcher, running) -> None:
    dispatcher.utter_message(
        response="utter_active_plan", reference=running.reference,
        paid=format_euros(running.paid), left=format_euros(running.left),
    )
    if running.next_instalment:
        number, due, amount = running.next_instalment
        dispatcher.utter_message(response="utter_active_plan_next", number=number, due_date=format_date(due), amount=format_euros(amount))


class ValidateInstalmentPlanForm(FormValidationAction):
    def name(self) -> str:
        return "validate_instalment_plan_form"

    async def run(self, dispatcher, tracker: Tracker, domain: DomainDict):
        try:
            return await super().run(dispatcher, tracker, domain)
        except NotEligibleForPlan:  # paid or changed while the form was open
            dispatcher.utter_message(response="utter_arrangement_changed")
            return [SlotSet("plan_confirmed", False), SlotSet("requested_slot", None)]

    def _offer(self, tracker: Tracker):
        with database() as session:
            return arrangements.plan_offer(session, verified_customer_id(tracker), current_policy(), local_today())

    def validate_plan_months(self, value: Any, dispatcher, tracker: Tracker, domain: DomainDict) -> dict:
        offer = self._offer(tracker)
        try:
            months = arrangements.check_months(offer, parse_count(str(value)) or 0)
        except OutOfRange:
            dispatcher.utter_message(response="utter_invalid_plan_months", min=offer.min_months, max=offer.max_months)
            return {"plan_months": None}
        return {"plan_months": str(months)}

    def validate_plan_start(self, value: Any, dispatcher, tracker: Tracker, domain: DomainDict) -> dict:
        offer, today = self._offer(tracker), local_today()
        start = arrangements.parse_date(str(value), today)
        try:
            if start is None:
                raise OutOfRange("no date")
            start = arrangements.check_start(offer, start, today, current_policy())
        except OutOfRange:
            dispatcher.utter_message(response="utter_invalid_plan_start", latest=format_date(offer.latest_start))
            return {"plan_start": None}
        return {"plan_start": start.isoformat()}


class ActionAskPlanConfirmed(Action):
    """Shows the schedule the customer chose before asking to confirm it."""

    def name(self) -> str:
        return "action_ask_plan_confirmed"

    async def run(self, dispatcher, tracker: Tracker, domain: DomainDict):
        try:
            with database() as session:
                offer = arrangements.plan_offer(session, verified_customer_id(tracker), current_policy(), local_today())
        except NotEligibleForPlan:
            dispatcher.utter_message(response="utter_arrangement_changed")
            return [SlotSet("plan_confirmed", False), SlotSet("requested_slot", None)]
        months, start = int(tracker.get_slot("plan_months")), date.fromisoformat(tracker.get_slot("plan_start"))
        total_cents = int(offer.total * 100)
        dispatcher.utter_message(response="utter_plan_schedule", total=format_euros(offer.total))
        for part in arrangements.schedule(total_cents, months, start):
            dispatcher.utter_message(
                response="utter_plan_instalment", number=part.number,
                amount=format_euros(euros(part.amount_cents)), due_date=format_date(part.due_date),
            )
        dispatcher.utter_message(response="utter_ask_plan_confirmed")
        return [SlotSet("plan_total_cents", str(total_cents))]  # what the customer is agreeing to


class ActionFinishPlan(AccountAction):
    """Stores the plan the customer confirmed, and sends the first instalment's link."""

    def name(self) -> str:
        return "action_finish_plan"

    def answer(self, dispatcher, session, customer_id, tracker):
        if not tracker.get_slot("plan_confirmed"):
            dispatcher.utter_message(response="utter_plan_not_set")
            return _cleared("plan_eligible", *PLAN_SLOTS)
        try:
            plan = arrangements.create_plan(
                session, customer_id, int(tracker.get_slot("plan_months")), date.fromisoformat(tracker.get_slot("plan_start")),
                current_policy(), local_today(), now_utc(), agreed_total_cents=int(tracker.get_slot("plan_total_cents") or 0) or None,
            )
        except (NotEligibleForPlan, OutOfRange):  # every rule (and the agreed total) is checked again when storing
            dispatcher.utter_message(response="utter_arrangement_changed")
            return _cleared("plan_eligible", *PLAN_SLOTS)
        link = offer_instalment_link(session, plan, Settings.from_environment(), now_utc())
        first = plan.instalments[0]
        dispatcher.utter_message(
            response="utter_plan_created", reference=plan.reference, amount=format_euros(link.amount),
            due_date=format_date(first.due_date), link=link.url,
        )
        return _cleared("plan_eligible", *PLAN_SLOTS)


# -- extensions -----------------------------------------------------------------------------------


class ActionOfferExtension(AccountAction):
    """Says by when the bill may be paid instead, or why more time isn't possible."""

    def name(self) -> str:
        return "action_offer_extension"

    def answer(self, dispatcher, session, customer_id, tracker):
        wanted = tracker.get_slot("invoice_number")
        try:
            offer = arrangements.extension_offer(session, customer_id, wanted, current_policy(), local_today())
        except NotEligibleForExtension as refusal:
            dispatcher.utter_message(
                response=f"utter_extension_not_possible_{refusal.reason}",
                invoice_number=refusal.invoice_number or wanted or "",
            )
            return [SlotSet("extension_eligible", False), SlotSet("invoice_number", None)]
        dispatcher.utter_message(
            response="utter_extension_possible", invoice_number=offer.invoice.number,
            amount=format_euros(euros(offer.invoice.total_cents)), due_date=format_date(offer.current_due),
            latest=format_date(offer.latest),
        )
        # extension_date is kept: "can I pay next Friday?" already said it.
        return [SlotSet("extension_eligible", True), SlotSet("invoice_number", offer.invoice.number), SlotSet("extension_confirmed", None)]


class ValidateExtensionForm(FormValidationAction):
    def name(self) -> str:
        return "validate_extension_form"

    async def run(self, dispatcher, tracker: Tracker, domain: DomainDict):
        try:
            return await super().run(dispatcher, tracker, domain)
        except NotEligibleForExtension:  # extended, paid or disputed while the form was open
            dispatcher.utter_message(response="utter_arrangement_changed")
            return [SlotSet("extension_confirmed", False), SlotSet("requested_slot", None)]

    def validate_extension_date(self, value: Any, dispatcher, tracker: Tracker, domain: DomainDict) -> dict:
        today = local_today()
        with database() as session:
            offer = arrangements.extension_offer(
                session, verified_customer_id(tracker), tracker.get_slot("invoice_number"), current_policy(), today
            )
        chosen = arrangements.parse_date(str(value), today)
        try:
            if chosen is None:
                raise OutOfRange("no date")
            chosen = arrangements.check_extension_date(offer, chosen, today)
        except OutOfRange:
            dispatcher.utter_message(
                response="utter_invalid_extension_date", due_date=format_date(offer.current_due), latest=format_date(offer.latest)
            )
            return {"extension_date": None}
        return {"extension_date": chosen.isoformat(), "extension_day": format_date(chosen)}


class ActionFinishExtension(AccountAction):
    def name(self) -> str:
        return "action_finish_extension"

    def answer(self, dispatcher, session, customer_id, tracker):
        if not tracker.get_slot("extension_confirmed"):
            dispatcher.utter_message(response="utter_extension_not_set")
            return _cleared("extension_eligible", "invoice_number", *EXTENSION_SLOTS)
        try:
            extension = arrangements.grant_extension(
                session, customer_id, tracker.get_slot("invoice_number"), date.fromisoformat(tracker.get_slot("extension_date")),
                current_policy(), local_today(), now_utc(),
            )
        except NotEligibleForExtension as refusal:  # e.g. granted in another chat a moment ago
            dispatcher.utter_message(response=f"utter_extension_not_possible_{refusal.reason}", invoice_number=refusal.invoice_number or "")
            return _cleared("extension_eligible", "invoice_number", *EXTENSION_SLOTS)
        except OutOfRange:
            dispatcher.utter_message(response="utter_arrangement_changed")
            return _cleared("extension_eligible", "invoice_number", *EXTENSION_SLOTS)
        dispatcher.utter_message(
            response="utter_extension_granted", invoice_number=extension.invoice.number, due_date=format_date(extension.new_due_date)
        )
        return _cleared("extension_eligible", "invoice_number", *EXTENSION_SLOTS)


# -- disputes -------------------------------------------------------------------------------------


class ActionAskDisputeInvoice(Action):
    """Asks which bill, with the customer's recent bills as buttons."""

    def name(self) -> str:
        return "action_ask_dispute_invoice"

    async def run(self, dispatcher, tracker: Tracker, domain: DomainDict):
        with database() as session:
            bills = disputable_invoices(session, verified_customer_id(tracker))
            buttons = [
                {"title": f"{bill.number} ({bill.period_start:%B %Y}, {format_euros(euros(bill.total_cents))})",
                 "payload": f'/inform{{"invoice_number": "{bill.number}"}}'}
                for bill in bills
            ]
        dispatcher.utter_message(response="utter_ask_dispute_invoice", buttons=buttons)
        return []


class ValidateDisputeForm(FormValidationAction):
    def name(self) -> str:
        return "validate_dispute_form"

    async def extract_dispute_invoice(self, dispatcher, tracker: Tracker, domain: DomainDict) -> dict:
        """The bill the conversation is already about (named earlier, or a reminder's) needs no question."""
        known = tracker.get_slot("invoice_number")
        return {"dispute_invoice": known} if known and not tracker.get_slot("dispute_invoice") else {}

    def validate_dispute_invoice(self, value: Any, dispatcher, tracker: Tracker, domain: DomainDict) -> dict:
        with database() as session:
            numbers = {bill.number for bill in disputable_invoices(session, verified_customer_id(tracker))}
        typed = str(value).strip().upper()
        match = next((number for number in numbers if number == typed or number in typed), None)
        if match is None:
            dispatcher.utter_message(response="utter_invalid_dispute_invoice")
        return {"dispute_invoice": match}

    def validate_dispute_reason(self, value: Any, dispatcher, tracker: Tracker, domain: DomainDict) -> dict:
        if contains_card_number(str(value)):  # never stored where agents read it
            dispatcher.utter_message(response="utter_no_card_numbers_in_reason")
            return {"dispute_reason": None}
        if len(str(value).strip()) < 3:
            dispatcher.utter_message(response="utter_invalid_dispute_reason")
            return {"dispute_reason": None}
        return {"dispute_reason": str(value)}


class ActionFinishDispute(AccountAction):
    """Files the dispute: invoice on hold, a person told, the customer given a reference."""

    def name(self) -> str:
        return "action_finish_dispute"

    def answer(self, dispatcher, session, customer_id, tracker):
        number = tracker.get_slot("dispute_invoice")
        try:
            dispute = open_dispute(session, customer_id, number, tracker.get_slot("dispute_reason") or "", tracker.sender_id, now_utc())
        except AlreadyDisputed as existing:
            dispatcher.utter_message(response="utter_dispute_already_open", invoice_number=number, reference=existing.reference)
        except (InvoiceNotFound, ValueError):
            dispatcher.utter_message(response="utter_invalid_dispute_invoice")
        else:
            dispatcher.utter_message(response="utter_dispute_opened", reference=dispute.reference, invoice_number=number)
        return _cleared("dispute_invoice", "dispute_reason", "invoice_number")


# -- hardship -------------------------------------------------------------------------------------


class ActionHandleHardship(Action):
    """Answers with care: options, a person, and the social welfare service of the customer's
    municipality; records only that hardship was reported, and only for a verified customer."""

    def name(self) -> str:
        return "action_handle_hardship"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict):
        dispatcher.utter_message(response="utter_hardship")
        dispatcher.utter_message(response="utter_hardship_options")
        customer_id = verified_customer_id(tracker)
        with database() as session:
            customer = session.get(Customer, customer_id) if customer_id else None
            if customer is not None:
                report_hardship(session, customer.id, now_utc())
            service = welfare_service_for(customer)
        queue_for_a_person(tracker, "hardship")  # a person can reach out; the options above say how to ask
        dispatcher.utter_message(
            response="utter_hardship_welfare", name=service.name, phone=service.phone, address=service.address, web=service.web
        )
        return []
