"""Every journey in Dutch and in French over REST, against the running servers and the trained model: understood,
answered in the customer's language, amounts and dates written the Belgian way.

The customers are demo customers who prefer Dutch (Flanders) or French (Wallonia). What Settle did is read from
the tracker (the response each reply came from), what it said from the replies: the whole turn must read as the
customer's language to the language detector Settle itself uses.
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import pytest
import requests
from playwright.sync_api import expect
from sqlalchemy import func, select

from settle.arrangements.plans import plan_offer
from settle.db import session_factory
from settle.errors import NotEligibleForPlan
from settle.identity.language import detected_language
from settle.models import UNPAID_STATUSES, Customer, InstalmentPlan, Invoice, InvoiceStatus, Payment
from settle.money import euros, format_euros
from settle.policy import load_policy
from tests.conftest import TODAY
from tests.e2e.conftest import RASA_API_TOKEN, ROOT, signed

ARRANGEMENTS = load_policy(ROOT / "policy" / "arrangements.yml")


@dataclass(frozen=True)
class Demo:
    customer_number: str
    postcode: str
    born: str
    owes: str


def customer_speaking(database_url: str, language: str, plan_possible_other_than: str = "") -> Demo:
    """The first demo customer who prefers `language` and has two unpaid bills (one overdue: a plan is possible);
    `plan_possible_other_than`: the first who could set up a plan today, other than that customer number (whom
    another test gives a plan)."""
    with session_factory(database_url).begin() as session:
        unpaid = (select(Invoice.customer_id).where(Invoice.status.in_(UNPAID_STATUSES))
                  .group_by(Invoice.customer_id).having(func.count() >= (1 if plan_possible_other_than else 2)))
        chosen = session.execute(select(Customer).where(Customer.language == language, Customer.id.in_(unpaid))
                                 .order_by(Customer.id)).scalars()
        if plan_possible_other_than:
            chosen = (c for c in chosen
                      if c.customer_number != plan_possible_other_than and could_set_up_a_plan(session, c.id))
        customer = next(chosen)
        open_invoices = (Invoice.customer_id == customer.id, Invoice.status.in_(UNPAID_STATUSES))
        billed = session.execute(select(func.sum(Invoice.total_cents)).where(*open_invoices)).scalar_one()
        paid = session.execute(select(func.coalesce(func.sum(Payment.amount_cents), 0)).join(Invoice)
                               .where(*open_invoices)).scalar_one()
        return Demo(customer.customer_number, customer.postcode, customer.date_of_birth.strftime("%d/%m/%Y"),
                    format_euros(euros(billed - paid), language))


def could_set_up_a_plan(session, customer_id: int) -> bool:
    try:
        plan_offer(session, customer_id, ARRANGEMENTS, TODAY)
    except NotEligibleForPlan:
        return False
    return True


class Chat:
    """One conversation over REST that remembers which responses Settle used in each turn."""

    def __init__(self, stack):
        self.stack, self.me = stack, f"e2e-{uuid.uuid4()}"
        self.seen_events = 0

    def say(self, text: str) -> tuple[list[str], list[str]]:
        """Settle's replies to `text` and the names of the responses they came from."""
        replies = self.stack.say(self.me, text)
        tracker = requests.get(f"{self.stack.rasa_url}/conversations/{signed(self.me)}/tracker",
                               params={"token": RASA_API_TOKEN}, timeout=30).json()
        events = tracker["events"][self.seen_events:]
        self.seen_events = len(tracker["events"])
        responses = [(event.get("metadata") or {}).get("utter_action", "") for event in events if event["event"] == "bot"]
        return replies, responses

    def verify(self, customer: Demo) -> tuple[list[str], list[str]]:
        self.say(customer.customer_number)
        self.say(customer.postcode)
        return self.say(customer.born)


def reads_as(language: str, replies: list[str]) -> bool:
    """Whether the turn's replies, links and numbers aside, read as `language`."""
    text = " ".join(re.sub(r"https?://\S+", " ", reply) for reply in replies)
    return detected_language(text) == language


