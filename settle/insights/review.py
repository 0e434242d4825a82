"""The designers' conversation review: which conversations to read, each message as the bot understood it,
a designer's mark (the right intent, the entities), and the marked messages as Rasa NLU training data.

The messages were masked when they were kept (settle/insights/messages.py); the export masks them once more
and puts a stand-in of the same shape where a placeholder stands ("<customer_number>" becomes 50001234), so
the model learns the shape of a customer number and no person's data leaves the database.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import case, exists, func, select
from sqlalchemy.orm import Session

from settle.errors import MarkProblem, MessageNotFound
from settle.identity.language import DEFAULT_LANGUAGE
from settle.identity.privacy import PLACEHOLDERS, mask_personal_data
from settle.insights.figures import Period
from settle.models import Agent, Conversation, ConversationMessage, Escalation, MessageMark

ROOT = Path(__file__).parents[2]
DOMAIN = ROOT / "domain.yml"
NLU_DATA = ROOT / "data" / "nlu"
REVIEWED_FILE = "reviewed.yml"
#: What NLU predicts when it understood nothing (Rasa's FallbackClassifier), and what Settle does not handle.
FELL_BACK = ("nlu_fallback", "out_of_scope")
OUT_OF_SCOPE = "out_of_scope"
LOW_CONFIDENCE = 0.5
PAGE_SIZE = 25
#: What stands in the exported training data for each placeholder: the shape, nobody's data.
STAND_INS = {
    PLACEHOLDERS["card_number"]: "[card number removed]",  # what the chat's door leaves of a card number
    PLACEHOLDERS["email"]: "name@example.com",
    PLACEHOLDERS["phone"]: "0470 12 34 56",
    PLACEHOLDERS["customer_number"]: "50001234",
    PLACEHOLDERS["date_of_birth"]: "01/01/1980",
    PLACEHOLDERS["postcode"]: "1000",
    PLACEHOLDERS["name"]: "Alex",
}
#: [words](entity), as Rasa marks an entity in an example (a synonym after a colon is allowed).
_ANNOTATION = re.compile(r"\[(?P<words>[^\[\]]+)\]\((?P<entity>[^():]+)(?::[^()]+)?\)")


# -- The domain's names, read without Rasa -----------------------------------------------------------


@dataclass(frozen=True)
class DomainNames:
    #: The intents a designer can choose: the domain's, less Settle's own EXTERNAL_ events.
    intents: tuple[str, ...]
    entities: tuple[str, ...]


@lru_cache(maxsize=4)
def domain_names(path: Path = DOMAIN) -> DomainNames:
    """The intents and entities of the domain file (an intent may be written with its options, as a mapping)."""
    domain = yaml.safe_load(path.read_text(encoding="utf-8")) or {}

    def names(items: Any) -> tuple[str, ...]:
        return tuple(str(next(iter(item))) if isinstance(item, dict) else str(item) for item in items or ())

    intents = tuple(name for name in names(domain.get("intents")) if not name.startswith("EXTERNAL_"))
    return DomainNames(intents, names(domain.get("entities")))


# -- The list of conversations -------------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewFilter:
    """Which conversations to list; empty fields filter nothing."""

    fell_back: bool = False
    escalated: bool = False
    low_confidence: bool = False
    language: str = ""
    intent: str = ""
    start: date | None = None
    end: date | None = None
    page: int = 1


@dataclass(frozen=True)
class ConversationRow:
    conversation_id: str
    started_at: datetime
    messages: int
    fell_back: int
    lowest_confidence: float | None
    languages: str
    escalated: bool
    marked: int


@dataclass(frozen=True)
class ReviewList:
    rows: tuple[ConversationRow, ...]
    total: int
    page: int
    pages: int


def conversations(session: Session, chosen: ReviewFilter, zone) -> ReviewList:
    """The conversations with recorded messages that match, the latest begun first, one page of them."""
    message = ConversationMessage
    fell_back = func.coalesce(func.sum(case((message.intent.in_(FELL_BACK), 1), else_=0)), 0)
    stats = (
        select(message.conversation_id.label("conversation_id"), func.count().label("messages"),
               fell_back.label("fell_back"), func.min(message.confidence).label("lowest"),
               func.count(MessageMark.id).label("marked"))
        .outerjoin(MessageMark, MessageMark.message_id == message.id)
        .group_by(message.conversation_id)
        .subquery()
    )
    escalated = exists().where(Escalation.conversation_id == Conversation.conversation_id)
    conditions: list[Any] = []
    if chosen.fell_back:
        conditions.append(stats.c.fell_back > 0)
    if chosen.low_confidence:
        conditions.append(stats.c.lowest < LOW_CONFIDENCE)
    if chosen.escalated:
        conditions.append(escalated)
    for column, wanted in ((message.language, chosen.language), (message.intent, chosen.intent)):
        if wanted:
            conditions.append(exists().where(message.conversation_id == Conversation.conversation_id, column == wanted))
    if chosen.start or chosen.end:
        period = Period.of(chosen.start or date(1970, 1, 1), chosen.end or date(9999, 12, 30), zone)
        conditions.append(period.holds(Conversation.started_at))
    base = select(Conversation, stats).join(stats, stats.c.conversation_id == Conversation.conversation_id).where(*conditions)
    total = session.execute(select(func.count()).select_from(base.subquery())).scalar_one()
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, chosen.page), pages)
    found = session.execute(
        base.add_columns(escalated.label("escalated"))
        .order_by(Conversation.started_at.desc(), Conversation.conversation_id)
        .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)
    ).all()
    languages = _languages(session, [row.Conversation.conversation_id for row in found])
    rows = tuple(
        ConversationRow(
            conversation_id=row.Conversation.conversation_id, started_at=row.Conversation.started_at,
            messages=int(row.messages), fell_back=int(row.fell_back), lowest_confidence=row.lowest,
            languages=", ".join(languages.get(row.Conversation.conversation_id, ())), escalated=bool(row.escalated),
            marked=int(row.marked),
        )
        for row in found
    )
    return ReviewList(rows, int(total), page, pages)


def _languages(session: Session, conversation_ids: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    if not conversation_ids:
        return found
    for conversation_id, language in session.execute(
        select(ConversationMessage.conversation_id, ConversationMessage.language)
        .where(ConversationMessage.conversation_id.in_(conversation_ids), ConversationMessage.language.is_not(None))
        .distinct().order_by(ConversationMessage.conversation_id, ConversationMessage.language)
    ):
        found.setdefault(conversation_id, []).append(language)
    return found


def languages_seen(session: Session) -> tuple[str, ...]:
    """The languages of the recorded messages, for the filter."""
    return tuple(session.execute(
        select(ConversationMessage.language).where(ConversationMessage.language.is_not(None))
        .distinct().order_by(ConversationMessage.language)
    ).scalars())


# -- One conversation ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mark:
    intent: str
    example: str
    by: str
    at: datetime


@dataclass(frozen=True)
class ShownMessage:
    id: int
    position: int
    received_at: datetime
    text: str
    language: str | None
    intent: str | None
    confidence: float | None
    entities: tuple[dict[str, str], ...]
    #: The bot's actions in reply; None when not known yet (the conversation's last message).
    actions: tuple[str, ...] | None
    mark: Mark | None

    @property
    def fell_back(self) -> bool:
        return self.intent in FELL_BACK

    @property
    def low_confidence(self) -> bool:
        return self.confidence is not None and self.confidence < LOW_CONFIDENCE

    @property
    def markable(self) -> bool:
        """An answer to a secret verification question was not kept: there is nothing to mark."""
        return self.text != PLACEHOLDERS["verification_answer"]

    @property
    def suggested_example(self) -> str:
        """The mark's example, else the text with the entities NLU read marked (where their words are found)."""
        return self.mark.example if self.mark else annotate(self.text, self.entities)


