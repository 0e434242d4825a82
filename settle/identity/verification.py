"""Who is this? Checks a customer number against a postcode or date of birth, with lockout,
and checks the signed token an app passes instead.

Every failure answers the same way whether the customer number exists or not, and failures are
kept in the database so a restart does not reset a lockout.
"""
from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import jwt
from dateutil import parser as date_parser
from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from settle.config import Settings
from settle.models import ChatConversation, Customer, VerificationFailure, VerificationLockout

CUSTOMER_NUMBER = re.compile(r"^5\d{7}$")
POSTCODE = re.compile(r"^[1-9]\d{3}$")
APP_TOKEN_ALGORITHM = "HS256"


@dataclass(frozen=True)
class VerifiedCustomer:
    """The identity a conversation may see account data for."""

    customer_id: int
    customer_number: str
    first_name: str


class Outcome(str, enum.Enum):
    VERIFIED = "verified"
    FAILED = "failed"
    LOCKED = "locked"


@dataclass(frozen=True)
class VerificationResult:
    outcome: Outcome
    customer: VerifiedCustomer | None = None
    attempts_left: int = 0
    locked_until: datetime | None = None


@dataclass(frozen=True)
class Secret:
    """What the customer gave to prove who they are: a postcode or a date of birth."""

    postcode: str | None = None
    date_of_birth: date | None = None


def parse_customer_number(text: str) -> str | None:
    """The customer number in what was typed ("5000 0017", "nr 50000017"), or None."""
    standalone = [number for number in re.findall(r"\d+", text or "") if CUSTOMER_NUMBER.match(number)]
    if standalone:
        return standalone[0]
    digits = "".join(re.findall(r"\d+", text or ""))
    return digits if CUSTOMER_NUMBER.match(digits) else None


def parse_secret(text: str, today: date) -> Secret | None:
    """A Belgian postcode or a date of birth (day first, as written in Belgium), or None."""
    text = (text or "").strip()
    if not text or len(text) > 60:
        return None
    numbers = re.findall(r"\d+", text)
    if not numbers:
        return None
    if len(numbers) == 1 and POSTCODE.match(numbers[0]):
        return Secret(postcode=numbers[0])
    try:
        parsed = date_parser.parse(text, dayfirst=True, fuzzy=True, default=datetime(1900, 1, 1))
    except (ValueError, OverflowError):
        return None
    if parsed.year < 1900 or parsed.date() > today:
        return None
    return Secret(date_of_birth=parsed.date())


def lockout_until(session: Session, conversation_id: str, customer_number: str | None, now: datetime) -> datetime | None:
    """When the lockout on this conversation (or customer number) ends, if one is in force."""
    subjects = [(VerificationLockout.subject == "conversation") & (VerificationLockout.subject_key == conversation_id)]
    if customer_number:
        subjects.append(
            (VerificationLockout.subject == "customer_number") & (VerificationLockout.subject_key == customer_number)
        )
    return session.execute(
        select(func.max(VerificationLockout.locked_until)).where(or_(*subjects), VerificationLockout.locked_until > now)
    ).scalar_one_or_none()


def verify(
    session: Session,
    conversation_id: str,
    customer_number: str,
    secret: Secret,
    now: datetime,
    settings: Settings,
) -> VerificationResult:
    """Checks the details, recording a failure and locking after too many."""
    locked = lockout_until(session, conversation_id, customer_number, now)
    if locked:
        return VerificationResult(Outcome.LOCKED, locked_until=locked)

    customer = session.execute(
        select(Customer).where(Customer.customer_number == customer_number)
    ).scalar_one_or_none()
    if customer is not None and _matches(customer, secret):
        session.execute(delete(VerificationFailure).where(VerificationFailure.conversation_id == conversation_id))
        return VerificationResult(Outcome.VERIFIED, customer=_identity(customer))

    session.add(VerificationFailure(conversation_id=conversation_id, customer_number=customer_number, failed_at=now))
    session.flush()
    window_start = now - timedelta(minutes=settings.verification_lockout_minutes)
    failures = max(
        _failures_since(session, VerificationFailure.conversation_id == conversation_id, window_start),
        _failures_since(session, VerificationFailure.customer_number == customer_number, window_start),
    )
    if failures >= settings.verification_max_failures:
        until = now + timedelta(minutes=settings.verification_lockout_minutes)
        session.add_all(
            [
                VerificationLockout(subject="conversation", subject_key=conversation_id, locked_until=until),
                VerificationLockout(subject="customer_number", subject_key=customer_number, locked_until=until),
            ]
        )
        return VerificationResult(Outcome.LOCKED, locked_until=until)
    return VerificationResult(Outcome.FAILED, attempts_left=settings.verification_max_failures - failures)


def _matches(customer: Customer, secret: Secret) -> bool:
    if secret.postcode is not None:
        return customer.postcode == secret.postcode
    return secret.date_of_birth is not None and customer.date_of_birth == secret.date_of_birth


def _failures_since(session: Session, condition, since: datetime) -> int:
    return session.execute(
        select(func.count()).select_from(VerificationFailure).where(condition, VerificationFailure.failed_at > since)
    ).scalar_one()


def _identity(customer: Customer) -> VerifiedCustomer:
    return VerifiedCustomer(customer.id, customer.customer_number, customer.first_name)


def issue_app_token(customer_number: str, secret: str, now: datetime, ttl: timedelta = timedelta(hours=1)) -> str:
    """The signed token an app puts in message metadata to skip the questions (HS256)."""
    return jwt.encode(
        {"sub": customer_number, "iat": int(now.timestamp()), "exp": int((now + ttl).timestamp())},
        secret,
        algorithm=APP_TOKEN_ALGORITHM,
    )


def verify_app_token(session: Session, token: object, secret: str | None, now: datetime) -> VerifiedCustomer | None:
    """The customer a valid token names, unexpired as of `now`; None for anything else, including no secret set.

    Expiry is checked against Settle's clock, not PyJWT's own reading of the wall clock."""
    if not secret or not isinstance(token, str) or not token.isascii():  # a JWT is ASCII; PyJWT raises on surrogates
        return None
    try:
        claims = jwt.decode(
            token, secret, algorithms=[APP_TOKEN_ALGORITHM],
            options={"require": ["sub", "exp"], "verify_exp": False, "verify_iat": False, "verify_nbf": False},
        )
    except jwt.PyJWTError:
        return None
    if not isinstance(claims["exp"], int) or claims["exp"] <= now.timestamp():
        return None
    customer = session.execute(
        select(Customer).where(Customer.customer_number == str(claims["sub"]))
    ).scalar_one_or_none()
    return _identity(customer) if customer else None



def remember_conversation(session: Session, customer_id: int, conversation_id: str, now: datetime) -> None:
    """Notes the customer's latest verified chat, where in-app reminders will be delivered."""
    known = session.get(ChatConversation, customer_id)
    if known is None:
        session.add(ChatConversation(customer_id=customer_id, conversation_id=conversation_id, last_seen_at=now))
    else:
        known.conversation_id, known.last_seen_at = conversation_id, now
