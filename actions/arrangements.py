"""Can't pay now: instalment plans, extensions, disputes and hardship, as thin glue over settle."""
from __future__ import annotations

from datetime import date
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import (
    AccountAction,
    form_customer_id,
    language_of,
    said_this_turn,
    say_no_bill_for_month,
    text_of_last,
    verified_customer_id,
)
from actions.handoff import chat_so_far, topics_asked
from settle.arrangements import services
from settle.arrangements.plans import PlanSummary
from settle.clock import format_date, format_day_and_month, format_month
from settle.errors import (
    AlreadyDisputed,
    InvoiceNotFound,
    NoBillForMonth,
    NotEligibleForExtension,
    NotEligibleForPlan,
    OutOfRange,
    UnusableDisputeReason,
)
from settle.money import euros, format_euros
from settle.unit_of_work import unit_of_work

PLAN_SLOTS = ("plan_months", "plan_start", "plan_confirmed", "plan_total_cents")
EXTENSION_SLOTS = ("extension_date", "extension_confirmed")
#: Extension refusals whose text suggests a payment plan instead.
POINT_TO_A_PLAN = ("already_extended", "too_late")
#: What the customer is told for each reason a dispute reason can't be kept.
REASON_PROBLEMS = {"card_number": "utter_no_card_numbers_in_reason", "too_short": "utter_invalid_dispute_reason"}


def _cleared(*names: str) -> list[dict]:
    return [SlotSet(name, None) for name in names]


# -- instalment plans -----------------------------------------------------------------------------


class ActionOfferPlan(AccountAction):
    """Says whether a plan is possible and within which months, or shows the plan already running."""

    def name(self) -> str:
        return "action_offer_plan"

    def answer(self, dispatcher, uow, customer_id, tracker):
        result, language = services.offer_plan(uow, customer_id), language_of(tracker)
        if isinstance(result, PlanSummary):
            _say_active_plan(dispatcher, result, language)
            return [SlotSet("plan_eligible", False)]
        if isinstance(result, services.PlanRefusal):
            # Below the minimum, more time is the way; when that is shut too, a person is.
            closed = "_no_extension" if result.reason == "below_minimum" and not result.extension_possible else ""
            dispatcher.utter_message(
                response=f"utter_plan_not_possible_{result.reason}{closed}",
                minimum=format_euros(result.minimum, language),
                total=format_euros(result.total_open, language),
            )
            return [SlotSet("plan_eligible", False)]
        # "can I pay in 6 months starting 1 December?" already said the months, the first date, or both.
        typed = text_of_last(tracker, "request_instalment_plan")
        details = services.read_plan_details(uow, customer_id, typed)
        kept = {name: tracker.get_slot(name) for name in ("plan_months", "plan_start")}
        if services.means_go_back(typed) and not (details.months_said or details.start_said) and any(kept.values()):
            # "ok go back to the plan": the values already given stay (the form checks them again), nothing is asked twice
            dispatcher.utter_message(response="utter_plan_going_on")
            return [SlotSet("plan_eligible", True), *(SlotSet(name, value) for name, value in kept.items()),
                    *_cleared("plan_confirmed", "plan_total_cents")]
        terms = {"total": format_euros(result.total, language), "min_months": result.min_months, "max_months": result.max_months}
        if details.months_said and details.months is None:  # one message: the months allowed, and the question
            dispatcher.utter_message(response="utter_plan_possible_other_months", **terms, months=details.months_said)
        else:
            dispatcher.utter_message(response="utter_plan_possible", **terms)
        months = details.months or (tracker.get_slot("plan_months") if not details.months_said else None)
        return [
            SlotSet("plan_eligible", True), SlotSet("plan_months", str(months) if months else None),
            SlotSet("plan_start", details.start.isoformat() if details.start else None),
            *_cleared("plan_confirmed", "plan_total_cents"),
        ]


def _say_active_plan(dispatcher: CollectingDispatcher, running: PlanSummary, language: str) -> None:
    dispatcher.utter_message(
        response="utter_active_plan", reference=running.reference,
        paid=format_euros(running.paid, language), left=format_euros(running.left, language),
    )
    if running.next_instalment:
        number, due, amount = running.next_instalment
        dispatcher.utter_message(
            response="utter_active_plan_next", number=number, due_date=format_date(due, language),
            amount=format_euros(amount, language),
        )


