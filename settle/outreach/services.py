"""Reaching out first, one function per use case: the reminder run, a reminder arriving in a chat, and a
person reviewing the accounts the reminders flagged."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date

from settle.db import session_factory
from settle.models import ReviewAction
from settle.outreach import reminders, review
from settle.outreach.reminders import RunSummary
from settle.outreach.senders import Sender
from settle.payments.links import LinkOffer
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


def flagged_accounts(uow: UnitOfWork) -> review.FlaggedList:
    """The accounts flagged for a person to review and not reviewed since, those waiting longest first."""
    with uow:
        return review.flagged_accounts(uow.session, uow.clock.today())


def paused_accounts(uow: UnitOfWork) -> list[review.PausedAccount]:
    """The customers whose reminders a person paused, paused longest ago first."""
    with uow:
        return review.paused_accounts(uow.session)


def resume_reminders(uow: UnitOfWork, customer_id: int, agent_id: int) -> str:
    """Reminders again for a customer whose reminders were paused; gives their name. ReviewProblem if not paused."""
    with uow:
        name = review.resume_reminders(uow.session, customer_id, agent_id, uow.clock.now())
        uow.commit()
        return name


def account_review(uow: UnitOfWork, customer_id: int) -> review.AccountReview:
    """One flagged account with all a person needs to decide; FlaggedAccountNotFound when it is not waiting."""
    with uow:
        return review.account_review(uow.session, customer_id, uow.clock.today(), uow.policy)


def act_on_flagged_account(uow: UnitOfWork, customer_id: int, agent_id: int, action: ReviewAction, note: str = "") -> None:
    """Notes a call, pauses the customer's reminders, or marks the account reviewed (it leaves the list).

    Raises:
        FlaggedAccountNotFound: the account is not waiting for review (perhaps someone else just marked it).
        ReviewProblem: a call noted without a note; nothing changed.
    """
    with uow:
        review.record(uow.session, customer_id, agent_id, action, uow.clock.now(), note)
        uow.commit()


def grant_more_time(uow: UnitOfWork, customer_id: int, agent_id: int, invoice_number: str, new_due: date) -> None:
    """A later due date for a flagged account's bill, by the chat's rules (review.grant_more_time says what it raises)."""
    with uow:
        review.grant_more_time(uow.session, customer_id, agent_id, invoice_number, new_due, uow.policy,
                               uow.clock.today(), uow.clock.now())
        uow.commit()


def agree_plan(uow: UnitOfWork, customer_id: int, agent_id: int, months: int, start: date, agreed_total_cents: int) -> LinkOffer:
    """A plan for a flagged account, by the chat's rules, and its first instalment's link (review.agree_plan says
    what it raises)."""
    with uow:
        link = review.agree_plan(uow.session, customer_id, agent_id, months, start, agreed_total_cents, uow.policy,
                                 uow.settings, uow.clock.today(), uow.clock.now())
        uow.commit()
        return link
