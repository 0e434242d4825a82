"""The designers' conversation review on small hand-built conversations with known answers: messages kept
without personal data, the list's filters and pages, marks, the NLU export, and the understanding figures.

The conversations are noted through the same service the action after every message calls, at moments in
November 2026 (Brussels is UTC+1 then)."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select, text

from settle import schema
from settle.clock import FixedClock
from settle.config import Settings
from settle.db import engine_for, session_factory
from settle.errors import MarkProblem, MessageNotFound
from settle.handoff import services as handoff
from settle.identity.privacy import mask_personal_data
from settle.insights import review
from settle.insights import services as insights
from settle.insights.export import rows
from settle.insights.figures import Average, Counted, IntentCertainty, Share
from settle.insights.messages import Understood
from settle.models import Agent, ConversationMessage, Customer, EscalationReason
from settle.tooling import cli
from settle.tooling.seed import DEMO_DESIGNER_EMAIL, seed
from settle.unit_of_work import UnitOfWork
from tests.conftest import BACKENDS, NOW, TODAY, postgres_url, seeded_sqlite

PG_SCHEMA = "review_unit"
NAMES = review.DomainNames(("pay_bill", "check_balance", "request_instalment_plan", "out_of_scope", "inform"),
                           ("amount", "date", "customer_number", "months"))


def utc(day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=timezone.utc)


def uow_on(url: str, moment: datetime = NOW) -> UnitOfWork:
    return UnitOfWork(replace(Settings.from_environment(), database_url=url), FixedClock(moment))


def say(url: str, conversation_id: str, moment: datetime, text: str, intent: str | None, confidence: float | None,
        **more) -> None:
    insights.note_message(uow_on(url, moment), conversation_id, Understood(text, intent, confidence, **more))


@pytest.fixture(scope="module", params=BACKENDS)
def url(request, tmp_path_factory) -> str:
    """A seeded database of this module's own, on each backend (a schema of its own on PostgreSQL), without the
    demo history: the tests list exactly the conversations they note."""
    if request.param == "sqlite":
        yield seeded_sqlite(tmp_path_factory.mktemp("review") / "settle.db", customers=8, history=False)
        return
    base_url = postgres_url()
    url = f"{base_url}{'&' if '?' in base_url else '?'}options=-csearch_path%3D{PG_SCHEMA}"
    with engine_for(base_url).begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {PG_SCHEMA}"))
    schema.upgrade(url)
    with session_factory(url).begin() as session:
        seed(session, TODAY, 8, history=False)
    yield url
    engine_for(url).dispose()
    with engine_for(base_url).begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))


@pytest.fixture(scope="module")
def emma(url) -> int:
    with session_factory(url)() as session:
        return session.execute(select(Customer.id).where(Customer.customer_number == "50000017")).scalar_one()


def designer_in(url: str) -> int:
    """The demo designer's id in that database."""
    with session_factory(url)() as session:
        return session.execute(select(Agent.id).where(Agent.email == DEMO_DESIGNER_EMAIL)).scalar_one()


@pytest.fixture(scope="module")
def designer(url) -> int:
    return designer_in(url)


@pytest.fixture(scope="module")
def conversations(url, emma) -> str:
    """Four conversations:
    - "emma" (3 to 9 November, English): a question, a secret answer, a misread message; verified as Emma.
    - "noor" (5 November, Dutch): low confidence, handed to a person.
    - "fallback" (12 November, French): one message that fell back.
    - "late" (20 November, English): understood well.
    """
    hello = "hi, my number is 5000 0017"
    say(url, "emma", utc(3), hello, "inform", 0.91, entities=(entity_in(hello, "5000 0017", "customer_number", "50000017"),),
        language="en")
    say(url, "emma", utc(3, 9, 1), "14/02/1985", "inform", 0.88, answered_secret=True, language="en",
        actions_before=("verify_customer_form", "utter_ask_postcode"))
    spread = "Emma here, can I spread the 240 euros over 3 months"
    say(url, "emma", utc(3, 9, 2), spread, "pay_bill", 0.42,
        entities=(entity_in(spread, "240 euros", "amount", "240"), entity_in(spread, "3 months", "months", 3)),
        language="en", actions_before=("action_verify", "utter_verified"), customer_id=emma)
    say(url, "noor", utc(5), "ik wil in 9000 Gent mijn rekening betalen", "pay_bill", 0.31, language="nl")
    handoff.hand_over(uow_on(url, utc(5, 9, 5)), EscalationReason.ASKED, "noor", None, [], [])
    say(url, "fallback", utc(12), "quel temps fait-il", "nlu_fallback", 0.3, language="fr")
    say(url, "late", utc(20), "how much do I owe", "check_balance", 0.97, language="en")
    return url


