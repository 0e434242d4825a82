"""Answers about the verified customer's own bills: balance, due dates, list, why it changed."""
from __future__ import annotations

from actions.common import AccountAction
from settle.billing import services
from settle.billing.invoices import InvoiceSummary
from settle.clock import format_date
from settle.money import format_euros

#: Bills listed one by one before the rest is summed up.
MOST_LISTED = 6


def _bill_values(bill: InvoiceSummary) -> dict[str, str]:
    return {
        "invoice_number": bill.number,
        "amount": format_euros(bill.total),
        "open_amount": format_euros(bill.open_amount),
        "due_date": format_date(bill.due_date),
        "period": f"{bill.period_start:%B %Y}",
    }


class ActionTellBalance(AccountAction):
    def name(self) -> str:
        return "action_tell_balance"

    def answer(self, dispatcher, uow, customer_id, tracker):
        balance = services.tell_balance(uow, customer_id)
        if not balance.invoices:
            dispatcher.utter_message(response="utter_balance_nothing_open")
            return
        dispatcher.utter_message(response="utter_balance_total", total=format_euros(balance.total_open))
        for bill in balance.invoices[:MOST_LISTED]:
            dispatcher.utter_message(response="utter_balance_invoice", **{**_bill_values(bill), "amount": format_euros(bill.open_amount)})
        if len(balance.invoices) > MOST_LISTED:
            dispatcher.utter_message(response="utter_balance_more_invoices", count=len(balance.invoices) - MOST_LISTED)


class ActionTellDueDates(AccountAction):
    def name(self) -> str:
        return "action_tell_due_dates"

    def answer(self, dispatcher, uow, customer_id, tracker):
        due = services.tell_due_dates(uow, customer_id)
        if not due.overdue and not due.upcoming:
            dispatcher.utter_message(response="utter_due_date_nothing_open")
        for bill in due.overdue + due.upcoming:
            response = "utter_due_date_overdue" if bill in due.overdue else "utter_due_date_upcoming"
            dispatcher.utter_message(response=response, **{**_bill_values(bill), "amount": format_euros(bill.open_amount)})


class ActionListInvoices(AccountAction):
    def name(self) -> str:
        return "action_list_invoices"

    def answer(self, dispatcher, uow, customer_id, tracker):
        listed = services.list_invoices(uow, customer_id, limit=MOST_LISTED)
        if not listed:
            dispatcher.utter_message(response="utter_no_invoices")
            return
        dispatcher.utter_message(response="utter_invoices_intro")
        for item in listed:
            dispatcher.utter_message(response=f"utter_invoice_{item.state}", **_bill_values(item.invoice))


class ActionExplainBill(AccountAction):
    def name(self) -> str:
        return "action_explain_bill"

    def answer(self, dispatcher, uow, customer_id, tracker):
        explanation = services.explain_bill(uow, customer_id)
        if explanation is None:
            dispatcher.utter_message(response="utter_no_invoices")
            return
        latest = explanation.latest
        values = {"invoice_number": latest.number, "latest_total": format_euros(latest.total)}
        if explanation.previous is None:
            dispatcher.utter_message(response="utter_explain_bill_first", **values)
            return
        direction = "higher" if explanation.change > 0 else "lower" if explanation.change < 0 else "same"
        dispatcher.utter_message(
            response=f"utter_explain_bill_{direction}",
            **values,
            previous_total=format_euros(explanation.previous.total),
            change=format_euros(abs(explanation.change)),
        )
        if not explanation.reasons:
            dispatcher.utter_message(response="utter_explain_bill_small_change")
        for reason in explanation.reasons[:2]:
            dispatcher.utter_message(response=f"utter_explain_bill_{reason.kind}", **_reason_values(reason.values))


def _reason_values(values: dict) -> dict[str, str]:
    """Money as euros, prices to the tenth of a cent, usage as plain numbers; all as text."""
    shown = {key: str(value) for key, value in values.items()}
    shown["effect"] = format_euros(abs(values["effect"]))
    for key in ("previous_usage", "latest_usage"):
        if key in values:
            shown[key] = f"{values[key].normalize():,f}"
    for key in ("previous_price", "latest_price"):
        if key in values:
            shown[key] = f"€{values[key]:.3f}"
    return shown
