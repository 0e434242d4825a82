"""Words for dates and counts in the three languages Settle speaks, so a value typed in Dutch or French
("volgende vrijdag", "le 15 mars", "drie maanden", "3 mars 1985") is read like its English form.

Month and weekday names come from Babel's locale data (nl_BE, fr_BE, en), with the spellings customers type
without accents ("fevrier", "aout", "decembre"). Abbreviated weekdays are left out on purpose: Dutch "do" and
"ma" and French "je" and "me" are ordinary words far more often than days.
"""
from __future__ import annotations

import re
import unicodedata
from functools import cache

from babel.dates import get_day_names, get_month_names

from settle.locales import LOCALES

ENGLISH_MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september",
                  "october", "november", "december"]
ENGLISH_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]

#: Counts in Dutch and French ("drie maanden", "six mois"); the English ones are in settle.numbers. The articles
#: "een", "un", "une" and Dutch "onze" ("our") count only with a unit: "een maand", "un mois", "onze mois".
COUNTS = {
    "één": 1, "een maand": 1, "twee": 2, "drie": 3, "vier": 4, "vijf": 5, "zes": 6, "zeven": 7, "acht": 8,
    "negen": 9, "tien": 10, "elf": 11, "twaalf": 12, "achttien": 18, "vierentwintig": 24, "een jaar": 12,
    "een half jaar": 6, "half jaar": 6, "twee jaar": 24, "een dozijn": 12,
    "un mois": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6, "sept": 7, "huit": 8,
    "neuf": 9, "dix": 10, "onze mois": 11, "douze": 12, "dix-huit": 18, "dix huit": 18, "vingt-quatre": 24,
    "vingt quatre": 24, "un an": 12, "une année": 12, "six mois": 6, "deux ans": 24, "une douzaine": 12,
}