def entity_in(text: str, words: str, entity: str, value) -> dict:
    """An entity as NLU gives it: read from `words` of the text, with its value."""
    start = text.index(words)
    return {"entity": entity, "value": value, "start": start, "end": start + len(words)}


def kept(url: str, conversation_id: str) -> list[ConversationMessage]:
    with session_factory(url)() as session:
        return session.execute(
            select(ConversationMessage).where(ConversationMessage.conversation_id == conversation_id)
            .order_by(ConversationMessage.position)
        ).scalars().all()


# -- Masking --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("typed, masked", [
    ("my number is 50000017 and my postcode 1000", "my number is <customer_number> and my postcode <postcode>"),
    ("5000 0017", "<customer_number>"),
    ("born 14/02/1985", "born <date_of_birth>"),
    ("je suis né le 3 mars 1979", "je suis né le <date_of_birth>"),
    ("can I pay 1000 euros on 20/12/2026", "can I pay 1000 euros on 20/12/2026"),
    ("the bill of december 2025", "the bill of december 2025"),
    ("ik woon in 9000 Gent", "ik woon in <postcode> Gent"),
    ("my name is Emma Peeters", "my name is <name>"),
    ("Mijn naam is Jan de Smet", "Mijn naam is <name>"),
    ("I am unhappy with this", "I am unhappy with this"),
    ("mail me at emma.p@example.org or call 0470 12 34 56", "mail me at <email> or call <phone>"),
    ("+32 470 12 34 56", "<phone>"),
    ("card 4111 1111 1111 1111 please", "card <card_number> please"),
    ("I typed [card number removed]", "I typed <card_number>"),
])
def test_personal_data_is_replaced_by_placeholders(typed, masked):
    assert mask_personal_data(typed, 2026) == masked


def test_the_verified_customers_names_are_masked_wherever_they_stand():
    assert mask_personal_data("PEETERS speaking, emma here", 2026, ("Emma", "Peeters")) == "<name> speaking, <name> here"


# -- Recording ------------------------------------------------------------------------------------------


def test_each_message_is_kept_masked_with_what_nlu_read_and_the_bots_actions(conversations):
    first, secret, third = kept(conversations, "emma")
    assert (first.position, first.text, first.intent, first.confidence, first.language) == (
        1, "hi, my number is <customer_number>", "inform", 0.91, "en")
    assert first.entities == [{"entity": "customer_number", "value": "<customer_number>"}]
    assert first.actions == ["verify_customer_form", "utter_ask_postcode"]
    assert (secret.text, secret.entities, secret.actions) == ("<verification_answer>", [], ["action_verify", "utter_verified"])
    assert third.text == "<name> here, can I spread the 240 euros over 3 months"
    assert third.entities == [{"entity": "amount", "value": "240 euros"}, {"entity": "months", "value": "3 months"}]
    assert third.actions is None  # known once the customer writes again


def test_nothing_personal_is_kept_anywhere(conversations):
    with session_factory(conversations)() as session:
        everything = repr([(m.text, m.entities) for m in session.execute(select(ConversationMessage)).scalars()])
    for personal in ("50000017", "5000 0017", "1985", "Emma", "9000"):
        assert personal not in everything


# -- The list ---------------------------------------------------------------------------------------------


def listed(url: str, **chosen) -> list[str]:
    found, _ = insights.review_list(uow_on(url), review.ReviewFilter(**chosen))
    return [row.conversation_id for row in found.rows]


@pytest.mark.parametrize("chosen, expected", [
    ({}, ["late", "fallback", "noor", "emma"]),
    ({"fell_back": True}, ["fallback"]),
    ({"low_confidence": True}, ["fallback", "noor", "emma"]),
    ({"escalated": True}, ["noor"]),
    ({"language": "nl"}, ["noor"]),
    ({"intent": "pay_bill"}, ["noor", "emma"]),
    ({"start": date(2026, 11, 5), "end": date(2026, 11, 12)}, ["fallback", "noor"]),
    ({"fell_back": True, "language": "en"}, []),
])
def test_the_list_filters(conversations, chosen, expected):
    assert listed(conversations, **chosen) == expected


def test_a_row_sums_up_its_conversation(conversations):
    found, languages = insights.review_list(uow_on(conversations), review.ReviewFilter(escalated=True))
    (row,) = found.rows
    assert (row.messages, row.fell_back, row.lowest_confidence, row.languages, row.escalated) == (1, 0, 0.31, "nl", True)
    assert languages == ("en", "fr", "nl")


def test_the_list_comes_a_page_at_a_time(conversations, monkeypatch):
    monkeypatch.setattr(review, "PAGE_SIZE", 3)
    found, _ = insights.review_list(uow_on(conversations), review.ReviewFilter(page=2))
    assert ([row.conversation_id for row in found.rows], found.total, found.page, found.pages) == (["emma"], 4, 2, 2)
    beyond, _ = insights.review_list(uow_on(conversations), review.ReviewFilter(page=9))
    assert beyond.page == 2


