"""Today's date and the current time where the customers live, timezone-aware."""
from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from settle.config import Settings


def now_utc() -> datetime:
    """The current instant, aware, in UTC."""
    return datetime.now(timezone.utc)


def local_today(settings: Settings | None = None) -> date:
    """Today's date in the company's timezone, which decides whether a bill is overdue."""
    settings = settings or Settings.from_environment()
    return datetime.now(ZoneInfo(settings.timezone)).date()


def format_date(day: date) -> str:
    """How a date reads in a message: 26 November 2026."""
    return f"{day.day} {day:%B %Y}"
