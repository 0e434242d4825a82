"""Dates, counts and birth dates typed in Dutch and French are read as their English forms are (issue 15)."""
from __future__ import annotations

from datetime import date

import pytest

from settle.arrangements.plans import parse_date, plan_details_typed, says_stop
from settle.identity.verification import parse_birth_date
from settle.numbers import parse_count
from settle.words import month_names, weekday_names

TODAY = date(2026, 12, 3)  # a Thursday


@pytest.mark.parametrize("text, expected", [
    ("volgende vrijdag", date(2026, 12, 4)),
    ("vendredi prochain", date(2026, 12, 4)),
    ("vrijdag", date(2026, 12, 4)),
    ("lundi", date(2026, 12, 7)),
    ("maandag", date(2026, 12, 7)),
    ("15 maart", date(2027, 3, 15)),
    ("le 15 mars", date(2027, 3, 15)),
    ("op 20 december", date(2026, 12, 20)),
    ("le 1er décembre", date(2027, 12, 1)),
    ("1er decembre", date(2027, 12, 1)),
    ("15 fevrier", date(2027, 2, 15)),
    ("le 15 août", date(2027, 8, 15)),
    ("morgen", date(2026, 12, 4)),
    ("demain", date(2026, 12, 4)),
    ("overmorgen", date(2026, 12, 5)),
    ("deze morgen", TODAY),
    ("ce matin", TODAY),
    ("après-demain", date(2026, 12, 5)),
    ("de 9de", date(2026, 12, 9)),
    ("de 2de", date(2027, 1, 2)),
    ("le 9", date(2026, 12, 9)),
    ("eind deze maand", date(2026, 12, 31)),
    ("fin du mois", date(2026, 12, 31)),
    ("fin du mois prochain", date(2027, 1, 31)),
    ("begin volgende maand", date(2027, 1, 1)),
    ("binnen drie weken", date(2026, 12, 24)),
    ("dans trois semaines", date(2026, 12, 24)),
    ("15/03", date(2027, 3, 15)),
])
def test_a_date_typed_in_dutch_or_french(text, expected):
    assert parse_date(text, TODAY) == expected


@pytest.mark.parametrize("text, expected", [
    ("ik kan betalen op vrijdag denk ik", date(2026, 12, 4)),
    ("je peux payer vendredi prochain", date(2026, 12, 4)),
    ("je paie le 20 décembre", date(2026, 12, 20)),
    ("mijn loon komt op de 25ste", date(2026, 12, 25)),
])
def test_a_date_inside_a_dutch_or_french_sentence(text, expected):
    assert parse_date(text, TODAY) == expected


@pytest.mark.parametrize("text", ["do", "je", "ma", "dag", "ja", "oui", "merci", "ik ben hier", "je sais pas"])
def test_words_that_are_no_date_are_not_read_as_one(text):
    assert parse_date(text, TODAY) is None


def test_english_dates_read_as_before():
    assert parse_date("next friday", TODAY) == date(2026, 12, 4)
    assert parse_date("the 9th", TODAY) == date(2026, 12, 9)
    assert parse_date("15 March", TODAY) == date(2027, 3, 15)
    assert parse_date("tomorrow", TODAY) == date(2026, 12, 4)


@pytest.mark.parametrize("text, expected", [
    ("drie", 3), ("trois", 3), ("zes maanden", 6), ("six mois", 6), ("twaalf", 12), ("douze mois", 12),
    ("vier maand", 4), ("quatre", 4), ("een afbetaling over zes maanden", 6), ("un plan en six fois", 6),
    ("onze factuur in twaalf maanden", 12), ("6", 6), ("six", 6),
])
def test_a_count_in_dutch_or_french(text, expected):
    assert parse_count(text) == expected


def test_no_count_in_an_article_alone():
    assert parse_count("een afbetaling graag") is None
    assert parse_count("un plan de paiement") is None


def test_months_and_first_date_typed_together():
    nl = plan_details_typed("zes maanden vanaf volgende vrijdag", TODAY)
    fr = plan_details_typed("trois mois à partir du 15 mars", TODAY)
    assert (parse_count(nl.months), nl.start) == (6, date(2026, 12, 4))
    assert (parse_count(fr.months), fr.start) == (3, date(2027, 3, 15))


@pytest.mark.parametrize("text", ["3 maart 1985", "3 mars 1985", "le 3 mars 1985", "geboren op 3 maart 1985",
                                  "née le 3 mars 1985", "03/03/1985"])
def test_a_birth_date_in_dutch_or_french(text):
    assert parse_birth_date(text, TODAY) == date(1985, 3, 3)


def test_a_birth_date_with_an_accent_left_out():
    assert parse_birth_date("15 aout 1981", TODAY) == date(1981, 8, 15)
    assert parse_birth_date("1 février 1970", TODAY) == date(1970, 2, 1)


def test_name_tables_come_from_babel_for_all_three_languages():
    months, days = month_names(), weekday_names()
    assert months["maart"] == months["mars"] == months["march"] == 3
    assert months["décembre"] == months["decembre"] == 12
    assert days["vrijdag"] == days["vendredi"] == days["friday"] == 4
    assert "do" not in days and "je" not in days


@pytest.mark.parametrize(("said", "stops"), [
    ("never mind", True), ("laat maar", True), ("nee bedankt", True), ("annuleer het maar", True),
    ("laissez tomber", True), ("non merci", True), ("arrêtez", True),
    ("no wait", False), ("nee wacht, de 9de", False), ("non, le 9", False), ("nee", False), ("non", False),
])
def test_a_no_that_stops_and_a_no_that_corrects_in_three_languages(said, stops):
    assert says_stop(said) is stops