class ValidateInstalmentPlanForm(FormValidationAction):
    def name(self) -> str:
        return "validate_instalment_plan_form"

    async def run(self, dispatcher, tracker: Tracker, domain: DomainDict):
        try:
            return await super().run(dispatcher, tracker, domain)
        except NotEligibleForPlan:  # paid or changed while the form was open
            dispatcher.utter_message(response="utter_arrangement_changed")
            return [SlotSet("plan_confirmed", False), SlotSet("requested_slot", None)]

    def validate_plan_months(self, value: Any, dispatcher, tracker: Tracker, domain: DomainDict) -> dict:
        """The months, and a first date said with them or instead of them ("next friday" is kept, not refused).
        Picked up while something else was asked ("1 December" read as 1 month), only months said as such count."""
        if value is None:  # cleared by the offer, not typed: nothing to check
            return {"plan_months": None}
        details = services.read_plan_details(unit_of_work(), form_customer_id(tracker), _typed(tracker, value))
        asked = tracker.get_slot("requested_slot") == "plan_months"
        found: dict[str, Any] = {"plan_start": details.start.isoformat()} if asked and details.start else {}
        if details.months is not None:
            return {**found, "plan_months": str(details.months)}
        if asked and details.start and not details.months_said:
            return {**found, "plan_months": None}  # the date is kept; the months are asked next
        if (asked or details.months_said) and not said_this_turn(tracker, "utter_plan_possible_other_months"):
            # (the offer just now said which months are possible: once is enough)
            dispatcher.utter_message(response="utter_invalid_plan_months", min=details.min_months, max=details.max_months)
        return {**found, "plan_months": None if asked else _before_this_message(tracker, "plan_months")}

    def validate_plan_start(self, value: Any, dispatcher, tracker: Tracker, domain: DomainDict) -> dict:
        if value is None:  # cleared by the offer, not typed: nothing to check
            return {"plan_start": None}
        details = services.read_plan_details(unit_of_work(), form_customer_id(tracker), _typed(tracker, value))
        if details.start is None:
            language = language_of(tracker)
            dispatcher.utter_message(
                response="utter_invalid_plan_start", latest=format_date(details.latest_start, language),
                example=format_day_and_month(details.example_start, language),
            )
            return {"plan_start": None}
        return {"plan_start": details.start.isoformat()}


class ActionAskPlanMonths(Action):
    """Asks the months, unless this turn already did (the offer said which months; a refusal said the range)."""

    def name(self) -> str:
        return "action_ask_plan_months"

    async def run(self, dispatcher, tracker: Tracker, domain: DomainDict):
        if not said_this_turn(tracker, "utter_plan_possible_other_months", "utter_invalid_plan_months"):
            dispatcher.utter_message(response="utter_ask_plan_months")
        return []


class ActionAskPlanStart(Action):
    """Asks the first due date with an example the plan accepts, so the bot never refuses its own example."""

    def name(self) -> str:
        return "action_ask_plan_start"

    async def run(self, dispatcher, tracker: Tracker, domain: DomainDict):
        try:
            details = services.read_plan_details(unit_of_work(), form_customer_id(tracker), "")
        except NotEligibleForPlan:  # paid or changed while the form was open
            dispatcher.utter_message(response="utter_arrangement_changed")
            return [SlotSet("plan_confirmed", False), SlotSet("requested_slot", None)]
        if not said_this_turn(tracker, "utter_invalid_plan_start"):
            dispatcher.utter_message(
                response="utter_ask_plan_start", example=format_day_and_month(details.example_start, language_of(tracker))
            )
        return []


def _typed(tracker: Tracker, value: Any) -> str:
    """What the customer typed in answer: the whole message (an entity may be a part of it: "December" of
    "1 December"); when the form is only starting, the value the offer kept from the request."""
    if tracker.get_slot("requested_slot") is None:
        return str(value or "")
    return tracker.latest_message.get("text") or str(value or "")


