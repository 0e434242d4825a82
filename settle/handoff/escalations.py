"""Handing a conversation to a person: why, and what the bot already knew, for the agents' queue.

One conversation waits in the queue once per reason: asking again while it still waits refreshes
what the agent will see instead of queueing the customer twice.
"""
from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from datetime import date, datetime, time
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from settle import metrics
from settle.models import Escalation, EscalationReason, EscalationStatus

REASONS = tuple(EscalationReason)
#: Reasons where each escalation is a case of its own (two disputed bills are two things to look at).
SEPARATE_CASES = (EscalationReason.DISPUTE,)


def escalate(
    session: Session,
    reason: EscalationReason,
    conversation_id: str,
    customer_id: int | None,
    context: Mapping[str, object],
    now: datetime,
) -> Escalation:
    """Puts the conversation in the agents' queue, or updates its waiting escalation for the same reason
    (except for disputes: each one is its own case).

    Args:
        customer_id: the verified customer, or None when nobody is verified (e.g. a locked verification).
        context: what the agent should see; plain JSON values, with dates, times and Decimals written
            as ISO dates and exact decimal strings. On reuse, these keys are added to the stored ones.

    Raises:
        ValueError: `reason` is not one of REASONS.
        TypeError: `context` is not a mapping or holds a value JSON can't represent.
    """
    if reason not in REASONS:
        raise ValueError(f"unknown escalation reason {reason!r}; expected one of {', '.join(REASONS)}")
    if not isinstance(context, Mapping):
        raise TypeError("context must be a mapping of names to values")
    if now.tzinfo is None:
        raise ValueError("naive datetime: pass a timezone-aware value")
    fresh = json.loads(_to_json(context))
    waiting = None if reason in SEPARATE_CASES else session.execute(
        select(Escalation)
        .where(
            Escalation.conversation_id == conversation_id,
            Escalation.reason == reason,
            Escalation.status == EscalationStatus.WAITING,
        )
        .order_by(Escalation.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if waiting is not None:
        merged = {**json.loads(waiting.context_json or "{}"), **fresh}
        waiting.context_json = _to_json(merged)
        if waiting.customer_id is None and customer_id is not None:
            waiting.customer_id = customer_id
        session.flush()
        return waiting
    escalation = Escalation(
        reason=reason,
        conversation_id=conversation_id,
        customer_id=customer_id,
        context_json=_to_json(fresh),
        status=EscalationStatus.WAITING,
        created_at=now,
    )
    session.add(escalation)
    session.flush()
    metrics.ESCALATIONS.labels(reason=str(reason)).inc()
    return escalation


def _to_json(context: Mapping[str, object]) -> str:
    return json.dumps(dict(context), default=_plain, ensure_ascii=False, sort_keys=True)


def _plain(value: object) -> object:
    """The JSON form of the few non-JSON values a context may carry; anything else is refused."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    raise TypeError(f"context value of type {type(value).__name__} is not JSON-serialisable")
