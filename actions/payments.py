"""Paying: the personal link, ways to pay, whether a payment arrived, a copy of the invoice."""
from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.types import DomainDict

from actions.common import AccountAction, bill_words, language_of, say_no_bill_for_month, text_of_last, verified_customer_id
from settle.billing import services as billing
from settle.clock import format_date, format_month
from settle.errors import InvoiceNotFound, NoBillForMonth, NothingToPay
from settle.locales import format_list
from settle.money import format_euros
from settle.payments import services
from settle.unit_of_work import unit_of_work

FORGET_INVOICE = [SlotSet("invoice_number", None)]
#: Payments confirmed one by one, newest first.
MOST_PAYMENTS_SAID = 3


class ActionSendPaymentLink(AccountAction):
    question = "pay_bill"

    def name(self) -> str:
        return "action_send_payment_link"

    def answer(self, dispatcher, uow, customer_id, tracker):
        wanted = tracker.get_slot("invoice_number")
        try:
            offer = services.offer_payment_link(uow, customer_id, wanted, bill_words(tracker, "pay_bill"))
        except NoBillForMonth as missing:
            return say_no_bill_for_month(dispatcher, missing, language_of(tracker)) + FORGET_INVOICE
        except InvoiceNotFound:
            dispatcher.utter_message(response="utter_invoice_not_found", invoice_number=wanted)
            return FORGET_INVOICE
        except NothingToPay:
            dispatcher.utter_message(response="utter_nothing_to_pay")
            return FORGET_INVOICE
        language = language_of(tracker)
        values = {
            "amount": format_euros(offer.amount, language), "link": offer.url,
            "expires": format_date(offer.expires_at.date(), language),
        }
        if offer.instalment_number is not None and offer.instalment_due is not None:  # a part of the plan, not the whole
            dispatcher.utter_message(
                response="utter_payment_link_instalment", **values,
                number=offer.instalment_number, due_date=format_date(offer.instalment_due, language),
            )
        else:
            dispatcher.utter_message(response="utter_payment_link", **values, invoices=format_list(offer.invoice_numbers, language))
        if offer.on_hold:
            dispatcher.utter_message(response="utter_payment_link_leaves_out_on_hold", invoices=format_list(offer.on_hold, language))
        return FORGET_INVOICE


class ActionTellPaymentMethods(Action):
    """The ways to pay for everyone; the exact transfer details only once verified."""

    def name(self) -> str:
        return "action_tell_payment_methods"

    async def run(self, dispatcher, tracker: Tracker, domain: DomainDict):
        dispatcher.utter_message(response="utter_payment_methods")
        customer_id = verified_customer_id(tracker)
        if customer_id is None:
            dispatcher.utter_message(response="utter_transfer_details_after_verification")
            return []
        for details in services.transfer_details(unit_of_work(), customer_id):
            dispatcher.utter_message(
                response="utter_transfer_details",
                invoice_number=details.invoice_number,
                amount=format_euros(details.amount, language_of(tracker)),
                iban=details.iban,
                beneficiary=details.beneficiary,
                communication=details.communication,
            )
        return []


class ActionTellPaymentStatus(AccountAction):
    question = "check_payment_status"

    """Says what was received and when; about a payment the customer says they made ("yesterday, by bank
    transfer") it says whether anything came in since, and never a "yes" about an older payment."""

    def name(self) -> str:
        return "action_tell_payment_status"

    def answer(self, dispatcher, uow, customer_id, tracker):
        status = services.payment_status(uow, customer_id, text_of_last(tracker, "check_payment_status"))
        claim, language = status.claim, language_of(tracker)
        if claim.said_anything and not status.arrived:
            _say_not_arrived_yet(dispatcher, status, language)
        else:
            received = status.arrived or status.received
            if not received:
                dispatcher.utter_message(response="utter_no_payment_found")
            for payment in received[:MOST_PAYMENTS_SAID]:
                dispatcher.utter_message(
                    response="utter_payment_arrived" if status.arrived else "utter_payment_received", **_payment_values(payment, language)
                )
        if status.still_open > 0:
            dispatcher.utter_message(response="utter_still_open", total=format_euros(status.still_open, language))
        elif status.received:
            dispatcher.utter_message(response="utter_nothing_left_to_pay")
        return []


def _say_not_arrived_yet(dispatcher, status: services.PaymentStatus, language: str) -> None:
    """Nothing since the day they paid (or a transfer without a day): what came in last, and how long transfers take."""
    last = status.received[0] if status.received else None
    if status.claim.paid_on is not None:
        day = format_date(status.claim.paid_on, language)
        if last is None:
            dispatcher.utter_message(response="utter_payment_not_seen_since", day=day)
        else:
            dispatcher.utter_message(response="utter_payment_not_seen_since_last_was", day=day, **_payment_values(last, language))
    elif last is not None:
        dispatcher.utter_message(response="utter_payment_last_received", **_payment_values(last, language))
    dispatcher.utter_message(response="utter_transfer_takes_days")


def _payment_values(payment, language: str) -> dict[str, str]:
    return {
        "amount": format_euros(payment.amount, language),
        "paid_on": format_date(payment.paid_at.date(), language),
        "invoice_number": payment.invoice_number,
    }


class ActionSendInvoiceCopy(AccountAction):
    question = "request_invoice_copy"

    def name(self) -> str:
        return "action_send_invoice_copy"

    def answer(self, dispatcher, uow, customer_id, tracker):
        wanted = tracker.get_slot("invoice_number")
        try:
            copy = billing.send_invoice_copy(uow, customer_id, wanted, bill_words(tracker, "request_invoice_copy"))
        except NoBillForMonth as missing:
            return say_no_bill_for_month(dispatcher, missing, language_of(tracker)) + FORGET_INVOICE
        except InvoiceNotFound:
            dispatcher.utter_message(response="utter_invoice_not_found", invoice_number=wanted)
            return FORGET_INVOICE
        dispatcher.utter_message(
            response="utter_invoice_copy", invoice_number=copy.invoice_number, link=copy.url,
            period=format_month(copy.period_start, language_of(tracker)),
        )
        return FORGET_INVOICE
