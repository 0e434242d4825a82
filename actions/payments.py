"""Paying: the personal link, ways to pay, whether a payment arrived, a copy of the invoice."""
from __future__ import annotations

from datetime import timedelta

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.types import DomainDict

from actions.common import AccountAction, database, verified_customer_id
from settle.clock import format_date, now_utc
from settle.config import Settings
from settle.billing.copies import copy_link
from settle.billing.invoices import open_balance
from settle.money import format_euros
from settle.payments.links import InvoiceNotFound, NothingToPay, offer_link
from settle.payments.incoming import payments_since
from settle.payments.transfer import structured_communication

#: How far back "did you get my payment?" looks.
PAYMENTS_LOOKBACK = timedelta(days=45)
FORGET_INVOICE = [SlotSet("invoice_number", None)]


class ActionSendPaymentLink(AccountAction):
    def name(self) -> str:
        return "action_send_payment_link"

    def answer(self, dispatcher, session, customer_id, tracker):
        settings = Settings.from_environment()
        try:
            offer = offer_link(session, customer_id, settings, now_utc(), tracker.get_slot("invoice_number"))
        except InvoiceNotFound:
            dispatcher.utter_message(response="utter_invoice_not_found", invoice_number=tracker.get_slot("invoice_number"))
            return FORGET_INVOICE
        except NothingToPay:
            dispatcher.utter_message(response="utter_nothing_to_pay")
            return FORGET_INVOICE
        dispatcher.utter_message(
            response="utter_payment_link",
            amount=format_euros(offer.amount),
            invoices=", ".join(offer.invoice_numbers),
            link=offer.url,
            expires=format_date(offer.expires_at.date()),
        )
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
        settings = Settings.from_environment()
        with database() as session:
            bills = open_balance(session, customer_id).invoices
        for bill in bills[:3]:
            dispatcher.utter_message(
                response="utter_transfer_details",
                invoice_number=bill.number,
                amount=format_euros(bill.open_amount),
                iban=settings.company_iban,
                beneficiary=settings.company_name,
                communication=structured_communication(bill.number),
            )
        return []


class ActionTellPaymentStatus(AccountAction):
    def name(self) -> str:
        return "action_tell_payment_status"

    def answer(self, dispatcher, session, customer_id, tracker):
        seen = payments_since(session, customer_id, now_utc() - PAYMENTS_LOOKBACK)
        if not seen:
            dispatcher.utter_message(response="utter_no_payment_found")
        for payment in seen[:3]:
            dispatcher.utter_message(
                response="utter_payment_received",
                amount=format_euros(payment.amount),
                paid_on=format_date(payment.paid_at.date()),
                invoice_number=payment.invoice_number,
            )
        balance = open_balance(session, customer_id)
        if balance.invoices:
            dispatcher.utter_message(response="utter_still_open", total=format_euros(balance.total_open))
        elif seen:
            dispatcher.utter_message(response="utter_nothing_left_to_pay")
        return []


class ActionSendInvoiceCopy(AccountAction):
    def name(self) -> str:
        return "action_send_invoice_copy"

    def answer(self, dispatcher, session, customer_id, tracker):
        wanted = tracker.get_slot("invoice_number")
        try:
            url, invoice = copy_link(session, customer_id, Settings.from_environment(), now_utc(), wanted)
        except InvoiceNotFound:
            dispatcher.utter_message(response="utter_invoice_not_found", invoice_number=wanted)
            return FORGET_INVOICE
        dispatcher.utter_message(
            response="utter_invoice_copy", invoice_number=invoice.number, link=url,
            period=f"{invoice.period_start:%B %Y}",
        )
        return FORGET_INVOICE
