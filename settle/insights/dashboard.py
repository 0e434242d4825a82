"""The figures as the dashboard shows them: the CSV's rows (one way of listing them) grouped by section and
figure, each with its definition from docs/kpis.md; and the period a person asked for."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from settle.errors import BadPeriod, UnknownLanguage
from settle.identity.language import SUPPORTED
from settle.insights.definitions import definitions
from settle.insights.export import FigureRow, rows
from settle.insights.figures import Figures

#: The periods offered in one click, in days up to today; the default first.
PRESET_DAYS = (30, 7, 90)
#: The longest custom period, so a page stays fast.
MAX_DAYS = 366


@dataclass(frozen=True)
class Bar:
    label: str
    #: What the bar's length stands for (0 when the value is empty); the text shows the row as it is.
    size: Decimal
    row: FigureRow


@dataclass(frozen=True)
class Panel:
    """One figure: a single value, or a breakdown (one bar per stage, channel, reason, agent ...)."""

    name: str
    definition: str
    rows: tuple[FigureRow, ...]

    @property
    def broken_down(self) -> bool:
        return any(row.breakdown for row in self.rows)

    @property
    def unit(self) -> str:
        return self.rows[0].unit

    def bars(self) -> list[Bar]:
        return [Bar(row.breakdown, _number(row.value), row) for row in self.rows]

    @property
    def largest(self) -> Decimal:
        """The scale of a breakdown's bars: 100 for shares, else its largest value (at least 1)."""
        if self.unit == "%":
            return Decimal(100)
        return max([Decimal(1)] + [bar.size for bar in self.bars()])


@dataclass(frozen=True)
class Section:
    name: str
    title: str
    panels: tuple[Panel, ...]


def sections(figures: Figures) -> list[Section]:
    """The figures in the order of docs/kpis.md; a broken-down figure with no rows still gets its panel."""
    known = definitions()
    by_figure: dict[str, list[FigureRow]] = {}
    for row in rows(figures):
        by_figure.setdefault(f"{row.section}.{row.figure}", []).append(row)
    result = []
    for section, title in known.sections.items():
        panels = tuple(
            Panel(name, definition, tuple(by_figure.get(name, ())))
            for name, definition in known.figures.items() if name.startswith(f"{section}.")
        )
        result.append(Section(section, title, panels))
    return result


def period_asked(today: date, days: str = "", start: str = "", end: str = "") -> tuple[date, date]:
    """The first and last day a person asked for: the last `days` days up to today (7, 30 or 90), or from
    `start` to `end` (ISO dates, both given); the last 30 days when nothing is asked.

    Raises:
        BadPeriod: with a sentence that says what to change.
    """
    start, end = (start or "").strip(), (end or "").strip()
    if start or end:
        if not (start and end):
            raise BadPeriod("Give both the first and the last day of the period")
        first, last = _day(start, "first"), _day(end, "last")
        if last < first:
            raise BadPeriod(f"The last day ({last.isoformat()}) is before the first day ({first.isoformat()})")
        if (last - first).days + 1 > MAX_DAYS:
            raise BadPeriod(f"A period can be at most {MAX_DAYS} days long")
        return first, last
    chosen = (days or str(PRESET_DAYS[0])).strip()
    if chosen not in {str(preset) for preset in PRESET_DAYS}:
        raise BadPeriod(f"Choose the last {', '.join(str(p) for p in sorted(PRESET_DAYS))} days, or a first and last day")
    return today - timedelta(days=int(chosen) - 1), today


def language_asked(language: str = "") -> str | None:
    """The language a person chose ("en", "nl", "fr"), or None for all of them (nothing, or "all").

    Raises:
        UnknownLanguage: with a sentence that says what to choose.
    """
    chosen = (language or "").strip().lower()
    if chosen in ("", "all"):
        return None
    if chosen not in SUPPORTED:
        raise UnknownLanguage(f"Choose all languages or one of {', '.join(sorted(SUPPORTED))}")
    return chosen


def _day(text: str, which: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadPeriod(f"The {which} day {text[:20]!r} is not a date like 2026-11-01") from None


def _number(value: str) -> Decimal:
    return max(Decimal(value), Decimal(0)) if value else Decimal(0)
