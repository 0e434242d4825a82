"""Every figure of a period as flat rows, for a CSV file (and any page that lists them).

A row names its section and figure as docs/kpis.md does; a breakdown (a stage and channel, a reason, an
agent) goes in its own column. A share with nothing to divide by has an empty value and says so."""
from __future__ import annotations

import csv
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any, TextIO

from settle.insights.figures import Average, Figures, Median, Share

HEADER = ("section", "figure", "breakdown", "value", "unit", "note")


@dataclass(frozen=True)
class FigureRow:
    section: str
    figure: str
    breakdown: str
    value: str
    unit: str
    note: str


def rows(figures: Figures) -> list[FigureRow]:
    """One row per figure, and per breakdown of a figure that has one, in the order of docs/kpis.md."""
    result = []
    for section in fields(figures):
        if section.name in ("period", "language"):
            continue
        group = getattr(figures, section.name)
        for figure in fields(group):
            value = getattr(group, figure.name)
            if isinstance(value, tuple):
                result += [row for item in value for row in _breakdown_rows(section.name, figure.name, item)]
            else:
                result.append(_row(section.name, figure.name, "", value))
    return result


def write_csv(figures: Figures, out: TextIO) -> None:
    """The rows as CSV, after a line per end of the period and one for the language they are in."""
    writer = csv.writer(out)
    writer.writerow(HEADER)
    writer.writerow(("period", "from", "", figures.period.start.isoformat(), "date", "first day, included"))
    writer.writerow(("period", "to", "", figures.period.end.isoformat(), "date", "last day, included"))
    writer.writerow(("period", "language", "", figures.language or "all", "language",
                     "the customer's language for money and reminders, the chat's for chats" if figures.language
                     else "every language"))
    for row in rows(figures):
        writer.writerow((row.section, row.figure, row.breakdown, row.value, row.unit, row.note))


def _breakdown_rows(section: str, figure: str, item: Any) -> list[FigureRow]:
    """An item of a broken-down figure: its text fields name the breakdown, each other field is a measure."""
    labels = [f for f in fields(item) if isinstance(getattr(item, f.name), str)]
    measures = [f for f in fields(item) if f not in labels]
    breakdown = " / ".join(getattr(item, f.name) for f in labels)
    if len(measures) == 1:
        return [_row(section, figure, breakdown, getattr(item, measures[0].name))]
    return [_row(section, f"{figure}.{m.name}", breakdown, getattr(item, m.name)) for m in measures]


def _row(section: str, figure: str, breakdown: str, value: Any) -> FigureRow:
    if isinstance(value, Share):
        if value.percent is None:
            return FigureRow(section, figure, breakdown, "", "%", "no cases: nothing to divide by")
        return FigureRow(section, figure, breakdown, str(value.percent), "%", f"{value.part} of {value.whole}")
    if isinstance(value, Median):
        if value.seconds is None:
            return FigureRow(section, figure, breakdown, "", "seconds", "no cases")
        return FigureRow(section, figure, breakdown, str(value.seconds), "seconds", f"median of {value.cases}")
    if isinstance(value, Average):
        if value.value is None:
            return FigureRow(section, figure, breakdown, "", "mean", "no cases")
        return FigureRow(section, figure, breakdown, str(value.value), "mean", f"mean of {value.cases}")
    if isinstance(value, Decimal):
        return FigureRow(section, figure, breakdown, str(value), "EUR", "")
    if isinstance(value, int):
        return FigureRow(section, figure, breakdown, str(value), "count", "")
    raise TypeError(f"no way to export {figure} ({type(value).__name__})")
