"""What every action needs: a database session and the verified customer, if any."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from rasa_sdk import Tracker
from sqlalchemy.orm import Session

from settle.db import session_factory


@contextmanager
def database() -> Iterator[Session]:
    """One transaction per action: committed when the action's work succeeds, rolled back otherwise."""
    with session_factory().begin() as session:
        yield session


def verified_customer_id(tracker: Tracker) -> int | None:
    """The customer this conversation proved to be, or None: never trust anything else."""
    if tracker.get_slot("verification") != "verified":
        return None
    customer_id = tracker.get_slot("verified_customer_id")
    return int(customer_id) if customer_id and str(customer_id).isdigit() else None
