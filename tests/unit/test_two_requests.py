"""Two questions in one message (settle/billing/requests.py): the second is found by its words."""
from __future__ import annotations

import pytest

from settle.arrangements.plans import says_go_back
from settle.billing.requests import other_questions, parts_of, question_in


@pytest.mark.parametrize("message, answered, others", [
    ("i want to pay and also know why its so high", "explain_bill", ["pay_bill"]),
    ("i want to pay and also know why its so high", "pay_bill", ["explain_bill"]),
    ("what do I owe and when is it due", "check_due_date", ["check_balance"]),
    ("what do I owe and when is it due", "check_balance", ["check_due_date"]),
    ("je veux payer et savoir pourquoi c'est si cher", "explain_bill", ["pay_bill"]),
    ("ik wil betalen en ook weten waarom het zo duur is", "pay_bill", ["explain_bill"]),
    ("how much do i owe? can you send me a copy of the bill", "check_balance", ["request_invoice_copy"]),
    ("hoeveel moet ik betalen en wanneer vervalt het", "check_balance", ["check_due_date"]),
])
def test_the_other_question_in_a_message_is_found(message, answered, others):
    assert other_questions(message, answered) == others


@pytest.mark.parametrize("message, answered", [
    ("why is my bill so high", "explain_bill"),  # one request
    ("why is my bill so high and what changed", "explain_bill"),  # two parts, one question
    ("i paid yesterday and did it arrive", "check_payment_status"),
    ("can i pay in 3 months and start next friday", "request_instalment_plan"),  # nothing the keywords know
])
def test_a_message_with_one_question_has_no_other(message, answered):
    assert other_questions(message, answered) == []


def test_parts_are_cut_at_joining_words_in_three_languages():
    assert parts_of("I want to pay AND also know why") == ["i want to pay", "know why"]
    assert parts_of("je veux payer et aussi savoir pourquoi") == ["je veux payer", "savoir pourquoi"]
    assert parts_of("wat moet ik betalen? wanneer") == ["wat moet ik betalen", "wanneer"]
    assert question_in("send me the pdf") == "request_invoice_copy"
    assert question_in("hello") is None


@pytest.mark.parametrize("said, going_back", [
    ("ok go back to the plan", True), ("terug naar het plan", True), ("revenons au plan", True),
    ("laten we verder gaan met het plan", True), ("can we continue the plan", True),
    ("can i pay in instalments", False), ("ik wil een afbetalingsplan", False), ("je voudrais un plan", False),
])
def test_going_back_to_the_plan_is_told_from_a_new_request(said, going_back):
    assert says_go_back(said) is going_back
