"""Dates and moments as customers read them, in their language (Babel); English exactly as it always was."""
from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from settle.clock import format_date, format_moment

BRUSSELS = ZoneInfo("Europe/Brussels")
MORNING = datetime(2026, 11, 23, 7, 5, tzinfo=timezone.utc)  # 8:05 in Brussels


@pytest.mark.parametrize(("language", "expected"), [
    ("en", "26 November 2026"), ("nl", "26 november 2026"), ("fr", "26 novembre 2026"), ("es", "26 November 2026"),
])
def test_a_date_in_each_language(language, expected):
    assert format_date(date(2026, 11, 26), language) == expected


def test_a_date_reads_in_english_by_default():
    assert format_date(date(2026, 9, 1)) == "1 September 2026"


@pytest.mark.parametrize(("style", "language", "expected"), [
    ("time", "en", "8:05"),
    ("day", "en", "Monday 23 November 2026"),
    ("day_and_time", "en", "Monday 23 November 2026 at 8:05"),
    ("short", "en", "Mon 23 Nov 08:05"),
    ("time", "nl", "8:05"),
    ("day", "nl", "maandag 23 november 2026"),
    ("day_and_time", "nl", "maandag 23 november 2026 om 8:05"),
    ("day", "fr", "lundi 23 novembre 2026"),
    ("day_and_time", "fr", "lundi 23 novembre 2026 à 8:05"),
])
def test_a_moment_in_each_language_in_the_companys_timezone(style, language, expected):
    assert format_moment(MORNING, BRUSSELS, style, language) == expected


def test_a_moment_reads_in_english_by_default():
    assert format_moment(MORNING, BRUSSELS) == "Monday 23 November 2026 at 8:05"
    assert format_moment(datetime(2026, 9, 7, 16, 30, tzinfo=timezone.utc), BRUSSELS, "short") == "Mon 7 Sep 18:30"
