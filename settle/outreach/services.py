"""Reaching out first, one function per use case: the reminder run, a reminder arriving in a chat, a person
reviewing the accounts the reminders flagged, and customers opting out of reminders (and back in)."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date

from settle.db import session_factory
from settle.models import OptOutSource, ReviewAction
from settle.outreach import opt_outs, reminders, review
from settle.outreach.reminders import RunSummary
from settle.outreach.senders import Sender
from settle.payments.links import LinkOffer
from settle.policy import CHANNELS
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


def choose_reminders(uow: UnitOfWork, customer_id: int, channel: str, opted_out: bool, source: OptOutSource,
                     agent_id: int | None = None) -> frozenset[str]:
    """Keeps a customer's opt-out from reminders on `channel` ("all" for every one), or back in, as of the clock;
    gives the channels now opted out. UnknownChannel for anything but chat, email, sms or all."""
    with uow:
        left_out = opt_outs.record_choice(uow.session, customer_id, channel, opted_out, source, uow.clock.now(), agent_id)
        uow.commit()
        return left_out


def reminder_choices(uow: UnitOfWork, customer_id: int) -> tuple[frozenset[str], list[opt_outs.Choice]]:
    """The channels a customer opted out of now, and every choice they made, newest first."""
    with uow:
        now_out = opt_outs.opted_out_channels(uow.session, [customer_id]).get(customer_id, frozenset())
        return now_out, opt_outs.choices(uow.session, customer_id)


@dataclass(frozen=True)
class OptOutPage:
    """What the page of an opt-out link shows: the channel the link came on, in the customer's language, and
    whether reminders on it (and everywhere) are stopped already. No name, amount or address: the link is enough."""

    channel: str
    language: str
    stopped_here: bool
    stopped_everywhere: bool


def opt_out_page(uow: UnitOfWork, token: str) -> OptOutPage:
    """The state behind an opt-out link (LinkProblem "unknown" when Settle did not sign it)."""
    with uow:
        customer, channel = opt_outs.customer_of_link(uow.session, uow.settings, token)
        now_out = opt_outs.opted_out_channels(uow.session, [customer.id]).get(customer.id, frozenset())
        return OptOutPage(channel, customer.language, channel in now_out, now_out >= set(CHANNELS))


def choose_by_link(uow: UnitOfWork, token: str, everywhere: bool, opted_out: bool = True) -> OptOutPage:
    """Stops (or restarts) the reminders on the link's channel, or everywhere, as the customer clicked."""
    with uow:
        customer, channel = opt_outs.customer_of_link(uow.session, uow.settings, token)
        now_out = opt_outs.record_choice(uow.session, customer.id, opt_outs.ALL if everywhere else channel, opted_out,
                                         OptOutSource.LINK, uow.clock.now())
        uow.commit()
        return OptOutPage(channel, customer.language, channel in now_out, now_out >= set(CHANNELS))
