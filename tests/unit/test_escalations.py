"""Escalations: a known reason, the context as JSON, and one waiting entry per conversation and reason."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from settle.handoff.escalations import REASONS, escalate
from settle.models import Escalation, EscalationStatus, InvoiceStatus
from tests.conftest import NOW


def escalations_of(session, conversation_id: str) -> list[Escalation]:
    return session.execute(
        select(Escalation).where(Escalation.conversation_id == conversation_id).order_by(Escalation.id)
    ).scalars().all()


def test_the_reasons_are_the_documented_ones():
    assert REASONS == ("asked", "repeated_fallback", "upset", "dispute", "hardship", "verification_locked")


@pytest.mark.parametrize("reason", REASONS)
def test_every_known_reason_is_queued_as_waiting(session, persona_customer, reason):
    lucas = persona_customer("overdue")
    escalation = escalate(session, reason, "conv-1", lucas.id, {"topic": "bill"}, NOW)
    session.expire_all()
    stored = session.get(Escalation, escalation.id)
    assert (stored.reason, stored.conversation_id, stored.customer_id) == (reason, "conv-1", lucas.id)
    assert stored.status == "waiting"
    assert stored.created_at == NOW
    assert json.loads(stored.context_json) == {"topic": "bill"}


@pytest.mark.parametrize("reason", ["", "Asked", "angry", "dispute ", None])
def test_an_unknown_reason_is_refused_and_nothing_is_stored(session, reason):
    with pytest.raises(ValueError):
        escalate(session, reason, "conv-1", None, {}, NOW)
    assert escalations_of(session, "conv-1") == []


def test_dates_and_decimals_are_stored_as_strings(session, persona_customer):
    lucas = persona_customer("overdue")
    context = {
        "amount": Decimal("1234.50"),
        "due_date": date(2026, 12, 13),
        "asked_at": datetime(2026, 11, 22, 9, 30, tzinfo=timezone.utc),
        "status": InvoiceStatus.DISPUTED,
        "invoices": ["INV-2026-000001", {"open": Decimal("0.10")}],
        "count": 2,
        "verified": True,
        "note": None,
    }
    escalation = escalate(session, "asked", "conv-1", lucas.id, context, NOW)
    assert json.loads(escalation.context_json) == {
        "amount": "1234.50",
        "due_date": "2026-12-13",
        "asked_at": "2026-11-22T09:30:00+00:00",
        "status": "disputed",
        "invoices": ["INV-2026-000001", {"open": "0.10"}],
        "count": 2,
        "verified": True,
        "note": None,
    }


def test_a_value_json_cannot_hold_is_refused(session):
    with pytest.raises(TypeError):
        escalate(session, "asked", "conv-1", None, {"thing": object()}, NOW)
    assert escalations_of(session, "conv-1") == []


def test_a_context_that_is_not_a_mapping_is_refused(session):
    with pytest.raises(TypeError):
        escalate(session, "asked", "conv-1", None, [("a", 1)], NOW)


def test_a_naive_time_is_refused(session):
    with pytest.raises(ValueError):
        escalate(session, "asked", "conv-1", None, {}, datetime(2026, 11, 22, 10, 0))


def test_a_waiting_escalation_is_reused_and_its_context_updated(session, persona_customer):
    lucas = persona_customer("overdue")
    first = escalate(session, "upset", "conv-1", lucas.id, {"attempts": 1, "topic": "bill"}, NOW)
    again = escalate(session, "upset", "conv-1", lucas.id, {"attempts": 2, "mood": "angry"}, NOW + timedelta(minutes=5))
    assert again.id == first.id
    assert len(escalations_of(session, "conv-1")) == 1
    session.expire_all()
    stored = session.get(Escalation, first.id)
    assert json.loads(stored.context_json) == {"attempts": 2, "topic": "bill", "mood": "angry"}
    assert stored.created_at == NOW  # keeps its place in the queue


def test_a_verified_customer_is_added_to_a_waiting_anonymous_escalation(session, persona_customer):
    lucas = persona_customer("overdue")
    first = escalate(session, "asked", "conv-1", None, {}, NOW)
    assert first.customer_id is None
    again = escalate(session, "asked", "conv-1", lucas.id, {}, NOW)
    assert again.id == first.id
    assert again.customer_id == lucas.id


def test_another_reason_or_conversation_is_a_new_escalation(session):
    first = escalate(session, "asked", "conv-1", None, {}, NOW)
    other_reason = escalate(session, "upset", "conv-1", None, {}, NOW)
    other_conversation = escalate(session, "asked", "conv-2", None, {}, NOW)
    assert len({first.id, other_reason.id, other_conversation.id}) == 3


def test_an_escalation_no_longer_waiting_is_not_reused(session):
    first = escalate(session, "asked", "conv-1", None, {"n": 1}, NOW)
    first.status = EscalationStatus.CLAIMED
    session.flush()
    second = escalate(session, "asked", "conv-1", None, {"n": 2}, NOW + timedelta(hours=1))
    assert second.id != first.id
    assert json.loads(second.context_json) == {"n": 2}
    total = session.execute(
        select(func.count()).select_from(Escalation).where(Escalation.conversation_id == "conv-1")
    ).scalar_one()
    assert total == 2