@dataclass(frozen=True)
class Transcript:
    conversation_id: str
    started_at: datetime
    escalations: tuple[str, ...]
    messages: tuple[ShownMessage, ...]


def transcript(session: Session, conversation_id: str) -> Transcript:
    """The conversation's recorded customer messages in order, each with its mark if it has one.

    Raises:
        MessageNotFound: no recorded message has this conversation id.
    """
    conversation = session.get(Conversation, conversation_id)
    rows = session.execute(
        select(ConversationMessage, MessageMark, Agent.name)
        .outerjoin(MessageMark, MessageMark.message_id == ConversationMessage.id)
        .outerjoin(Agent, Agent.id == MessageMark.agent_id)
        .where(ConversationMessage.conversation_id == conversation_id)
        .order_by(ConversationMessage.position)
    ).all()
    if conversation is None or not rows:
        raise MessageNotFound(conversation_id)
    reasons = session.execute(
        select(Escalation.reason).where(Escalation.conversation_id == conversation_id).order_by(Escalation.created_at)
    ).scalars().all()
    return Transcript(conversation_id, conversation.started_at, tuple(str(reason) for reason in reasons), tuple(
        ShownMessage(
            id=message.id, position=message.position, received_at=message.received_at, text=message.text,
            language=message.language, intent=message.intent, confidence=message.confidence,
            entities=tuple(message.entities or ()), actions=None if message.actions is None else tuple(message.actions),
            mark=Mark(mark.intent, mark.example, by or "", mark.marked_at) if mark else None,
        )
        for message, mark, by in rows
    ))