def _before_this_message(tracker: Tracker, slot: str) -> Any:
    """The slot's value before the customer's latest message set it."""
    after_message = True
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            after_message = False
        elif not after_message and event.get("event") == "slot" and event.get("name") == slot:
            return event.get("value")
    return None


class ActionAskPlanConfirmed(Action):
    """Shows the schedule the customer chose before asking to confirm it."""

    def name(self) -> str:
        return "action_ask_plan_confirmed"

    async def run(self, dispatcher, tracker: Tracker, domain: DomainDict):
        months, start = int(tracker.get_slot("plan_months")), date.fromisoformat(tracker.get_slot("plan_start"))
        try:
            chosen = services.plan_schedule(unit_of_work(), form_customer_id(tracker), months, start)
        except NotEligibleForPlan:
            dispatcher.utter_message(response="utter_arrangement_changed")
            return [SlotSet("plan_confirmed", False), SlotSet("requested_slot", None)]
        language = language_of(tracker)
        dispatcher.utter_message(response="utter_plan_schedule", total=format_euros(chosen.total, language))
        for part in chosen.instalments:
            dispatcher.utter_message(
                response="utter_plan_instalment", number=part.number,
                amount=format_euros(euros(part.amount_cents), language), due_date=format_date(part.due_date, language),
            )
        dispatcher.utter_message(response="utter_ask_plan_confirmed")
        return [SlotSet("plan_total_cents", str(chosen.total_cents))]  # what the customer is agreeing to


class ActionFinishPlan(AccountAction):
    """Stores the plan the customer confirmed, and sends the first instalment's link."""

    def name(self) -> str:
        return "action_finish_plan"

    def answer(self, dispatcher, uow, customer_id, tracker):
        if not tracker.get_slot("plan_confirmed"):
            dispatcher.utter_message(response="utter_plan_not_set")
            return _cleared("plan_eligible", *PLAN_SLOTS)
        try:
            plan = services.agree_plan(
                uow, customer_id, int(tracker.get_slot("plan_months")), date.fromisoformat(tracker.get_slot("plan_start")),
                agreed_total_cents=int(tracker.get_slot("plan_total_cents") or 0) or None,
            )
        except (NotEligibleForPlan, OutOfRange):  # every rule (and the agreed total) is checked again when storing
            dispatcher.utter_message(response="utter_arrangement_changed")
            return _cleared("plan_eligible", *PLAN_SLOTS)
        language = language_of(tracker)
        dispatcher.utter_message(
            response="utter_plan_created", reference=plan.reference, amount=format_euros(plan.first_amount, language),
            due_date=format_date(plan.first_due, language), link=plan.link_url,
        )
        return _cleared("plan_eligible", *PLAN_SLOTS)


# -- extensions -----------------------------------------------------------------------------------


class ActionOfferExtension(AccountAction):
    """Says by when the bill may be paid instead, or why more time isn't possible."""

    def name(self) -> str:
        return "action_offer_extension"

    def answer(self, dispatcher, uow, customer_id, tracker):
        wanted = tracker.get_slot("invoice_number")
        try:
            offer = services.offer_extension(uow, customer_id, wanted)
        except NotEligibleForExtension as refusal:
            # These refusals point to a plan; when a plan isn't possible either, to a person.
            closed = "_no_plan" if refusal.reason in POINT_TO_A_PLAN and not refusal.plan_possible else ""
            dispatcher.utter_message(
                response=f"utter_extension_not_possible_{refusal.reason}{closed}",
                invoice_number=refusal.invoice_number or wanted or "",
            )
            return [SlotSet("extension_eligible", False), SlotSet("invoice_number", None)]
        language = language_of(tracker)
        dispatcher.utter_message(
            response="utter_extension_possible", invoice_number=offer.invoice_number,
            amount=format_euros(offer.amount, language), due_date=format_date(offer.current_due, language),
            latest=format_date(offer.latest, language),
        )
        # extension_date is kept: "can I pay next Friday?" already said it.
        return [
            SlotSet("extension_eligible", True),
            SlotSet("invoice_number", offer.invoice_number),
            SlotSet("extension_confirmed", None),
        ]


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
        checked = services.check_extension_date(
            unit_of_work(), form_customer_id(tracker), tracker.get_slot("invoice_number"), _typed(tracker, value)
        )
        language = language_of(tracker)
        if checked.chosen is None:
            dispatcher.utter_message(
                response="utter_invalid_extension_date",
                due_date=format_date(checked.current_due, language), latest=format_date(checked.latest, language),
            )
            return {"extension_date": None}
        return {"extension_date": checked.chosen.isoformat(), "extension_day": format_date(checked.chosen, language)}

    def validate_extension_confirmed(self, value: Any, dispatcher, tracker: Tracker, domain: DomainDict) -> dict:
        """A no corrects the date ("no wait, the 9th": that day is asked to confirm; "no": the day is asked
        again); only a no that says stop ("never mind") keeps the due date as it was."""
        typed = tracker.latest_message.get("text") or ""
        if value is not False or services.means_stop(typed):
            return {"extension_confirmed": value}
        corrected = services.check_extension_date(
            unit_of_work(), form_customer_id(tracker), tracker.get_slot("invoice_number"), typed
        ).chosen
        if corrected is None:
            return {"extension_confirmed": None, "extension_date": None}
        return {"extension_confirmed": None, "extension_date": corrected.isoformat(), "extension_day": format_date(corrected, language_of(tracker))}


