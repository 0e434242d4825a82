"""When people from the team are there to take a chat, read from one line of configuration.

The line is `SETTLE_OFFICE_HOURS`, e.g. "Mon-Fri 08:00-18:00; Sat 09:00-12:00", in the company's
timezone. "24:00" ends a period at midnight, so "Mon-Sun 00:00-24:00" means always open.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel.dates import get_day_names

from settle.locales import locale_for

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: How a span of days and its hours read in a message, after "Our team is there" / "Ons team is er" / "Notre
#: équipe est là"; the day names come from Babel (CLDR), in the reader's language.
_DAYS = {"en": "{first} to {last}", "nl": "{first} tot {last}", "fr": "du {first} au {last}"}
_ONE_DAY = {"en": "{day}", "nl": "{day}", "fr": "le {day}"}
_HOURS = {"en": "{days} {start} to {end}", "nl": "{days} van {start} tot {end}", "fr": "{days} de {start} à {end}"}
_PERIOD = re.compile(r"^(?P<first>[a-z]{3})(?:\s*-\s*(?P<last>[a-z]{3}))?\s+(?P<start>\d{1,2}:\d\d)\s*-\s*(?P<end>\d{1,2}:\d\d)$")


@dataclass(frozen=True)
class Period:
    """Open on `weekday` (0 = Monday) from `start` up to `end` minutes after midnight."""

    weekday: int
    start: int
    end: int


@dataclass(frozen=True)
class OfficeHours:
    periods: tuple[Period, ...]
    zone: ZoneInfo
    text: str

    @classmethod
    def parse(cls, text: str, timezone: str) -> OfficeHours:
        """Reads "Mon-Fri 08:00-18:00; Sat 09:00-12:00".

        Raises:
            ValueError: the line can't be read; the message names the part and shows the format.
        """
        periods = []
        for part in filter(None, (piece.strip().lower() for piece in (text or "").split(";"))):
            match = _PERIOD.match(part)
            if not match or match["first"] not in DAYS or (match["last"] and match["last"] not in DAYS):
                raise ValueError(f"office hours: can't read {part!r}; write e.g. 'Mon-Fri 08:00-18:00; Sat 09:00-12:00'")
            start, end = _minutes(match["start"]), _minutes(match["end"])
            if not 0 <= start < end <= 24 * 60:
                raise ValueError(f"office hours: {part!r} must start before it ends, between 00:00 and 24:00")
            first = DAYS.index(match["first"])
            last = DAYS.index(match["last"] or match["first"])
            if last < first:
                raise ValueError(f"office hours: in {part!r} the days run backwards; write e.g. 'Mon-Fri'")
            periods += [Period(day, start, end) for day in range(first, last + 1)]
        if not periods:
            raise ValueError("office hours are empty; write e.g. 'Mon-Fri 08:00-18:00'")
        return cls(tuple(sorted(periods, key=lambda p: (p.weekday, p.start))), ZoneInfo(timezone), text)

    def is_open(self, at: datetime) -> bool:
        """Whether an agent can be expected at this instant."""
        local = at.astimezone(self.zone)
        minute = local.hour * 60 + local.minute
        return any(p.weekday == local.weekday() and p.start <= minute < p.end for p in self.periods)

    def next_opening(self, at: datetime) -> datetime:
        """The first instant from `at` on when the office is open (`at` itself when it is open now)."""
        if self.is_open(at):
            return at
        local = at.astimezone(self.zone)
        minute = local.hour * 60 + local.minute
        for days_ahead in range(8):
            day = local.date() + timedelta(days=days_ahead)
            for period in self.periods:
                if period.weekday == day.weekday() and (days_ahead or period.start > minute):
                    opening = datetime.combine(day, time(period.start // 60, period.start % 60), self.zone)
                    return opening.astimezone(at.tzinfo)
        raise AssertionError("parse() guarantees at least one period in every week")

    def describe(self, language: str = "en") -> str:
        """The hours in words for a message: "Monday to Friday 8:00 to 18:00, Saturday 9:00 to 12:00",
        "maandag tot vrijdag van 8:00 tot 18:00", "du lundi au vendredi de 8:00 à 18:00"."""
        language = language if language in _HOURS else "en"
        names = get_day_names("wide", locale=locale_for(language))
        spans: list[tuple[int, int, int, int]] = []  # first day, last day, start, end
        for period in self.periods:
            if spans and spans[-1][1] == period.weekday - 1 and spans[-1][2:] == (period.start, period.end):
                spans[-1] = (spans[-1][0], period.weekday, period.start, period.end)
            else:
                spans.append((period.weekday, period.weekday, period.start, period.end))
        words = []
        for first, last, start, end in spans:
            if first == last:
                days = _ONE_DAY[language].format(day=names[first])
            else:
                days = _DAYS[language].format(first=names[first], last=names[last])
            words.append(_HOURS[language].format(days=days, start=_clock(start), end=_clock(end)))
        return ", ".join(words)


def _minutes(clock: str) -> int:
    hours, minutes = (int(n) for n in clock.split(":"))
    if minutes > 59:
        raise ValueError(f"office hours: {clock} is not a time of day")
    return hours * 60 + minutes


def _clock(minutes: int) -> str:
    return f"{minutes // 60}:{minutes % 60:02d}"
