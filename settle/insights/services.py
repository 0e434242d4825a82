"""The figures of a period, and the one event they need from every chat; callers render or export them."""
from __future__ import annotations

from datetime import date
from pathlib import Path

from settle.errors import BadPeriod, UnknownLanguage
from settle.identity.language import SUPPORTED
from settle.insights import conversations, figures, messages, reminders, review
from settle.insights.figures import Figures, Period
from settle.insights.messages import Understood
from settle.unit_of_work import UnitOfWork


def note_turn_end(uow: UnitOfWork, conversation_id: str, waiting_for: str | None) -> None:
    """The bot's turn after a customer message ended, waiting for an answer (a form's question, "rephrase") or
    for nothing (None): the abandoned conversations are those left while it waited."""
    with uow:
        conversations.note_turn_end(uow.session, conversation_id, uow.clock.now(), waiting_for)
        uow.commit()


def note_message(uow: UnitOfWork, conversation_id: str, understood: Understood | None = None) -> None:
    """A customer wrote in this chat (the containment figures count chats from these); with what NLU made of
    it, the message is kept, masked, for the conversation review and the understanding figures."""
    with uow:
        now = uow.clock.now()
        conversations.note_message(uow.session, conversation_id, now)
        if understood is not None:
            messages.note_understood(uow.session, conversation_id, now, understood, uow.clock.today().year)
        uow.commit()


def figures_for(uow: UnitOfWork, start: date, end: date, language: str | None = None) -> Figures:
    """Every figure from the first day to the last (both included, in the company's timezone), as of now; in
    one language (docs/kpis.md says whose language each figure follows), or all when `language` is None.

    Raises:
        BadPeriod: `end` is before `start`.
        UnknownLanguage: `language` is not one Settle speaks.
    """
    if end < start:
        raise BadPeriod(f"the period ends ({end.isoformat()}) before it starts ({start.isoformat()})")
    if language is not None and language not in SUPPORTED:
        raise UnknownLanguage(f"Settle speaks {', '.join(SUPPORTED)}, not {language[:10]!r}")
    period = Period.of(start, end, uow.clock.zone)
    with uow:
        session, now, today = uow.session, uow.clock.now(), uow.clock.today()
        figures.without_jit(session)
        counted = Figures(
            period=period,
            language=language,
            containment=figures.containment(session, period, now, language),
            paying=figures.paying(session, period, language),
            reached_out_first=reminders.reached_out_first(session, period, now, uow.clock.zone, language),
            cant_pay_now=figures.cant_pay_now(session, period, today, uow.clock.zone, language),
            agents=figures.agents(session, period, language),
            understanding=figures.understanding(session, period, language),
        )
        uow.commit()  # keeps the final reminder days counted for these figures (docs/kpis.md, "Speed")
    return counted


# -- The designers' conversation review ------------------------------------------------------------------


def review_list(uow: UnitOfWork, chosen: review.ReviewFilter) -> tuple[review.ReviewList, tuple[str, ...]]:
    """One page of the conversations to review, and the languages the filter offers."""
    with uow:
        return review.conversations(uow.session, chosen, uow.clock.zone), review.languages_seen(uow.session)


def review_transcript(uow: UnitOfWork, conversation_id: str) -> review.Transcript:
    """The conversation's messages as understood, with their marks; MessageNotFound if none was recorded."""
    with uow:
        return review.transcript(uow.session, conversation_id)


def mark_message(uow: UnitOfWork, message_id: int, agent_id: int, intent: str, example: str,
                 names: review.DomainNames | None = None) -> str:
    """Keeps a designer's mark on a message; returns its conversation's id. MarkProblem says what to change."""
    with uow:
        conversation_id = review.mark(uow.session, message_id, agent_id, intent, example, uow.clock.now(),
                                      names or review.domain_names())
        uow.commit()
    return conversation_id


def export_reviewed(uow: UnitOfWork, out: Path, per_language: bool, nlu_data: Path = review.NLU_DATA) -> list[review.Written]:
    """Writes the marked messages as Rasa NLU training data, without personal data and without examples
    the training data has already."""
    with uow:
        examples = review.marked_examples(uow.session, uow.clock.today().year)
    return review.write_export(examples, out, per_language, nlu_data)
