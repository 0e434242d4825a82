"""Settings read from the environment in one place, with defaults for the embedded demo."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def _default_database_url() -> str:
    """A SQLite file under ./var, so the demo needs no database server."""
    return f"sqlite:///{Path('var/settle.db').resolve()}"


@dataclass(frozen=True)
class Settings:
    """Everything Settle reads from the environment; `.env.example` documents each variable."""

    database_url: str
    app_token_secret: str | None
    verification_max_failures: int
    verification_lockout_minutes: int
    timezone: str

    @classmethod
    def from_environment(cls) -> "Settings":
        """Reads the variables now, so tests and processes can set them before use."""
        env = os.environ
        return cls(
            database_url=env.get("DATABASE_URL") or _default_database_url(),
            app_token_secret=env.get("SETTLE_APP_TOKEN_SECRET") or None,
            verification_max_failures=int(env.get("SETTLE_VERIFICATION_MAX_FAILURES", "3")),
            verification_lockout_minutes=int(env.get("SETTLE_VERIFICATION_LOCKOUT_MINUTES", "15")),
            timezone=env.get("SETTLE_TIMEZONE", "Europe/Brussels"),
        )