FIRST_CONTACT = {
    "nl": ("hoeveel moet ik nog betalen?", "ik wil nu betalen", "kan ik dat in schijven afbetalen?", "3",
           "volgende vrijdag", "ja"),
    "fr": ("combien je dois encore payer ?", "je veux payer maintenant", "est-ce que je peux payer en plusieurs fois ?",
           "3", "vendredi prochain", "oui"),
}


@pytest.mark.parametrize("language", ["nl", "fr"])
def test_verify_balance_pay_link_and_plan(stack, language):
    customer = customer_speaking(stack.database_url, language)
    question, pay, plan, months, start, yes = FIRST_CONTACT[language]
    chat = Chat(stack)

    replies, responses = chat.say(question)
    assert "utter_ask_customer_number" in responses and reads_as(language, replies), replies
    replies, responses = chat.verify(customer)
    assert "utter_balance_total" in responses, (responses, replies)
    assert any(customer.owes in reply for reply in replies), (customer.owes, replies)
    assert reads_as(language, replies), replies

    replies, responses = chat.say(pay)
    assert any(r.startswith("utter_payment_link") for r in responses), (responses, replies)
    assert any("/pay/" in reply for reply in replies) and reads_as(language, replies), replies

    replies, responses = chat.say(plan)
    assert "utter_ask_plan_months" in responses and reads_as(language, replies), (responses, replies)
    replies, responses = chat.say(months)
    assert "utter_ask_plan_start" in responses, (responses, replies)
    replies, responses = chat.say(start)
    assert responses.count("utter_plan_instalment") == 3 and "utter_ask_plan_confirmed" in responses, (responses, replies)
    assert reads_as(language, replies), replies
    replies, responses = chat.say(yes)
    assert "utter_plan_created" in responses and reads_as(language, replies), (responses, replies)
    reference = re.search(r"PLAN-\w+", " ".join(replies)).group()
    with session_factory(stack.database_url).begin() as session:
        created = session.execute(select(InstalmentPlan).where(InstalmentPlan.reference == reference)).scalar_one()
        assert len(created.instalments) == 3 and {i.status for i in created.invoices} == {InvoiceStatus.IN_PLAN}


#: What a customer asks, and the start of the name of the responses that answer it.
JOURNEYS = {
    "nl": [
        ("balance", "hoeveel staat er nog open op mijn rekening?", "utter_balance_"),
        ("due date", "tegen wanneer moet mijn factuur betaald zijn?", "utter_due_date_"),
        ("explain", "waarom is mijn laatste factuur zo hoog?", "utter_explain_bill_"),
        ("copy", "kan ik een kopie van mijn factuur krijgen?", "utter_invoice_copy"),
        ("pay", "ik wil mijn rekening betalen", "utter_payment_link"),
        ("status", "is mijn betaling al bij jullie aangekomen?", "utter_"),
        ("plan", "kan ik een afbetalingsplan krijgen?", "utter_plan_"),
        ("extension", "mag ik wat later betalen?", "utter_extension_"),
        ("hardship", "ik heb het financieel moeilijk en kan niet betalen", "utter_hardship"),
        ("dispute", "ik ben het niet eens met mijn factuur, het bedrag klopt niet", "utter_ask_dispute_"),
        ("person", "ik wil met iemand praten", "utter_agent_will_join"),
        ("out of scope", "wat voor weer wordt het morgen?", "utter_out_of_scope"),
    ],
    "fr": [
        ("balance", "combien reste-t-il à payer sur mon compte ?", "utter_balance_"),
        ("due date", "pour quand dois-je payer ma facture ?", "utter_due_date_"),
        ("explain", "pourquoi ma dernière facture est si élevée ?", "utter_explain_bill_"),
        ("copy", "pouvez-vous m'envoyer une copie de ma facture ?", "utter_invoice_copy"),
        ("pay", "je voudrais régler ma facture", "utter_payment_link"),
        ("status", "avez-vous bien reçu mon paiement ?", "utter_"),
        ("plan", "je voudrais un plan de paiement", "utter_plan_"),
        ("extension", "est-ce que je peux payer un peu plus tard ?", "utter_extension_"),
        ("hardship", "j'ai des difficultés financières, je ne peux pas payer", "utter_hardship"),
        ("dispute", "je conteste ma facture, le montant est faux", "utter_ask_dispute_"),
        ("person", "je veux parler à quelqu'un", "utter_agent_will_join"),
        ("out of scope", "quel temps fera-t-il demain ?", "utter_out_of_scope"),
    ],
}
STATUS_RESPONSES = ("utter_payment_", "utter_no_payment_found", "utter_still_open", "utter_nothing_left_to_pay")


