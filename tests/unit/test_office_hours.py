"""Office hours: when a person can join the chat, judged in the company's timezone."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from settle.handoff.office_hours import OfficeHours

BRUSSELS = ZoneInfo("Europe/Brussels")
WEEKDAYS = "Mon-Fri 08:00-18:00"


def hours(text: str = WEEKDAYS) -> OfficeHours:
    return OfficeHours.parse(text, "Europe/Brussels")


def local(year, month, day, hour, minute=0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BRUSSELS)


# 2026-11-23 is a Monday, 2026-11-27 a Friday, 2026-11-28 a Saturday.
@pytest.mark.parametrize("at, is_open", [
    (local(2026, 11, 23, 10), True),
    (local(2026, 11, 27, 17, 59), True),
    (local(2026, 11, 23, 8, 0), True),    # opens at 08:00 sharp
    (local(2026, 11, 23, 7, 59), False),
    (local(2026, 11, 23, 18, 0), False),  # closed at 18:00 sharp
    (local(2026, 11, 28, 10), False),     # Saturday
    (local(2026, 11, 29, 10), False),     # Sunday
])
def test_weekday_hours(at, is_open):
    assert hours().is_open(at) is is_open


def test_an_instant_in_utc_is_judged_in_brussels_time():
    assert hours().is_open(datetime(2026, 11, 23, 7, 30, tzinfo=timezone.utc))  # 08:30 in Brussels (winter)
    assert not hours().is_open(datetime(2026, 11, 23, 17, 30, tzinfo=timezone.utc))  # 18:30 in Brussels
    assert hours().is_open(datetime(2026, 7, 6, 6, 30, tzinfo=timezone.utc))  # 08:30 in Brussels (summer)
    assert not hours().is_open(datetime(2026, 7, 6, 16, 30, tzinfo=timezone.utc))  # 18:30 in Brussels


def test_friday_evening_next_opening_is_monday_morning():
    opening = hours().next_opening(local(2026, 11, 27, 19))
    assert opening == local(2026, 11, 30, 8)
    assert opening.astimezone(BRUSSELS).strftime("%A %H:%M") == "Monday 08:00"


def test_before_opening_the_next_opening_is_the_same_morning():
    assert hours().next_opening(local(2026, 11, 24, 6, 15)) == local(2026, 11, 24, 8)


def test_next_opening_of_an_instant_in_utc_is_in_utc():
    opening = hours().next_opening(datetime(2026, 11, 27, 18, 0, tzinfo=timezone.utc))  # Friday 19:00 in Brussels
    assert opening == datetime(2026, 11, 30, 7, 0, tzinfo=timezone.utc)
    assert opening.utcoffset().total_seconds() == 0


def test_next_opening_across_the_change_to_summer_time():
    # Clocks go forward on Sunday 29 March 2026: Monday 08:00 is 06:00 UTC, not 07:00.
    opening = hours().next_opening(local(2026, 3, 27, 19))
    assert opening == datetime(2026, 3, 30, 6, 0, tzinfo=timezone.utc)


def test_when_open_next_opening_is_the_instant_itself():
    at = local(2026, 11, 25, 11, 42)
    assert hours().next_opening(at) == at


def test_always_open():
    always = hours("Mon-Sun 00:00-24:00")
    for at in (local(2026, 11, 28, 0, 0), local(2026, 11, 29, 23, 59), local(2026, 11, 25, 12), local(2026, 3, 29, 2, 30)):
        assert always.is_open(at)


def test_several_periods():
    week_and_saturday = hours("Mon-Fri 08:00-18:00; Sat 09:00-12:00")
    assert week_and_saturday.is_open(local(2026, 11, 28, 9, 0))
    assert week_and_saturday.is_open(local(2026, 11, 28, 11, 59))
    assert not week_and_saturday.is_open(local(2026, 11, 28, 12, 0))
    assert not week_and_saturday.is_open(local(2026, 11, 28, 8, 30))
    assert week_and_saturday.is_open(local(2026, 11, 27, 17))
    assert week_and_saturday.next_opening(local(2026, 11, 27, 19)) == local(2026, 11, 28, 9)
    assert week_and_saturday.next_opening(local(2026, 11, 28, 12, 30)) == local(2026, 11, 30, 8)


def test_written_in_any_case_and_spacing():
    assert hours("mon - fri 8:00 - 18:00").is_open(local(2026, 11, 23, 8))


@pytest.mark.parametrize("text, words", [
    ("Mon-Fri 08:00-18:00; Sat 09:00-12:00", "Monday to Friday 8:00 to 18:00, Saturday 9:00 to 12:00"),
    ("Mon-Fri 08:00-18:00", "Monday to Friday 8:00 to 18:00"),
    ("Sat 09:30-12:00", "Saturday 9:30 to 12:00"),
    ("Mon-Sun 00:00-24:00", "Monday to Sunday 0:00 to 24:00"),
    ("Mon-Wed 08:00-18:00; Thu-Fri 08:00-20:00", "Monday to Wednesday 8:00 to 18:00, Thursday to Friday 8:00 to 20:00"),
])
def test_describe_in_words(text, words):
    assert hours(text).describe() == words


@pytest.mark.parametrize("text, says", [
    ("whenever you like", "can't read 'whenever you like'"),
    ("Mon-Fri 8-18", "can't read"),
    ("Xyz 08:00-18:00", "can't read"),
    ("", "empty"),
    ("  ;  ", "empty"),
    ("Mon-Fri 18:00-08:00", "must start before it ends"),
    ("Mon 09:00-09:00", "must start before it ends"),
    ("Fri-Mon 08:00-18:00", "days run backwards"),
    ("Mon 08:00-25:00", "between 00:00 and 24:00"),
    ("Mon 25:00-26:00", "between 00:00 and 24:00"),
    ("Mon 08:60-18:00", "not a time of day"),
])
def test_unreadable_hours_are_refused_with_a_clear_message(text, says):
    with pytest.raises(ValueError) as refused:
        hours(text)
    assert says in str(refused.value)


def test_the_refusal_shows_the_format_to_use():
    with pytest.raises(ValueError, match="Mon-Fri 08:00-18:00"):
        hours("garbage")


@pytest.mark.parametrize("language, words", [
    ("nl", "maandag tot vrijdag van 8:00 tot 18:00, zaterdag van 9:00 tot 12:00"),
    ("fr", "du lundi au vendredi de 8:00 à 18:00, le samedi de 9:00 à 12:00"),
    ("en", "Monday to Friday 8:00 to 18:00, Saturday 9:00 to 12:00"),
])
def test_describe_in_the_customers_language(language, words):
    assert hours("Mon-Fri 08:00-18:00; Sat 09:00-12:00").describe(language) == words