# -- Marks -------------------------------------------------------------------------------------------------


def message_id(url: str, conversation_id: str, position: int) -> int:
    return next(m.id for m in kept(url, conversation_id) if m.position == position)


@pytest.mark.parametrize("intent, example, problem", [
    ("", "", "Choose the right intent"),
    ("EXTERNAL_reminder", "", "Choose one of the domain's intents, not 'EXTERNAL_reminder'"),
    ("request_instalment_plan", "<name> here, can I pay the 240 euros over 3 months", "Mark entities in the message's own words"),
    ("request_instalment_plan", "<name> here, can I spread the [240 euros](money) over 3 months", "Unknown entity money"),
])
def test_a_mark_that_cant_be_kept_says_why_and_changes_nothing(url, conversations, designer, intent, example, problem):
    with pytest.raises(MarkProblem, match=problem):
        insights.mark_message(uow_on(url), message_id(url, "emma", 3), designer, intent, example, NAMES)
    assert insights.review_transcript(uow_on(url), "emma").messages[2].mark is None


def test_an_answer_to_a_secret_question_cant_be_marked(url, conversations, designer):
    with pytest.raises(MarkProblem, match="verification question"):
        insights.mark_message(uow_on(url), message_id(url, "emma", 2), designer, "inform", "", NAMES)


def test_an_unknown_message_is_not_found(url, conversations, designer):
    with pytest.raises(MessageNotFound):
        insights.mark_message(uow_on(url), 999_999, designer, "inform", "", NAMES)
    with pytest.raises(MessageNotFound):
        insights.review_transcript(uow_on(url), "no-such-chat")


def test_the_designers_exports_hold_the_marks_without_personal_data(tmp_path):
    url = seeded_sqlite(tmp_path / "settle.db", customers=3)
    designer = designer_in(url)
    with session_factory(url)() as session:
        emma = session.execute(select(Customer.id).where(Customer.customer_number == "50000017")).scalar_one()
    say(url, "a", utc(3), "Emma here, can I spread the 240 euros over 3 months", "pay_bill", 0.42, language="en", customer_id=emma)
    say(url, "a", utc(3, 9, 1), "what's the weather", "check_balance", 0.35, language="en")
    say(url, "b", utc(4), "kan ik betalen in 4 maanden, klantnummer 50000017", "pay_bill", 0.4, language="nl")
    say(url, "b", utc(4, 9, 1), "I want to pay", "inform", 0.4, language="nl")
    marks = [
        (message_id(url, "a", 1), "request_instalment_plan", "<name> here, can I spread the [240 euros](amount) over [3 months](months)"),
        (message_id(url, "a", 2), "out_of_scope", ""),
        (message_id(url, "b", 1), "request_instalment_plan", "kan ik betalen in [4 maanden](months), klantnummer [<customer_number>](customer_number)"),
        (message_id(url, "b", 2), "pay_bill", ""),  # already in the training data
    ]
    for message, intent, example in marks:
        insights.mark_message(uow_on(url), message, designer, intent, example, NAMES)
    insights.mark_message(uow_on(url), message_id(url, "a", 2), designer, "out_of_scope", "what's the weather", NAMES)  # again: replaces
    shown = [message.mark for message in insights.review_transcript(uow_on(url), "a").messages]
    with session_factory(url)() as session:
        name = session.get(Agent, designer).name
    assert [(mark.intent, mark.example, mark.by) for mark in shown if mark] == [
        ("request_instalment_plan", marks[0][2], name), ("out_of_scope", "what's the weather", name)]

    nlu = tmp_path / "nlu"
    nlu.mkdir()
    (nlu / "payments.yml").write_text('version: "3.1"\nnlu:\n- intent: pay_bill\n  examples: |\n    - i want to  PAY\n')
    (nlu / "reviewed.yml").write_text('version: "3.1"\nnlu:\n- intent: pay_bill\n  examples: |\n    - what\'s the weather\n')
    (written,) = insights.export_reviewed(uow_on(url), nlu / "reviewed.yml", per_language=False, nlu_data=nlu)
    content = (nlu / "reviewed.yml").read_text()
    assert written.examples == 3
    assert content == (
        'version: "3.1"\n\nnlu:\n'
        "- intent: out_of_scope\n  examples: |\n    - what's the weather\n"
        "- intent: request_instalment_plan\n  examples: |\n"
        "    - Alex here, can I spread the [240 euros](amount) over [3 months](months)\n"
        "    - kan ik betalen in [4 maanden](months), klantnummer [50001234](customer_number)\n"
    )
    assert yaml.safe_load(content)["nlu"][1]["intent"] == "request_instalment_plan"
    for personal in ("Emma", "50000017", "<"):
        assert personal not in content

    written_per_language = insights.export_reviewed(uow_on(url), nlu / "reviewed.yml", per_language=True, nlu_data=nlu)
    assert [(w.path.relative_to(nlu), w.examples) for w in written_per_language] == [
        (Path("en/reviewed.yml"), 2), (Path("nl/reviewed.yml"), 1)]
    assert "4 maanden" in (nlu / "nl" / "reviewed.yml").read_text()


