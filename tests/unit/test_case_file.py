"""The case file an agent sees: who the customer is, their bills, what is open and what is disputed."""
from __future__ import annotations

from decimal import Decimal

import pytest

from settle.arrangements.disputes import open_dispute
from settle.billing.invoices import open_balance, recent_invoices
from settle.handoff.case_file import case_file
from settle.locales import language_name
from tests.conftest import NOW


@pytest.mark.parametrize("shape", ["overdue", "partly_paid", "disputed", "all_paid"])
def test_the_case_file_shows_the_customer_their_bills_and_what_is_open(session, persona_customer, shape):
    customer = persona_customer(shape)
    case = case_file(session, customer.id, NOW)
    assert (case.customer.first_name, case.customer.last_name) == (customer.first_name, customer.last_name)
    assert case.invoices == recent_invoices(session, customer.id)
    assert case.total_open == open_balance(session, customer.id).total_open


def test_an_overdue_customer_owes_both_open_bills(session, persona_customer):
    lucas = persona_customer("overdue")
    case = case_file(session, lucas.id, NOW)
    assert case.customer.first_name == "Lucas"
    assert case.total_open == Decimal("203.69")
    assert [i.issue_date for i in case.invoices] == sorted((i.issue_date for i in case.invoices), reverse=True)
    assert 0 < len(case.invoices) <= 6
    assert case.disputes == [] and case.plan is None and case.hardship_reported_at is None


def test_a_customer_who_paid_everything_owes_nothing(session, persona_customer):
    assert case_file(session, persona_customer("all_paid").id, NOW).total_open == Decimal("0.00")


def test_an_open_dispute_shows_up(session, persona_customer):
    lucas = persona_customer("overdue")
    dispute = open_dispute(session, lucas.id, None, "I moved out in September", "conv-case-file", NOW)
    case = case_file(session, lucas.id, NOW)
    [shown] = case.disputes
    assert shown.reference == dispute.reference
    assert shown.invoice_number == case.invoices[0].number  # None disputes the latest bill
    assert shown.reason == "I moved out in September"
    assert shown.opened_at == NOW
    assert case.total_open == open_balance(session, lucas.id).total_open


def test_a_dispute_of_another_customer_does_not_show_up(session, persona_customer):
    open_dispute(session, persona_customer("overdue").id, None, "Not my meter", "conv-case-file", NOW)
    assert case_file(session, persona_customer("usage_up").id, NOW).disputes == []


def test_an_unknown_customer_has_no_case_file(session):
    assert case_file(session, 987654321, NOW) is None


@pytest.mark.parametrize("language, name", [("nl", "Dutch"), ("fr", "French"), ("en", "English")])
def test_the_case_file_says_which_language_the_customer_reads(session, persona_customer, language, name):
    customer = persona_customer("overdue")
    customer.language = language
    session.flush()
    case = case_file(session, customer.id, NOW)
    assert case.customer.language == language
    assert language_name(case.customer.language) == name
