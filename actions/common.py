"""What every action needs: a database session and the verified customer, if any."""
from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import contextmanager
from typing import Iterator

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
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


class AccountAction(Action, ABC):
    """An answer about account data: refuses, whatever the dialogue predicted, unless verified."""

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        customer_id = verified_customer_id(tracker)
        if customer_id is None:
            dispatcher.utter_message(response="utter_need_verification")
            return []
        with database() as session:
            return self.answer(dispatcher, session, customer_id, tracker) or []

    @abstractmethod
    def answer(self, dispatcher: CollectingDispatcher, session: Session, customer_id: int, tracker: Tracker) -> list[EventType] | None:
        """Sends the answer for this verified customer; returns any events."""