class ActionFinishExtension(AccountAction):
    def name(self) -> str:
        return "action_finish_extension"

    def answer(self, dispatcher, uow, customer_id, tracker):
        if not tracker.get_slot("extension_confirmed"):
            dispatcher.utter_message(response="utter_extension_not_set")
            return _cleared("extension_eligible", "invoice_number", *EXTENSION_SLOTS)
        try:
            extension = services.grant_extension(
                uow, customer_id, tracker.get_slot("invoice_number"), date.fromisoformat(tracker.get_slot("extension_date"))
            )
        except NotEligibleForExtension as refusal:  # e.g. granted in another chat a moment ago
            dispatcher.utter_message(
                response=f"utter_extension_not_possible_{refusal.reason}", invoice_number=refusal.invoice_number or ""
            )
            return _cleared("extension_eligible", "invoice_number", *EXTENSION_SLOTS)
        except OutOfRange:
            dispatcher.utter_message(response="utter_arrangement_changed")
            return _cleared("extension_eligible", "invoice_number", *EXTENSION_SLOTS)
        dispatcher.utter_message(
            response="utter_extension_granted",
            invoice_number=extension.invoice_number, due_date=format_date(extension.new_due_date, language_of(tracker)),
        )
        return _cleared("extension_eligible", "invoice_number", *EXTENSION_SLOTS)


# -- disputes -------------------------------------------------------------------------------------


class ActionAskDisputeInvoice(Action):
    """Asks which bill, with the customer's recent bills as buttons."""

    def name(self) -> str:
        return "action_ask_dispute_invoice"

    async def run(self, dispatcher, tracker: Tracker, domain: DomainDict):
        bills = services.disputable_bills(unit_of_work(), verified_customer_id(tracker))
        language = language_of(tracker)
        buttons = [
            {"title": f"{bill.number} ({format_month(bill.period_start, language)}, {format_euros(bill.total, language)})",
             "payload": f'/inform{{"invoice_number": "{bill.number}"}}'}
            for bill in bills
        ]
        dispatcher.utter_message(response="utter_ask_dispute_invoice", buttons=buttons)
        return []


