"""Proving who the customer is, one function per use case; callers put the results into words."""
from __future__ import annotations

from datetime import datetime

from settle.identity import verification
from settle.identity.verification import Outcome, VerificationResult, VerifiedCustomer
from settle.unit_of_work import UnitOfWork


def verify_by_app_token(uow: UnitOfWork, token: object, conversation_id: str) -> VerifiedCustomer | None:
    """The customer a valid app token names, remembered as this chat's owner; None for anything else."""
    with uow:
        customer = verification.verify_app_token(uow.session, token, uow.settings.app_token_secret, uow.clock.now())
        if customer is not None:
            verification.remember_conversation(uow.session, customer.customer_id, conversation_id, uow.clock.now())
            uow.commit()
        return customer


def lockout_until(uow: UnitOfWork, conversation_id: str, customer_number: str | None) -> datetime | None:
    """When a lockout on this chat or customer number ends (in the company's timezone), if one is in force."""
    with uow:
        until = verification.lockout_until(uow.session, conversation_id, customer_number, uow.clock.now())
        return until.astimezone(uow.clock.zone) if until else None


def read_secret(uow: UnitOfWork, typed: str) -> verification.Secret | None:
    """The postcode or date of birth in what was typed (a birth date can't be in the future), or None."""
    return verification.parse_secret(typed, uow.clock.today())


def check_answer(
    uow: UnitOfWork, conversation_id: str, customer_number: str, secret: verification.Secret
) -> VerificationResult:
    """Checks the customer number with the postcode or date of birth; a failure is recorded and may lock."""
    with uow:
        result = verification.verify(uow.session, conversation_id, customer_number, secret, uow.clock.now(), uow.settings)
        if result.outcome == Outcome.VERIFIED and result.customer is not None:
            verification.remember_conversation(uow.session, result.customer.customer_id, conversation_id, uow.clock.now())
        uow.commit()
    if result.locked_until is not None:
        return VerificationResult(result.outcome, result.customer, result.attempts_left, result.locked_until.astimezone(uow.clock.zone))
    return result
