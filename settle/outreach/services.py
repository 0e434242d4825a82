"""Reaching out first, one function per use case: the reminder run, and a reminder arriving in a chat."""
from __future__ import annotations

from collections.abc import Callable, Mapping

from settle.db import session_factory
from settle.outreach import reminders
from settle.outreach.reminders import RunSummary
from settle.outreach.senders import Sender
from settle.unit_of_work import UnitOfWork


def run_reminders(
    uow: UnitOfWork, senders: Mapping[str, Sender], dry_run: bool = False, progress: Callable[[str], None] | None = None
) -> RunSummary:
    """Claims what is due as of the unit of work's clock and sends it; each message is its own transaction."""
    return reminders.run(
        session_factory(uow.settings.database_url), uow.reminder_policy, uow.policy, senders, uow.settings,
        uow.clock.now(), dry_run=dry_run, progress=progress,
    )


def genuine_reminder(uow: UnitOfWork, conversation_id: str, values: Mapping[str, str], token: str) -> bool:
    """Whether a reminder that arrived in this chat was signed by the engine for it and is still fresh."""
    return reminders.reminder_is_genuine(uow.settings, uow.clock.now(), conversation_id, values, token)
