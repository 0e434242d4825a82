"""What the trained model understands, asked through the running Rasa server's /model/parse.

The first messages are the ones an independent evaluation found misread by the DIET-only model (issue 13,
quoted there). They are test cases here, never training data: none of them is in data/.
"""
from __future__ import annotations

import pytest
import requests

from tests.e2e.conftest import RASA_API_TOKEN

ONCE_MISREAD = [
    ("pay my utility bill from my bank account", "pay_bill"),
    ("I want to pay my last bill", "pay_bill"),
    ("I would like to pay my subscription fee", "pay_bill"),
    ("how much is due for my water bill", "check_balance"),
    ("I would like an extension on my subscription.", "request_payment_extension"),
    ("get me a hotel room for two nights in boston", "out_of_scope"),
    ("hola!", "greet"),
]


def parse(stack, text: str) -> dict:
    reply = requests.post(f"{stack.rasa_url}/model/parse", params={"token": RASA_API_TOKEN}, json={"text": text},
                          timeout=30)
    reply.raise_for_status()
    return reply.json()


@pytest.mark.parametrize(("text", "intent"), ONCE_MISREAD)
def test_messages_the_old_model_misread_are_understood(stack, text, intent):
    assert parse(stack, text)["intent"]["name"] == intent


@pytest.mark.parametrize(("text", "entity", "value"), [
    ("my customer number is 50000066", "customer_number", "50000066"),
    ("i want to pay 45 euros now", "amount", "45 euros"),
    ("send me a copy of INV-2026-000021", "invoice_number", "INV-2026-000021"),
])
def test_entities_are_still_found_next_to_the_new_intent_classifier(stack, text, entity, value):
    found = {(e["entity"], e["value"]) for e in parse(stack, text)["entities"]}
    assert (entity, value) in found


def test_something_no_one_could_mean_falls_back_instead_of_guessing(stack):
    parsed = parse(stack, "flurb wozzle kriff")
    assert parsed["intent"]["name"] in {"nlu_fallback", "out_of_scope"}
