"""Proving who the customer is, one function per use case; callers put the results into words."""
from __future__ import annotations

from datetime import date

from settle.identity import language, verification
from settle.identity.verification import Outcome, VerificationResult, VerifiedCustomer
from settle.insights import conversations
from settle.models import Customer
from settle.unit_of_work import UnitOfWork


def verify_by_app_token(uow: UnitOfWork, token: object, conversation_id: str) -> VerifiedCustomer | None:
    """The customer a valid app token names, remembered as this chat's owner; None for anything else."""
    with uow:
        customer = verification.verify_app_token(uow.session, token, uow.settings.app_token_secret, uow.clock.now())
        if customer is not None:
            verification.remember_conversation(uow.session, customer.customer_id, conversation_id, uow.clock.now())
            conversations.note_verified(uow.session, conversation_id, customer.customer_id, uow.clock.now())
            uow.commit()
        return customer


def lockout(uow: UnitOfWork, conversation_id: str, source: str) -> verification.Lockout | None:
    """The pause on checks for this chat, its source or everyone, if one is in force (in the company's timezone)."""
    with uow:
        paused = verification.lockout(uow.session, conversation_id, source, uow.clock.now())
        return None if paused is None else verification.Lockout(paused.until.astimezone(uow.clock.zone), paused.everyone)


def minutes_left(uow: UnitOfWork, paused: verification.Lockout) -> int:
    """Whole minutes until a pause ends, at least one."""
    return paused.minutes_left(uow.clock.now())


def read_postcode(typed: str) -> str | None:
    """The Belgian postcode in what was typed, or None."""
    return verification.parse_postcode(typed)


def read_postcode_beside_number(typed: str) -> str | None:
    """The postcode given in the same message as the customer number, or None."""
    return verification.postcode_beside_number(typed)


def read_birth_date(uow: UnitOfWork, typed: str) -> date | None:
    """The date of birth in what was typed (it can't be in the future), or None."""
    return verification.parse_birth_date(typed, uow.clock.today())


def check_answers(
    uow: UnitOfWork, conversation_id: str, source: str, customer_number: str, answers: verification.Answers
) -> VerificationResult:
    """Checks the customer number with the postcode and date of birth; the chat becomes the customer's reminder
    chat only when it verifies. A failure is recorded and may pause the chat, its source or every check."""
    with uow:
        result = verification.verify(
            uow.session, conversation_id, source, customer_number, answers, uow.clock.now(), uow.settings
        )
        if result.outcome == Outcome.VERIFIED and result.customer is not None:
            verification.remember_conversation(uow.session, result.customer.customer_id, conversation_id, uow.clock.now())
            conversations.note_verified(uow.session, conversation_id, result.customer.customer_id, uow.clock.now())
        uow.commit()
    if result.lockout is not None:
        paused = verification.Lockout(result.lockout.until.astimezone(uow.clock.zone), result.lockout.everyone)
        return VerificationResult(result.outcome, result.customer, result.attempts_left, paused)
    return result


def recent_failures(uow: UnitOfWork) -> verification.RecentFailures:
    """Failed checks and paused conversations in the last 24 hours, for the agents' queue page."""
    with uow:
        return verification.recent_failures(uow.session, uow.clock.now())


def conversation_language(
    uow: UnitOfWork, current: language.ConversationLanguage, text: str, page_language: object, customer_id: int | None
) -> language.ConversationLanguage:
    """The conversation's language after this message, from the request in it, the page, the verified customer's
    stored preference and what was typed (settle/identity/language.py has the precedence)."""
    stored = None
    if customer_id is not None:
        with uow:
            customer = uow.session.get(Customer, customer_id)
            stored = customer.language if customer is not None else None
    return language.decide(current, text, page_language, stored)
