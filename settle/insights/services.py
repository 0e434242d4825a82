"""The figures of a period, and the one event they need from every chat; callers render or export them."""
from __future__ import annotations

from datetime import date

from settle.errors import BadPeriod
from settle.insights import conversations, figures
from settle.insights.figures import Figures, Period
from settle.unit_of_work import UnitOfWork


def note_message(uow: UnitOfWork, conversation_id: str) -> None:
    """A customer wrote in this chat (the containment figures count chats from these)."""
    with uow:
        conversations.note_message(uow.session, conversation_id, uow.clock.now())
        uow.commit()


def figures_for(uow: UnitOfWork, start: date, end: date) -> Figures:
    """Every figure from the first day to the last (both included, in the company's timezone), as of now.

    Raises:
        BadPeriod: `end` is before `start`.
    """
    if end < start:
        raise BadPeriod(f"the period ends ({end.isoformat()}) before it starts ({start.isoformat()})")
    period = Period.of(start, end, uow.clock.zone)
    with uow:
        session, now, today = uow.session, uow.clock.now(), uow.clock.today()
        return Figures(
            period=period,
            containment=figures.containment(session, period),
            paying=figures.paying(session, period),
            reached_out_first=figures.reached_out_first(session, period, now),
            cant_pay_now=figures.cant_pay_now(session, period, today, uow.clock.zone),
            agents=figures.agents(session, period),
        )
