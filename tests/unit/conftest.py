"""Fixtures shared by the unit tests of the billing core (`settle/`)."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from sqlalchemy import select

from settle.config import Settings
from settle.models import Customer
from settle.tooling.seed import PERSONAS

#: Must match TODAY in tests/conftest.py: the day the shared test database is seeded as seen from.
SEED_TODAY = date(2026, 11, 22)


@pytest.fixture
def today() -> date:
    return SEED_TODAY


@pytest.fixture
def now() -> datetime:
    """A fixed, timezone-aware instant for verification attempts."""
    return datetime(2026, 11, 22, 10, 0, tzinfo=timezone.utc)


@pytest.fixture
def settings(monkeypatch) -> Settings:
    """Settings as the servers read them, with the documented verification defaults."""
    monkeypatch.setenv("SETTLE_APP_TOKEN_SECRET", "unit-test-secret-0123456789abcdef-xyz")
    monkeypatch.delenv("SETTLE_VERIFICATION_MAX_FAILURES", raising=False)
    monkeypatch.delenv("SETTLE_VERIFICATION_LOCKOUT_MINUTES", raising=False)
    return Settings.from_environment()


@pytest.fixture
def persona_customer(session):
    """Looks up the seeded customer behind a persona, by the persona's shape ("overdue", ...)."""

    def lookup(shape: str) -> Customer:
        persona = next(p for p in PERSONAS if p.shape == shape)
        return session.execute(
            select(Customer).where(Customer.customer_number == persona.customer_number)
        ).scalar_one()

    return lookup
