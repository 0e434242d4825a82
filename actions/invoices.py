"""Answers about the verified customer's own bills: balance, due dates, list, why it changed."""
from __future__ import annotations

from actions.common import AccountAction, bill_words, language_of, say_no_bill_for_month
from settle.billing import services
from settle.billing.invoices import InvoiceSummary
from settle.billing.standing import MoneyOwed
from settle.clock import format_date, format_month
from settle.errors import InvoiceNotFound, NoBillForMonth
from settle.money import format_euros, format_quantity, format_unit_price
from settle.translations import gettext_in

#: Bills listed one by one before the rest is summed up.
MOST_LISTED = 6


def _bill_values(bill: InvoiceSummary, language: str) -> dict[str, str]:
    return {
        "invoice_number": bill.number,
        "amount": format_euros(bill.total, language),
        "open_amount": format_euros(bill.open_amount, language),
        "due_date": format_date(bill.due_date, language),
        "period": format_month(bill.period_start, language),
    }


class ActionTellBalance(AccountAction):
    question = "check_balance"

    def name(self) -> str:
        return "action_tell_balance"

    def answer(self, dispatcher, uow, customer_id, tracker):
        owed = services.tell_money_owed(uow, customer_id)
        if not (owed.to_pay or owed.on_hold or owed.plan):
            dispatcher.utter_message(response="utter_balance_nothing_open")
            return
        language = language_of(tracker)
        dispatcher.utter_message(response="utter_balance_total", total=format_euros(owed.total_open, language))
        for bill in owed.to_pay[:MOST_LISTED]:
            dispatcher.utter_message(response="utter_balance_invoice", **_open_bill_values(bill, language))
        if len(owed.to_pay) > MOST_LISTED:
            dispatcher.utter_message(response="utter_balance_more_invoices", count=len(owed.to_pay) - MOST_LISTED)
        _say_plan_and_holds(dispatcher, owed, "utter_balance_plan_next", "utter_balance_on_hold", language)


class ActionTellDueDates(AccountAction):
    question = "check_due_date"

    def name(self) -> str:
        return "action_tell_due_dates"

    def answer(self, dispatcher, uow, customer_id, tracker):
        owed = services.tell_money_owed(uow, customer_id)
        language = language_of(tracker)
        if not (owed.to_pay or owed.on_hold or owed.plan):
            dispatcher.utter_message(response="utter_due_date_nothing_open")
        for bill in owed.to_pay:
            response = "utter_due_date_overdue" if bill in owed.overdue else "utter_due_date_upcoming"
            if bill.number in owed.moved_from:
                response = "utter_due_date_moved"
            dispatcher.utter_message(
                response=response, **_open_bill_values(bill, language),
                original_due_date=format_date(owed.moved_from.get(bill.number, bill.due_date), language),
            )
        _say_plan_and_holds(dispatcher, owed, "utter_due_date_plan_next", "utter_due_date_on_hold", language)


def _open_bill_values(bill: InvoiceSummary, language: str) -> dict[str, str]:
    return {**_bill_values(bill, language), "amount": format_euros(bill.open_amount, language)}


def _say_plan_and_holds(dispatcher, owed: MoneyOwed, plan_response: str, on_hold_response: str, language: str) -> None:
    """The plan's next part instead of the bills in it, and each bill on hold, in plain words."""
    if owed.plan is not None:
        plan = owed.plan
        dispatcher.utter_message(
            response=plan_response, reference=plan.reference, number=plan.number, amount=format_euros(plan.amount, language),
            due_date=format_date(plan.due_date, language), plan_left=format_euros(plan.plan_left, language),
        )
    for bill in owed.on_hold:
        dispatcher.utter_message(response=on_hold_response, **_open_bill_values(bill, language))


class ActionListInvoices(AccountAction):
    question = "list_invoices"

    def name(self) -> str:
        return "action_list_invoices"

    def answer(self, dispatcher, uow, customer_id, tracker):
        listed = services.list_invoices(uow, customer_id, limit=MOST_LISTED)
        if not listed:
            dispatcher.utter_message(response="utter_no_invoices")
            return
        dispatcher.utter_message(response="utter_invoices_intro")
        for item in listed:
            dispatcher.utter_message(response=f"utter_invoice_{item.state}", **_bill_values(item.invoice, language_of(tracker)))


class ActionExplainBill(AccountAction):
    question = "explain_bill"

    def name(self) -> str:
        return "action_explain_bill"

    def answer(self, dispatcher, uow, customer_id, tracker):
        try:
            explanation = services.explain_bill(uow, customer_id, bill_words(tracker, "explain_bill"))
        except NoBillForMonth as missing:
            return say_no_bill_for_month(dispatcher, missing, language_of(tracker))
        except InvoiceNotFound as unknown:
            dispatcher.utter_message(response="utter_invoice_not_found", invoice_number=str(unknown))
            return None
        if explanation is None:
            dispatcher.utter_message(response="utter_no_invoices")
            return
        latest, language = explanation.latest, language_of(tracker)
        values = {"invoice_number": latest.number, "latest_total": format_euros(latest.total, language)}
        if explanation.previous is None:
            dispatcher.utter_message(response="utter_explain_bill_first", **values)
            return
        direction = "higher" if explanation.change > 0 else "lower" if explanation.change < 0 else "same"
        dispatcher.utter_message(
            response=f"utter_explain_{'named_' if explanation.named else ''}bill_{direction}",
            **values, period=format_month(latest.period_start, language),
            previous_total=format_euros(explanation.previous.total, language),
            change=format_euros(abs(explanation.change), language),
        )
        if not explanation.reasons:
            dispatcher.utter_message(response="utter_explain_bill_small_change")
        for reason in explanation.reasons[:2]:
            dispatcher.utter_message(response=f"utter_explain_bill_{reason.kind}", **_reason_values(reason.values, language))


def _reason_values(values: dict, language: str) -> dict[str, str]:
    """Money as euros, prices to the tenth of a cent, usage as plain numbers, a bill line's description in the language
    when the catalogs know it; all as text, as the language writes them."""
    shown = {key: str(value) for key, value in values.items()}
    shown["effect"] = format_euros(abs(values["effect"]), language)
    if "description" in values:
        shown["description"] = gettext_in(language, values["description"])
    for key in ("previous_usage", "latest_usage"):
        if key in values:
            shown[key] = format_quantity(values[key], language)
    for key in ("previous_price", "latest_price"):
        if key in values:
            shown[key] = format_unit_price(values[key], language)
    return shown
