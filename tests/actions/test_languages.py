"""Actions answered end to end in Dutch and French: the action's values, rendered by Rasa's own templated NLG
with the conversation's `language` slot, read as a Belgian customer expects (issue 15)."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from sqlalchemy import select

from actions.arrangements import ActionAskPlanConfirmed
from actions.handoff import ValidateCallbackForm
from actions.invoices import ActionExplainBill, ActionListInvoices, ActionTellBalance
from settle.db import session_factory
from settle.models import Customer
from settle.tooling.seed import PERSONAS
from tests.actions.conftest import DOMAIN, make_tracker
from tests.conftest import TODAY

PERSONA = {persona.shape: persona for persona in PERSONAS}
NLG = TemplatedNaturalLanguageGenerator(DOMAIN["responses"])
#: Amounts as each language writes them: "€ 99,04" (nl), "99,04 €" (fr), "€99.04" (en); non-breaking spaces.
AMOUNT = {"nl": r"€\xa0\d{1,3}(?:\.\d{3})*,\d\d", "fr": r"\d{1,3}(?:\u202f\d{3})*,\d\d\xa0€", "en": r"€\d{1,3}(?:,\d{3})*\.\d\d"}
MONTHS = {
    "nl": "januari februari maart april mei juni juli augustus september oktober november december".split(),
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre".split(),
    "en": "January February March April May June July August September October November December".split(),
}
#: Words only that language's answers use here.
WORDS = {"nl": ("u ", "factuur", "betalen"), "fr": ("vous", "facture", "payer"), "en": ("you", "bill", "pay")}


def verified(url: str, shape: str, language: str, **slots):
    with session_factory(url).begin() as session:
        customer_id = session.execute(
            select(Customer.id).where(Customer.customer_number == PERSONA[shape].customer_number)
        ).scalar_one()
    return make_tracker(slots={"verification": "verified", "verified_customer_id": str(customer_id), "language": language, **slots})


async def rendered(action, dispatcher, tracker) -> list[str]:
    """What the customer reads: each response the action sent, as Rasa fills in the variation for the slots."""
    await action.run(dispatcher, tracker, DOMAIN)
    texts = []
    for message in dispatcher.messages:
        values = {key: value for key, value in message.items() if key not in ("response", "text") and value is not None}
        generated = NLG.generate_from_slots(message["response"], tracker.slots, "rest", **values)
        texts.append(generated["text"])
    return texts


def a_date_in(language: str) -> str:
    return rf"\b\d{{1,2}} (?:{'|'.join(MONTHS[language])}) 20\d\d\b"


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
async def test_the_balance_reads_in_the_conversations_language(actions_database, dispatcher, language):
    texts = await rendered(ActionTellBalance(), dispatcher, verified(actions_database, "overdue", language))
    said = " ".join(texts)
    assert re.search(AMOUNT[language], said), said
    assert re.search(a_date_in(language), said), said
    assert any(word in said.lower() for word in WORDS[language]), said
    others = [other for other in AMOUNT if other != language]
    assert not any(re.search(AMOUNT[other], said) for other in others if other != "nl" or language != "fr")


async def test_a_dutch_balance_is_dutch(actions_database, dispatcher):
    first, *bills = await rendered(ActionTellBalance(), dispatcher, verified(actions_database, "overdue", "nl"))
    assert re.fullmatch(rf"In totaal moet u nog {AMOUNT['nl']} betalen\.", first)
    assert bills and all(re.fullmatch(rf"Factuur INV-\d{{4}}-\d+: {AMOUNT['nl']}, te betalen tegen {a_date_in('nl')}\.", bill)
                         for bill in bills), bills


async def test_a_french_balance_is_french(actions_database, dispatcher):
    first, *bills = await rendered(ActionTellBalance(), dispatcher, verified(actions_database, "overdue", "fr"))
    assert re.fullmatch(rf"Au total, il vous reste {AMOUNT['fr']} à payer\.", first)
    assert bills and all(re.fullmatch(rf"Facture INV-\d{{4}}-\d+ : {AMOUNT['fr']}, à payer pour le {a_date_in('fr')}\.", bill)
                         for bill in bills), bills


@pytest.mark.parametrize("language, intro, month", [("nl", "Dit zijn uw laatste facturen:", "nl"),
                                                    ("fr", "Voici vos dernières factures :", "fr")])
async def test_the_bill_list_names_months_in_the_language(actions_database, dispatcher, language, intro, month):
    texts = await rendered(ActionListInvoices(), dispatcher, verified(actions_database, "overdue", language))
    assert texts[0] == intro
    period = rf"\((?:{'|'.join(MONTHS[month])}) 20\d\d\)"
    assert all(re.search(period, line) for line in texts[1:]), texts


@pytest.mark.parametrize("language, plan, part", [
    ("nl", r"Dit is het plan voor {amount}:", r"Deel \d: {amount} op {day}"),
    ("fr", r"Voici le plan pour {amount} :", r"Partie \d : {amount} le {day}"),
])
async def test_the_plan_schedule_in_dutch_and_french(fresh_actions_database, dispatcher, language, plan, part):
    start = TODAY + timedelta(days=5)
    tracker = verified(fresh_actions_database, "overdue", language, plan_months="3", plan_start=start.isoformat())
    heading, *parts, question = await rendered(ActionAskPlanConfirmed(), dispatcher, tracker)
    assert re.fullmatch(plan.format(amount=AMOUNT[language]), heading), heading
    assert len(parts) == 3
    assert all(re.fullmatch(part.format(amount=AMOUNT[language], day=a_date_in(language)), line) for line in parts), parts
    assert question == {"nl": "Zal ik dit zo instellen?", "fr": "Je le mets en place ?"}[language]
    buttons = NLG.generate_from_slots("utter_ask_plan_confirmed", tracker.slots, "rest")["buttons"]
    assert [button["payload"] for button in buttons] == ["/affirm", "/deny"]
    assert buttons[0]["title"] == {"nl": "Ja, stel het in", "fr": "Oui, mettez-le en place"}[language]


@pytest.mark.parametrize("language", ["nl", "fr"])
async def test_a_bill_explanation_writes_numbers_as_the_language_does(actions_database, dispatcher, language):
    texts = await rendered(ActionExplainBill(), dispatcher, verified(actions_database, "usage_up", language))
    said = " ".join(texts)
    assert re.search(AMOUNT[language], said), said
    assert not re.search(r"\d\.\d\d\b", said), said  # no English decimal point in prices or usage
    assert {"nl": "Uw laatste factuur", "fr": "Votre dernière facture"}[language] in said


@pytest.mark.parametrize("language, charge", [("nl", "Vervanging van de meter"), ("fr", "Remplacement du compteur")])
async def test_a_one_off_charge_is_named_in_the_language(actions_database, dispatcher, language, charge):
    said = " ".join(await rendered(ActionExplainBill(), dispatcher, verified(actions_database, "one_off", language)))
    assert charge in said and "Meter replacement" not in said, said


@pytest.mark.parametrize("language, hours", [
    ("nl", "maandag tot vrijdag van 8:00 tot 18:00"),
    ("fr", "du lundi au vendredi de 8:00 à 18:00"),
])
async def test_callback_hours_are_said_in_the_language(actions_database, dispatcher, monkeypatch, language, hours):
    monkeypatch.setenv("SETTLE_OFFICE_HOURS", "Mon-Fri 08:00-18:00")
    tracker = make_tracker(slots={"language": language}, text="saturday 3am")
    ValidateCallbackForm().validate_callback_time("saturday 3am", dispatcher, tracker, DOMAIN)
    [message] = dispatcher.messages
    text = NLG.generate_from_slots(message["response"], tracker.slots, "rest", office_hours=message["office_hours"])["text"]
    assert hours in text