def test_the_suggested_example_marks_the_entities_nlu_read(conversations):
    third = insights.review_transcript(uow_on(conversations), "emma").messages[2]
    assert third.suggested_example == "<name> here, can I spread the [240 euros](amount) over [3 months](months)"
    assert review.plain(third.suggested_example) == third.text


def test_the_domain_offers_its_intents_and_entities_but_not_settles_own_events():
    names = review.domain_names()
    assert {"out_of_scope", "pay_bill", "request_instalment_plan"} <= set(names.intents)
    assert not [intent for intent in names.intents if intent.startswith("EXTERNAL_")]
    assert {"amount", "customer_number", "date"} <= set(names.entities)


# -- The understanding figures ------------------------------------------------------------------------------


def test_understanding_figures_of_the_first_half_of_november(conversations):
    """Messages from 1 to 15 November: emma's 3, noor's 1, fallback's 1 (late's is after). One fell back (of 5:
    20.0 %); pay_bill twice; the least certain is nlu_fallback's, left out, then noor's pay_bill and emma's
    (0.31 and 0.42: 0.365, rounded half up 0.37). Conversations begun: emma (3 messages), noor and fallback (1)."""
    figures = insights.figures_for(uow_on(conversations), date(2026, 11, 1), date(2026, 11, 15))
    understanding = figures.understanding
    assert understanding.messages == 5
    assert understanding.fell_back == Share(1, 5) and understanding.fell_back.percent == Decimal("20.0")
    assert understanding.top_intents == (Counted("inform", 2), Counted("pay_bill", 2), Counted("nlu_fallback", 1))
    assert understanding.least_certain_intents == (
        IntentCertainty("pay_bill", Average(Decimal("0.37"), 2)), IntentCertainty("inform", Average(Decimal("0.90"), 2)))
    assert understanding.messages_per_conversation == Average(Decimal("1.67"), 3)
    exported = {(row.figure, row.breakdown): (row.value, row.unit, row.note) for row in rows(figures) if row.section == "understanding"}
    assert exported[("fell_back", "")] == ("20.0", "%", "1 of 5")
    assert exported[("least_certain_intents", "pay_bill")] == ("0.37", "mean", "mean of 2")
    assert exported[("messages_per_conversation", "")] == ("1.67", "mean", "mean of 3")


def test_understanding_of_a_period_without_messages_has_nothing_to_divide(conversations):
    understanding = insights.figures_for(uow_on(conversations), date(2026, 10, 1), date(2026, 10, 2)).understanding
    assert (understanding.messages, understanding.fell_back.percent, understanding.top_intents) == (0, None, ())
    assert understanding.messages_per_conversation == Average(None, 0)


def test_a_day_ends_at_midnight_in_brussels(tmp_path):
    """A message at 22:59 UTC on 15 November is still the 15th in Brussels; one at 23:00 UTC is the 16th."""
    url = seeded_sqlite(tmp_path / "settle.db", customers=1)
    say(url, "edge", utc(15, 22, 59), "pay", "pay_bill", 0.99, language="en")
    say(url, "after-edge", utc(15, 23, 0), "pay", "pay_bill", 0.99, language="en")
    assert insights.figures_for(uow_on(url), date(2026, 11, 1), date(2026, 11, 15)).understanding.messages == 1


def test_the_command_writes_the_export_and_says_how_many(tmp_path, monkeypatch, capsys):
    url = seeded_sqlite(tmp_path / "settle.db", customers=1)
    designer = designer_in(url)
    say(url, "cli", utc(3), "can I get a copy of my contract", "request_invoice_copy", 0.45, language="fr")
    insights.mark_message(uow_on(url), message_id(url, "cli", 1), designer, "out_of_scope", "", NAMES)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("SETTLE_NOW", NOW.isoformat())
    out = tmp_path / "nlu" / "reviewed.yml"
    assert cli.main(["review", "export", "--out", str(out), "--per-language"]) == 0
    assert f"1 marked message in {tmp_path / 'nlu' / 'fr' / 'reviewed.yml'}" in capsys.readouterr().out
    assert "- can I get a copy of my contract" in (tmp_path / "nlu" / "fr" / "reviewed.yml").read_text()
