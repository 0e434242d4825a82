"""Who is this? Checks a customer number against both the postcode and the date of birth, with
throttling, and checks the signed token an app passes instead.

Every failure answers the same way whether the customer number exists or not. Failures pause the
conversation, the source it comes from (a client address) and, when there are too many everywhere at
once, every new check for a while; a customer number is never locked, so an attacker can't lock the
real customer out. Failures and pauses are kept in the database, so a restart resets nothing.
"""
from __future__ import annotations

import enum
import math
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import jwt
from dateutil import parser as date_parser
from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from settle.config import Settings
from settle.models import ChatConversation, Customer, VerificationFailure, VerificationLockout
from settle.words import dates_in_english, plain

CUSTOMER_NUMBER = re.compile(r"^5\d{7}$")
POSTCODE = re.compile(r"^[1-9]\d{3}$")
_STANDALONE_NUMBER = re.compile(r"(?<!\d)5\d{7}(?!\d)")
#: "5000 0017", "5000.0017", "5000-0017": eight digits in groups with one separator between them.
_GROUPED_NUMBER = re.compile(r"(?<![\d.\-])5(?:[ .\-]?\d){7}(?![\d]|[.\-]\d)")
APP_TOKEN_ALGORITHM = "HS256"
#: A pause of the same conversation, source or everyone doubles each time within this period, up to it.
PAUSE_MEMORY = timedelta(hours=24)
GLOBAL_KEY = "all"


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
class Lockout:
    """Until when checks are refused, and whether for everyone (too many failures everywhere) or this chat."""

    until: datetime
    everyone: bool = False

    def minutes_left(self, now: datetime) -> int:
        return max(1, math.ceil((self.until - now).total_seconds() / 60))


@dataclass(frozen=True)
class VerificationResult:
    outcome: Outcome
    customer: VerifiedCustomer | None = None
    attempts_left: int = 0
    lockout: Lockout | None = None


@dataclass(frozen=True)
class Answers:
    """What the customer gave to prove who they are: both must match."""

    postcode: str
    date_of_birth: date


def parse_customer_number(text: str) -> str | None:
    """The customer number in what was typed ("5000 0017", "5000.0017", "nr 50000017"), or None."""
    found = _customer_number_span(text or "")
    return None if found is None else re.sub(r"\D", "", found.group())


def _customer_number_span(text: str) -> re.Match | None:
    """Where the customer number is: eight digits as one number, else written in groups (spaces, dots, dashes),
    else all the digits of a short message together ("5 0 0 0 0 0 1 7")."""
    found = _STANDALONE_NUMBER.search(text) or _GROUPED_NUMBER.search(text)
    if found is None and CUSTOMER_NUMBER.match("".join(re.findall(r"\d+", text))):
        found = re.search(r"\d.*\d", text)
    return found


def parse_postcode(text: str) -> str | None:
    """A Belgian postcode: the one number in what was typed ("8000 Brugge"), or None."""
    text = (text or "").strip()
    if not text or len(text) > 60:
        return None
    numbers = re.findall(r"\d+", text)
    return numbers[0] if len(numbers) == 1 and POSTCODE.match(numbers[0]) else None


def postcode_beside_number(text: str) -> str | None:
    """The postcode typed in the same message as the customer number ("50000017, postcode 1000",
    "5000 0017 8000"), or None; never a part of the number itself ("5000 0017")."""
    text = text or ""
    number = _customer_number_span(text)
    if number is None or len(text) > 100:
        return None
    others = re.findall(r"\d+", text[: number.start()] + " " + text[number.end():])
    return others[0] if len(others) == 1 and POSTCODE.match(others[0]) else None


def parse_birth_date(text: str, today: date) -> date | None:
    """A date of birth (day first, as written in Belgium, in English, Dutch or French), not in the future, or None."""
    text = (text or "").strip()
    if not text or len(text) > 60 or not re.search(r"\d", text):
        return None
    text = dates_in_english(plain(text))  # "3 maart 1985", "le 3 mars 1985" as "3 march 1985"
    try:
        parsed = date_parser.parse(text, dayfirst=True, fuzzy=True, default=datetime(1900, 1, 1))
    except (ValueError, OverflowError):
        return None
    if parsed.year < 1900 or parsed.date() > today:
        return None
    return parsed.date()


