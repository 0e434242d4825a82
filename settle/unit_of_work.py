"""One unit of work per use case: a database transaction with the settings, the clock and the policies
it runs under. Changes are kept only when the service commits; anything else is rolled back."""
from __future__ import annotations

from types import TracebackType

from sqlalchemy.orm import Session

from settle.clock import Clock, clock_for
from settle.config import Settings, process_settings
from settle.db import session_factory
from settle.policy import ArrangementPolicy, RedirectPolicy, ReminderPolicy, policy_at, redirects_at, reminder_policy_at


class UnitOfWork:
    """`with uow:` opens the session; `uow.commit()` keeps what was done."""

    session: Session

    def __init__(self, settings: Settings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock

    def __enter__(self) -> UnitOfWork:
        self.session = session_factory(self.settings.database_url)()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self.session.rollback()
        self.session.close()

    def commit(self) -> None:
        self.session.commit()

    @property
    def policy(self) -> ArrangementPolicy:
        """The arrangements policy billing operations set (read once per process)."""
        return policy_at(self.settings.policy_file)

    @property
    def reminder_policy(self) -> ReminderPolicy:
        return reminder_policy_at(self.settings.reminder_policy_file)

    @property
    def redirects(self) -> RedirectPolicy:
        """Where to send customers for what Settle does not handle (read once per process)."""
        return redirects_at(self.settings.redirects_file)


def unit_of_work(settings: Settings | None = None, clock: Clock | None = None) -> UnitOfWork:
    """A unit of work for this process: its settings, and the clock they choose, unless given."""
    settings = settings or process_settings()
    return UnitOfWork(settings, clock or clock_for(settings))
