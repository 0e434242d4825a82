"""The dashboard's view of the figures: every CSV row under a figure that docs/kpis.md defines, and the period
a person asks for, with a sentence for each way of asking wrongly."""
from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from settle.clock import FixedClock
from settle.config import Settings
from settle.errors import BadPeriod, UnknownLanguage
from settle.insights import services
from settle.insights.dashboard import language_asked, period_asked, sections
from settle.insights.definitions import definitions
from settle.insights.export import rows
from settle.unit_of_work import UnitOfWork
from tests.conftest import NOW, TODAY


@pytest.mark.parametrize("days, first", [("", date(2026, 10, 24)), ("7", date(2026, 11, 16)), ("90", date(2026, 8, 25))])
def test_the_presets_end_today(days, first):
    assert period_asked(TODAY, days) == (first, TODAY)


def test_a_custom_period_is_taken_as_given():
    assert period_asked(TODAY, "7", " 2026-11-01", "2026-11-30 ") == (date(2026, 11, 1), date(2026, 11, 30))


@pytest.mark.parametrize("days, start, end, says", [
    ("", "2026-11-10", "2026-11-01", "The last day (2026-11-01) is before the first day (2026-11-10)"),
    ("", "yesterday", "2026-11-01", "The first day 'yesterday' is not a date like 2026-11-01"),
    ("", "2026-11-01", "2026-13-01", "The last day '2026-13-01' is not a date like 2026-11-01"),
    ("", "2026-11-01", "", "Give both the first and the last day of the period"),
    ("", "2024-01-01", "2026-11-01", "A period can be at most 366 days long"),
    ("5", "", "", "Choose the last 7, 30, 90 days, or a first and last day"),
])
def test_a_period_asked_wrongly_says_what_to_change(days, start, end, says):
    with pytest.raises(BadPeriod) as refused:
        period_asked(TODAY, days, start, end)
    assert str(refused.value) == says


@pytest.mark.parametrize("asked, language", [("", None), ("all", None), ("nl", "nl"), (" FR ", "fr"), ("en", "en")])
def test_a_language_is_one_settle_speaks_or_all(asked, language):
    assert language_asked(asked) == language


def test_a_language_settle_does_not_speak_says_what_to_choose():
    with pytest.raises(UnknownLanguage) as refused:
        language_asked("de")
    assert str(refused.value) == "Choose all languages or one of en, fr, nl"


def test_the_definitions_are_read_without_markdown():
    figures = definitions().figures
    assert figures["containment.verified"].startswith("Of those, the share that proved who the customer is")
    assert "`" not in "".join(figures.values()) and "**" not in "".join(figures.values())
    assert definitions().sections["cant_pay_now"] == "Can't pay now"


def test_every_exported_row_is_shown_under_a_defined_figure(database_url):
    settings = replace(Settings.from_environment(), database_url=database_url)
    figures = services.figures_for(UnitOfWork(settings, FixedClock(NOW, settings.timezone)), date(2026, 8, 25), TODAY)
    shown = [row for section in sections(figures) for panel in section.panels for row in panel.rows]
    assert shown and sorted(map(repr, shown)) == sorted(map(repr, rows(figures)))
    assert all(panel.definition for section in sections(figures) for panel in section.panels)