def lockout(session: Session, conversation_id: str, source: str, now: datetime) -> Lockout | None:
    """The pause in force for this conversation, its source or everyone, the longest if several."""
    subjects = [
        (VerificationLockout.subject == "conversation") & (VerificationLockout.subject_key == conversation_id),
        (VerificationLockout.subject == "source") & (VerificationLockout.subject_key == source),
        (VerificationLockout.subject == "global") & (VerificationLockout.subject_key == GLOBAL_KEY),
    ]
    row = session.execute(
        select(VerificationLockout.subject, VerificationLockout.locked_until)
        .where(or_(*subjects), VerificationLockout.locked_until > now)
        .order_by(VerificationLockout.locked_until.desc())
        .limit(1)
    ).first()
    return None if row is None else Lockout(row.locked_until, everyone=row.subject == "global")


def verify(
    session: Session,
    conversation_id: str,
    source: str,
    customer_number: str,
    answers: Answers,
    now: datetime,
    settings: Settings,
) -> VerificationResult:
    """Checks the details, recording a failure and pausing the conversation, the source or everyone after too many."""
    paused = lockout(session, conversation_id, source, now)
    if paused:
        return VerificationResult(Outcome.LOCKED, lockout=paused)

    customer = session.execute(
        select(Customer).where(Customer.customer_number == customer_number)
    ).scalar_one_or_none()
    if customer is not None and customer.postcode == answers.postcode and customer.date_of_birth == answers.date_of_birth:
        session.execute(delete(VerificationFailure).where(VerificationFailure.conversation_id == conversation_id))
        return VerificationResult(Outcome.VERIFIED, customer=_identity(customer))

    session.add(VerificationFailure(conversation_id=conversation_id, source=source, customer_number=customer_number, failed_at=now))
    session.flush()
    window_start = now - timedelta(minutes=settings.verification_lockout_minutes)
    base = timedelta(minutes=settings.verification_lockout_minutes)
    in_conversation = _failures_since(session, VerificationFailure.conversation_id == conversation_id, window_start)
    from_source = _failures_since(session, VerificationFailure.source == source, window_start)
    everywhere = _failures_since(
        session, VerificationFailure.id.is_not(None), now - timedelta(minutes=settings.verification_global_window_minutes)
    )
    locks = []
    if everywhere > settings.verification_global_max_failures:
        locks.append(_pause(session, "global", GLOBAL_KEY, timedelta(minutes=settings.verification_global_pause_minutes), now))
    if from_source >= settings.verification_source_max_failures:
        locks.append(_pause(session, "source", source, base, now))
    if in_conversation >= settings.verification_max_failures:
        locks.append(_pause(session, "conversation", conversation_id, base, now))
    if locks:
        return VerificationResult(Outcome.LOCKED, lockout=max(locks, key=lambda lock: lock.until))
    return VerificationResult(Outcome.FAILED, attempts_left=settings.verification_max_failures - in_conversation)


def _pause(session: Session, subject: str, key: str, base: timedelta, now: datetime) -> Lockout:
    """Pauses checks for `base`, doubled for each earlier pause of the same subject within PAUSE_MEMORY."""
    earlier = session.execute(
        select(func.count()).select_from(VerificationLockout).where(
            VerificationLockout.subject == subject,
            VerificationLockout.subject_key == key,
            VerificationLockout.locked_at > now - PAUSE_MEMORY,
        )
    ).scalar_one()
    until = now + min(base * 2 ** min(earlier, 10), PAUSE_MEMORY)
    session.add(VerificationLockout(subject=subject, subject_key=key, locked_at=now, locked_until=until))
    return Lockout(until, everyone=subject == "global")


def _failures_since(session: Session, condition, since: datetime) -> int:
    return session.execute(
        select(func.count()).select_from(VerificationFailure).where(condition, VerificationFailure.failed_at > since)
    ).scalar_one()


@dataclass(frozen=True)
class RecentFailures:
    """What agents see of attacks on the check: failed checks and paused conversations in the last day."""

    failed_checks: int
    locked_conversations: int


def recent_failures(session: Session, now: datetime) -> RecentFailures:
    since = now - PAUSE_MEMORY
    failed = _failures_since(session, VerificationFailure.id.is_not(None), since)
    locked = session.execute(
        select(func.count(func.distinct(VerificationLockout.subject_key))).where(
            VerificationLockout.subject == "conversation", VerificationLockout.locked_at > since
        )
    ).scalar_one()
    return RecentFailures(failed, locked)


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
