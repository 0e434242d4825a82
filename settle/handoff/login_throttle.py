"""Console logins slow down after repeated failures, per e-mail and per client address, so passwords
can't be guessed quickly from one address or spread over many. Failures are stored in the database, so the
limit holds across web processes and restarts.

After FREE_FAILURES failures within WINDOW (an hour) for the same e-mail (or from the same address), no login for it
is even checked for a while: 1 minute after the fifth, then 2, 4, 8, at most MAX_WAIT, counted from the
last failure: about four tries an hour at most. A refused try is not a failure (it was not checked), so waiting always helps; a login that
succeeds forgets that e-mail's failures. The price: someone guessing an agent's e-mail can keep that agent
out for the wait, never longer; an agent whose address is throttled still logs in from another.
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from settle.models import LoginFailure

FREE_FAILURES = 5
WINDOW = timedelta(hours=1)
MAX_WAIT = timedelta(minutes=15)


def minutes_to_wait(session: Session, email: str, client: str, now: datetime) -> int:
    """How many whole minutes before a login for this e-mail from this address is checked again; 0: now."""
    wait = max(_wait(session, LoginFailure.email == _key(email), now), _wait(session, LoginFailure.client == client[:64], now))
    return math.ceil(wait.total_seconds() / 60)


def record_failure(session: Session, email: str, client: str, now: datetime) -> None:
    """One more failed login; old ones are removed on the way so the table stays small."""
    session.execute(delete(LoginFailure).where(LoginFailure.failed_at < now - WINDOW).execution_options(synchronize_session=False))
    session.add(LoginFailure(email=_key(email), client=client[:64], failed_at=now))
    session.flush()


def forget_failures(session: Session, email: str) -> None:
    """The agent got in: earlier wrong tries of their e-mail no longer count against it."""
    session.execute(delete(LoginFailure).where(LoginFailure.email == _key(email)).execution_options(synchronize_session=False))


def _wait(session: Session, which, now: datetime) -> timedelta:
    count, last = session.execute(
        select(func.count(), func.max(LoginFailure.failed_at)).where(which, LoginFailure.failed_at >= now - WINDOW)
    ).one()
    if count < FREE_FAILURES:
        return timedelta(0)
    wait = min(timedelta(minutes=2 ** (count - FREE_FAILURES)), MAX_WAIT)
    return max(last + wait - now, timedelta(0))


def _key(email: str) -> str:
    return (email or "").strip().lower()[:254]
