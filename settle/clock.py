"""The only place Settle reads the wall clock. Everything else is handed a Clock (through the unit of
work), so tests and `--now` can fix the moment and every part of one run agrees on what "today" is."""
from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import Literal
from zoneinfo import ZoneInfo

from babel.dates import format_date as babel_date
from babel.dates import format_time as babel_time

from settle.config import Settings
from settle.locales import locale_for

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class Clock(ABC):
    """The current moment, and today's date where the customers live (which decides what is overdue)."""

    def __init__(self, timezone_name: str) -> None:
        self.zone = ZoneInfo(timezone_name)

    @abstractmethod
    def now(self) -> datetime:
        """The current instant, aware, in UTC."""

    def today(self) -> date:
        return self.now().astimezone(self.zone).date()


class SystemClock(Clock):
    """The real time."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class FixedClock(Clock):
    """A moment that stands still (tests, demos, `settle remind --now`); `advance` moves it on."""

    def __init__(self, moment: datetime, timezone_name: str = "Europe/Brussels") -> None:
        super().__init__(timezone_name)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=self.zone)
        self.moment = moment.astimezone(timezone.utc)

    def now(self) -> datetime:
        return self.moment

    def advance(self, by: timedelta) -> None:
        self.moment += by


def clock_for(settings: Settings) -> Clock:
    """The real clock, or the fixed moment SETTLE_NOW gives (for tests and demos only)."""
    if settings.fixed_now is not None:
        return FixedClock(settings.fixed_now, settings.timezone)
    return SystemClock(settings.timezone)


def format_date(day: date, language: str = "en") -> str:
    """How a date reads in a message: 26 November 2026, 26 november 2026, 26 novembre 2026."""
    return babel_date(day, "d MMMM y", locale=locale_for(language))


def format_month(day: date, language: str = "en") -> str:
    """A bill's month as it reads in a message or on a page: November 2026, november 2026, novembre 2026."""
    return babel_date(day, "LLLL y", locale=locale_for(language))


def format_day_and_month(day: date, language: str = "en") -> str:
    """A date within the year, for instalment and callback lists: 26 November, 26 november, 26 novembre."""
    return babel_date(day, "d MMMM", locale=locale_for(language))


MomentStyle = Literal["time", "day", "day_and_time", "short"]

#: CLDR's "atTime" patterns, which Babel does not offer: "Monday 23 November 2026 at 8:05".
_DAY_AT_TIME = {"en": "{day} at {time}", "nl": "{day} om {time}", "fr": "{day} à {time}"}


def format_moment(moment: datetime, zone: tzinfo | None, style: MomentStyle = "day_and_time", language: str = "en") -> str:
    """A moment as customers and agents read it, in the company's timezone and the reader's language:
    time "8:05", day "Monday 23 November 2026" ("maandag 23 november 2026", "lundi 23 novembre 2026"),
    day_and_time "Monday 23 November 2026 at 8:05", short "Mon 23 Nov 08:05" (the console's lists)."""
    local = moment.astimezone(zone)
    locale = locale_for(language)
    clock_time = babel_time(local, "H:mm", locale=locale)
    day = babel_date(local.date(), "EEEE d MMMM y", locale=locale)
    if style == "time":
        return clock_time
    if style == "day":
        return day
    if style == "short":
        return f"{babel_date(local.date(), 'EEE d MMM', locale=locale)} {babel_time(local, 'HH:mm', locale=locale)}"
    return _DAY_AT_TIME.get(language, _DAY_AT_TIME["en"]).format(day=day, time=clock_time)