class ValidateDisputeForm(FormValidationAction):
    def name(self) -> str:
        return "validate_dispute_form"

    async def extract_dispute_invoice(self, dispatcher, tracker: Tracker, domain: DomainDict) -> dict:
        """The bill the conversation is already about (named earlier, a reminder's, or in the request: "my last
        bill is wrong") needs no question."""
        if tracker.get_slot("dispute_invoice"):
            return {}
        customer_id = verified_customer_id(tracker)
        request = _dispute_request(tracker)
        asked_about = request is not None and services.dispute_asked_about(unit_of_work(), customer_id, request)
        if asked_about:  # "whats happening with my complaint": the finish action says it is being looked at
            return {"dispute_invoice": asked_about, "dispute_reason": request}
        known = tracker.get_slot("invoice_number")
        if not known and request is not None:
            try:
                known = services.match_disputable_bill(unit_of_work(), customer_id, request)
            except NoBillForMonth:
                known = None  # asked with the bills to choose from
        return {"dispute_invoice": known} if known else {}

    async def extract_dispute_reason(self, dispatcher, tracker: Tracker, domain: DomainDict) -> dict:
        """What is wrong, when the request already said it, is not asked again."""
        request = _dispute_request(tracker)
        if tracker.get_slot("dispute_reason") or request is None:
            return {}
        reason = services.dispute_reason_in_request(request)
        return {"dispute_reason": reason} if reason else {}

    def validate_dispute_invoice(self, value: Any, dispatcher, tracker: Tracker, domain: DomainDict) -> dict:
        """A number from the buttons or typed, or the bill named in words ("the october one")."""
        try:
            match = services.match_disputable_bill(unit_of_work(), verified_customer_id(tracker), str(value))
        except NoBillForMonth as missing:
            say_no_bill_for_month(dispatcher, missing, language_of(tracker))
            return {"dispute_invoice": None}
        if match is None and services.is_under_open_dispute(unit_of_work(), verified_customer_id(tracker), str(value)):
            return {"dispute_invoice": str(value).strip().upper()}  # the finish action says it is looked at already
        if match is None:
            dispatcher.utter_message(response="utter_invalid_dispute_invoice")
        return {"dispute_invoice": match}

    def validate_dispute_reason(self, value: Any, dispatcher, tracker: Tracker, domain: DomainDict) -> dict:
        try:
            return {"dispute_reason": services.check_dispute_reason(str(value))}
        except UnusableDisputeReason as refused:
            dispatcher.utter_message(response=REASON_PROBLEMS[refused.problem])
            return {"dispute_reason": None}


def _said(tracker: Tracker) -> str:
    return tracker.latest_message.get("text") or ""


def _dispute_request(tracker: Tracker) -> str | None:
    """The customer's words that asked for the dispute while the form starts, None when answering its questions:
    the latest message, or, when verification came first, the request it held back ("my bill is wrong, you charged
    me for a meter replacement i never had", then number, postcode and date of birth)."""
    if (tracker.latest_message.get("intent") or {}).get("name") == "dispute_bill":
        return _said(tracker)
    if tracker.get_slot("requested_slot") is not None or tracker.get_slot("account_question") != "dispute_bill":
        return None
    for event in reversed(tracker.events):
        if event.get("event") == "action" and event.get("name") == "action_finish_dispute":
            return None  # that request was answered already
        if event.get("event") == "user" and ((event.get("parse_data") or {}).get("intent") or {}).get("name") == "dispute_bill":
            return event.get("text") or None
    return None


class ActionFinishDispute(AccountAction):
    """Files the dispute: invoice on hold, a person told, the customer given a reference."""

    def name(self) -> str:
        return "action_finish_dispute"

    def answer(self, dispatcher, uow, customer_id, tracker):
        number = tracker.get_slot("dispute_invoice")
        try:
            reason = tracker.get_slot("dispute_reason") or ""
            reference = services.open_dispute(uow, customer_id, number, reason, tracker.sender_id)
        except AlreadyDisputed as existing:
            if existing.reference is None:  # on hold without a record of the dispute (older data)
                dispatcher.utter_message(response="utter_dispute_already_open_no_reference", invoice_number=number)
            else:
                dispatcher.utter_message(response="utter_dispute_already_open", invoice_number=number, reference=existing.reference)
        except (InvoiceNotFound, UnusableDisputeReason):
            dispatcher.utter_message(response="utter_invalid_dispute_invoice")
        else:
            dispatcher.utter_message(response="utter_dispute_opened", reference=reference, invoice_number=number)
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
        # A person can reach out too; the options above say how to ask.
        service = services.report_hardship(
            unit_of_work(), verified_customer_id(tracker), tracker.sender_id, chat_so_far(tracker), topics_asked(tracker)
        )
        dispatcher.utter_message(
            response="utter_hardship_welfare", name=service.name, phone=service.phone, address=service.address, web=service.web
        )
        return []