def annotate(text: str, entities: Iterable[dict[str, str]]) -> str:
    """The text with each entity's words marked [words](entity), the first place they appear after the last."""
    result, position = "", 0
    for entity in entities:
        words = str(entity.get("value") or "")
        found = text.find(words, position) if words else -1
        if found < 0 or "[" in words or "]" in words:
            continue
        result += text[position:found] + f"[{words}]({entity.get('entity')})"
        position = found + len(words)
    return result + text[position:]


def plain(example: str) -> str:
    """An example without its entity marks: the words a customer typed."""
    return _ANNOTATION.sub(lambda found: found.group("words"), example)


# -- Marking -------------------------------------------------------------------------------------------


def mark(session: Session, message_id: int, agent_id: int, intent: str, example: str, now: datetime,
         names: DomainNames) -> str:
    """Keeps the designer's reading of a message (replacing an earlier one); returns its conversation's id.

    `example` is the message's text with entities marked [words](entity); empty means the text as it is.
    Out of scope takes no entities.

    Raises:
        MessageNotFound: no recorded message has this id.
        MarkProblem: with what to change; nothing changed.
    """
    message = session.get(ConversationMessage, message_id)
    if message is None:
        raise MessageNotFound(str(message_id))
    if message.text == PLACEHOLDERS["verification_answer"]:
        raise MarkProblem("This message answered a verification question; its words were not kept, so there is nothing to mark")
    intent = (intent or "").strip()
    if intent not in names.intents:
        raise MarkProblem(f"Choose one of the domain's intents, not {intent[:40]!r}" if intent else "Choose the right intent")
    example = " ".join((example or "").split()) or message.text
    if intent == OUT_OF_SCOPE:
        example = plain(example)
    if _squeezed(plain(example)) != _squeezed(message.text):
        raise MarkProblem("Mark entities in the message's own words: only add [ ] around words and (entity) after them")
    unknown = sorted({found["entity"] for found in _ANNOTATION.finditer(example)} - set(names.entities))
    if unknown:
        raise MarkProblem(f"Unknown entity {', '.join(unknown)}: the domain has {', '.join(names.entities)}")
    kept = session.execute(select(MessageMark).where(MessageMark.message_id == message_id)).scalar_one_or_none()
    if kept is None:
        kept = MessageMark(message_id=message_id)
        session.add(kept)
    kept.intent, kept.example, kept.agent_id, kept.marked_at = intent, example, agent_id, now
    session.flush()
    return message.conversation_id