@pytest.mark.parametrize(("language", "journey", "question", "answered_by"),
                         [(language, *journey) for language, journeys in JOURNEYS.items() for journey in journeys],
                         ids=lambda value: value if isinstance(value, str) and len(value) < 14 else None)
def test_each_journey_is_understood_and_answered_in_the_customers_language(stack, language, journey, question, answered_by):
    customer = customer_speaking(stack.database_url, language)
    chat = Chat(stack)
    replies, responses = chat.say(question)
    if "utter_ask_customer_number" in responses:
        assert reads_as(language, replies), replies
        replies, responses = chat.verify(customer)
    # The first test sets up a plan for the same customers: asked again, Settle shows the plan they have.
    expected = {"status": STATUS_RESPONSES, "plan": ("utter_plan_", "utter_active_plan")}.get(journey, (answered_by,))
    assert any(response.startswith(expected) for response in responses), (journey, responses, replies)
    assert reads_as(language, replies), replies


WIDGET = {
    "nl": ("Chat met ons", "Uw bericht", "hoeveel moet ik betalen?", "klantnummer", "ik wil nu betalen"),
    "fr": ("Discutez avec nous", "Votre message", "combien je dois payer ?", "numéro de client", "je veux payer maintenant"),
}


@pytest.mark.parametrize("language", ["nl", "fr"])
def test_the_widget_on_a_page_in_dutch_or_french_verifies_and_answers_in_it(stack, page, new_page, language):
    """In Chromium: the help page in the customer's language, the widget's own words and Settle's answers in it,
    through verification to the balance, a payment link that opens the payment page in that language, and a
    payment plan set up in the widget."""
    launcher_name, box_label, question, asks_number, pay = WIDGET[language]
    first = customer_speaking(stack.database_url, language).customer_number  # the REST test's
    customer = customer_speaking(stack.database_url, language, plan_possible_other_than=first)
    page.goto(f"{stack.web_url}/chat?language={language}")
    expect(page.locator("html")).to_have_attribute("lang", language)
    page.get_by_role("button", name=launcher_name).click()
    box = page.get_by_label(box_label)
    bot = page.get_by_role("log").locator(".settle-chat-bot")
    for text, then_bot_says in [(question, asks_number), (customer.customer_number, None),
                                (customer.postcode, None), (customer.born, customer.owes)]:
        expect(box).to_be_enabled()
        said = bot.count()
        box.fill(text)
        box.press("Enter")
        expect(bot).not_to_have_count(said)
        if then_bot_says:
            expect(bot.filter(has_text=then_bot_says).last).to_be_visible()
    texts = bot.all_inner_texts()
    assert reads_as(language, texts[-2:]), texts

    box.fill(pay)
    box.press("Enter")
    link = page.get_by_role("log").locator("a[href*='/pay/']").last
    expect(link).to_be_visible()
    payment_page = new_page()
    payment_page.goto(link.get_attribute("href"))
    expect(payment_page.locator("html")).to_have_attribute("lang", language)
    expect(payment_page.locator("#amount-to-pay")).to_contain_text(customer.owes)

    for text in FIRST_CONTACT[language][2:]:  # a plan: in instalments, 3 months, next Friday, yes
        expect(box).to_be_enabled()
        said = bot.count()
        box.fill(text)
        box.press("Enter")
        expect(bot).not_to_have_count(said)
    confirmation = bot.filter(has_text=re.compile(r"PLAN-\w+")).last
    expect(confirmation).to_be_visible()
    assert reads_as(language, [confirmation.inner_text()]), confirmation.inner_text()
    reference = re.search(r"PLAN-\w+", confirmation.inner_text()).group()
    with session_factory(stack.database_url).begin() as session:
        created = session.execute(select(InstalmentPlan).where(InstalmentPlan.reference == reference)).scalar_one()
        owner = session.get(Customer, created.customer_id)
        assert len(created.instalments) == 3 and owner.customer_number == customer.customer_number