def plain(text: str) -> str:
    """Lower case without accents: "Février" and "fevrier" are the same word to a customer."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@cache
def month_names() -> dict[str, int]:
    """Every month name and abbreviation of en, nl and fr (with and without accents, no dot) → 1..12."""
    names: dict[str, int] = {}
    for locale in LOCALES.values():
        for width in ("wide", "abbreviated"):
            for number, name in get_month_names(width, locale=locale).items():
                for spelling in {name.lower().rstrip("."), plain(name).rstrip(".")}:
                    names[spelling] = number
    names.update({"sept": 9, "maart": 3, "mrt": 3, "fevr": 2, "juil": 7})
    return names


@cache
def weekday_names() -> dict[str, int]:
    """Every full weekday name of en, nl and fr (with and without accents) → 0 (Monday) .. 6."""
    names: dict[str, int] = {}
    for locale in LOCALES.values():
        for number, name in get_day_names("wide", locale=locale).items():
            names[name.lower()] = number
            names[plain(name)] = number
    return names


def _alternation(words) -> str:
    return "|".join(sorted((re.escape(word) for word in words), key=len, reverse=True))


_COUNT = _alternation(COUNTS)


def _day_number(match: re.Match) -> str:
    day = int(match["day"])
    return f"{day}{'th' if 11 <= day <= 13 else {1: 'st', 2: 'nd', 3: 'rd'}.get(day % 10, 'th')}"


def _count_as_digits(match: re.Match) -> str:
    return str(COUNTS[match["count"]]) if match["count"] in COUNTS else match["count"]


@cache
def _rules() -> list[tuple[re.Pattern, object]]:
    """(pattern, replacement) pairs that turn Dutch and French date phrases into English ones, longest first."""
    months = {name: ENGLISH_MONTHS[number - 1] for name, number in month_names().items()}
    weekdays = {name: ENGLISH_WEEKDAYS[number] for name, number in weekday_names().items()}
    month = rf"(?P<month>{_alternation(months)})"
    weekday = rf"(?P<weekday>{_alternation(weekdays)})"
    count = rf"(?P<count>\d+|{_COUNT})"
    rules: list[tuple[str, object]] = [
        # the ends and starts of months
        (r"\b(?:(?:het\s+)?(?:eind|einde)\s+(?:van\s+)?volgende\s+maand|(?:la\s+)?fin\s+du\s+mois\s+prochain)\b",
         "end of next month"),
        (r"\b(?:(?:tegen\s+)?(?:het\s+)?(?:eind|einde)\s+(?:van\s+)?(?:de(?:ze)?\s+)?maand|(?:a\s+|à\s+)?(?:la\s+)?fin\s+(?:du|de\s+ce)\s+mois)\b",
         "end of the month"),
        (r"\b(?:(?:het\s+)?begin\s+(?:van\s+)?volgende\s+maand|(?:au\s+)?d[ée]but\s+du\s+mois\s+prochain)\b",
         "1st of next month"),
        (r"\b(?:(?:het\s+)?(?:eind|einde)\s+volgende\s+week|(?:la\s+)?fin\s+de\s+la\s+semaine\s+prochaine)\b",
         "end of next week"),
        # relative days, weeks and months
        (r"\b(?:overmorgen|apr[eè]s[\s-]demain)\b", "in 2 days"),
        (r"\b(?:vandaag|aujourd'hui|aujourdhui|vanmorgen|vanochtend|deze\s+(?:morgen|ochtend)|ce\s+matin)\b", "today"),
        (r"(?<!deze )(?<!'s )\bmorgen\b(?!\s*(?:ochtend|vroeg))|\bdemain\b", "tomorrow"),
        (r"\bgisteren\b", "yesterday"),  # not French "hier": Dutch "hier" is "here"
        (r"\b(?:volgende|komende)\s+week\b|\b(?:la\s+)?semaine\s+prochaine\b", "next week"),
        (r"\b(?:volgende|komende)\s+maand\b|\b(?:le\s+)?mois\s+prochain\b", "next month"),
        (r"\bvorige\s+week\b|\b(?:la\s+)?semaine\s+(?:pass[ée]e|derni[èe]re)\b", "last week"),
        (r"\bvorige\s+maand\b|\b(?:le\s+)?mois\s+(?:pass[ée]|dernier)\b", "last month"),
        (rf"\b(?:binnen|over|in|dans)\s+{count}\s+(?:weken|week|semaines?)\b", lambda m: f"in {_count_as_digits(m)} weeks"),
        (rf"\b(?:binnen|over|in|dans)\s+{count}\s+(?:dagen|dag|jours?)\b", lambda m: f"in {_count_as_digits(m)} days"),
        (rf"\b{count}\s+(?:weken|semaines)\b", lambda m: f"{_count_as_digits(m)} weeks"),
        # weekdays: "volgende vrijdag", "vendredi prochain", "deze vrijdag", "ce vendredi"
        (rf"\b(?:volgende|komende)\s+{weekday}\b", lambda m: "next " + weekdays[m["weekday"]]),
        (rf"\b(?:le\s+)?{weekday}\s+(?:prochain|qui\s+vient)\b", lambda m: "next " + weekdays[m["weekday"]]),
        (rf"\b(?:deze|ce)\s+{weekday}\b", lambda m: "this " + weekdays[m["weekday"]]),
        # days: "de 9de", "de 9e", "le 9", "le 1er", "1er décembre", "15 maart", "le 15 mars"
        (rf"\b(?:le\s+|op\s+)?(?P<day>\d{{1,2}})(?:er|e|ème|eme|ste|de|ste)?\s+{month}\b",
         lambda m: f"{int(m['day'])} {months[m['month']]}"),
        (r"\bde\s+(?P<day>\d{1,2})(?:e|de|ste|ste)\b", _day_number),
        (r"\b(?:le|du|au)\s+(?P<day>\d{1,2})(?:er|e|ème|eme)?(?=\s*$|\s*[,.!?])", _day_number),
        (r"^(?P<day>\d{1,2})(?:e|de|ste|er|ème|eme)$", _day_number),
        (rf"\b{month}\b", lambda m: months[m["month"]]),
        (rf"\b{weekday}\b", lambda m: weekdays[m["weekday"]]),
        # words around a date that the English rules would not skip
        (r"^(?:op|tegen|tot|voor|vanaf|le|la|pour|jusqu'au|jusqu'à|à partir du|à partir de|a partir du|vers)\s+", ""),
    ]
    return [(re.compile(pattern), replacement) for pattern, replacement in rules]


def dates_in_english(phrase: str) -> str:
    """The phrase with its Dutch and French date words in English ("volgende vrijdag" → "next friday",
    "le 15 mars" → "15 march", "de 9de" → "the 9th"); English phrases come back as they were."""
    for pattern, replacement in _rules():
        phrase = pattern.sub(replacement, phrase)
    return re.sub(r"\s+", " ", phrase).strip()


#: Times of day as customers type them ("om 10 uur", "14u30", "à 10h", "vers 10 heures", "around 10"), and day
#: parts, which dateparser does not read; the hour alone says when.
_TIME_RULES = [
    (re.compile(r"\b(?P<hour>\d{1,2})\s*(?:u|h|uur|heures?)\s*(?P<minutes>\d{2})\b"), r"\g<hour>:\g<minutes>"),
    (re.compile(r"\b(?P<hour>\d{1,2})\s*(?:u|h|uur|heures?)(?!\w)"), r"\g<hour>:00"),
    (re.compile(r"\b(?:morgen(?:vroeg|ochtend|voormiddag|middag|namiddag))\b"), "tomorrow"),
    (re.compile(r"(?:'s\s+(?:ochtends|morgens|middags|namiddags)|\bin\s+de\s+(?:voormiddag|namiddag|ochtend)|"
                r"\b(?:(?:du|le|dans\s+la|en)\s+)?(?:matinee|matin|apres[\s-]midi)\b|"
                r"\b(?:in\s+the\s+)?(?:morning|afternoon)\b)"), " "),
    (re.compile(r"\b(?:om|rond|omstreeks|tegen|a|vers|around|about)\s+(?=\d)"), "at "),
]


def times_in_english(phrase: str) -> str:
    """The phrase with its date words (see dates_in_english) and times of day in the English form dateparser reads:
    "morgen om 10 uur" → "tomorrow at 10:00", "lundi à 14h30" → "monday at 14:30"."""
    phrase = plain(phrase)
    for pattern, replacement in _TIME_RULES:
        phrase = pattern.sub(replacement, phrase)
    return dates_in_english(phrase)


#: Words that make a phrase without digits a date: dateparser reads Dutch "do" and French "je" as Thursday.
DATE_WORDS = re.compile(
    r"\b(?:today|tomorrow|yesterday|tonight|day|days|week|weeks|weekend|fortnight|month|months|year|years|"
    + "|".join(ENGLISH_MONTHS + ENGLISH_WEEKDAYS) + r")\b"
)


def names_a_date(phrase: str) -> bool:
    """Whether a phrase (already in English words) has digits or a real date word in it."""
    return bool(re.search(r"\d", phrase) or DATE_WORDS.search(dates_in_english(plain(phrase))))