def _squeezed(text: str) -> str:
    return " ".join(text.split())


# -- The export as Rasa NLU training data ----------------------------------------------------------------


@dataclass(frozen=True)
class Example:
    language: str
    intent: str
    #: With entity marks, personal data replaced by stand-ins.
    text: str


def marked_examples(session: Session, this_year: int) -> list[Example]:
    """Every marked message as a training example, masked again and with stand-ins for the placeholders."""
    rows = session.execute(
        select(MessageMark.intent, MessageMark.example, ConversationMessage.language)
        .join(ConversationMessage, ConversationMessage.id == MessageMark.message_id)
        .order_by(MessageMark.intent, MessageMark.marked_at, MessageMark.id)
    ).all()
    return [Example(language or DEFAULT_LANGUAGE, intent, with_stand_ins(example, this_year)) for intent, example, language in rows]


def with_stand_ins(example: str, this_year: int) -> str:
    """The example masked (whatever a mask missed before is caught now) and each placeholder replaced by its stand-in."""
    text = mask_personal_data(example, this_year)
    for placeholder, stand_in in STAND_INS.items():
        text = text.replace(placeholder, stand_in)
    return " ".join(text.split())


def known_examples(nlu_data: Path = NLU_DATA) -> set[str]:
    """The examples already in the training data (any file but the review's own), as compared: without
    entity marks, in lower case, spaces squeezed."""
    known: set[str] = set()
    for path in sorted(nlu_data.rglob("*.yml")):
        if path.name == REVIEWED_FILE:
            continue
        content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in content.get("nlu") or ():
            if isinstance(block, dict) and "intent" in block:
                known.update(_key(line) for line in _example_lines(block.get("examples")))
    return known


def _example_lines(examples: Any) -> list[str]:
    if not isinstance(examples, str):
        return []
    return [line.strip()[2:] for line in examples.splitlines() if line.strip().startswith("- ")]


def _key(example: str) -> str:
    return _squeezed(plain(example)).lower()


def nlu_yaml(examples: Iterable[Example], known: set[str]) -> tuple[str, int]:
    """The examples as a Rasa NLU file (intent blocks in name order), leaving out those the training data
    has already and repeats; and how many it holds."""
    by_intent: dict[str, list[str]] = {}
    seen = set(known)
    for example in examples:
        key = _key(example.text)
        if not key or key in seen:
            continue
        seen.add(key)
        by_intent.setdefault(example.intent, []).append(example.text)
    lines = ['version: "3.1"', "", "nlu:"]
    for intent in sorted(by_intent):
        lines += [f"- intent: {intent}", "  examples: |"] + [f"    - {text}" for text in by_intent[intent]]
    if not by_intent:
        lines[-1] = "nlu: []"
    return "\n".join(lines) + "\n", sum(len(texts) for texts in by_intent.values())


@dataclass(frozen=True)
class Written:
    path: Path
    examples: int


def write_export(examples: list[Example], out: Path, per_language: bool, nlu_data: Path = NLU_DATA) -> list[Written]:
    """Writes the examples to `out` or, with `per_language`, each language's beside it in a folder of the
    language's name (data/nlu/reviewed.yml: data/nlu/nl/reviewed.yml, ...), leaving out what `nlu_data` has."""
    known = known_examples(nlu_data)
    if not per_language:
        return [_write(out, examples, known)]
    languages = sorted({example.language for example in examples})
    return [_write(out.parent / language / out.name, [e for e in examples if e.language == language], known)
            for language in languages]


def _write(path: Path, examples: list[Example], known: set[str]) -> Written:
    content, count = nlu_yaml(examples, known)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8")
    return Written(path, count)

