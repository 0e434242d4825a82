"""Which language a conversation is in: Dutch, French or English.

Four signals can set it. From strongest to weakest:

1. an explicit request in the message ("in het Nederlands a.u.b.", "en français svp", "in English please");
2. the page's or app's `language` (the site or app language the customer chose), sent with every message;
3. the verified customer's stored preference (`customers.language`);
4. what the customer types, when the detector is confident (a greeting such as "hallo" or "bonjour" is enough).

A signal changes the language only when it is at least as strong as the one that set the current language, so
"in English please" on a Dutch page stays English, a verified customer's preference is not undone by one French
sentence, and a confident Dutch message still flips an English start. Short or mixed messages (numbers,
postcodes, "ok", "merci", customer and invoice numbers) are no evidence of anything and never flip it; German is
detected but not spoken, so it keeps the current language. See docs/languages.md for the figures.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

from settle.models import StrEnum

SUPPORTED = ("nl", "fr", "en")
DEFAULT_LANGUAGE = "en"

#: The detector's top language must have at least this share of the confidence, and lead the next one by this much.
MIN_CONFIDENCE = 0.45
MIN_LEAD = 0.25
#: Fewer words than this (after leaving out numbers and words every language uses) are no evidence.
MIN_WORDS = 2


class Basis(StrEnum):
    """What set the conversation's language, weakest first (the order is the precedence)."""

    DEFAULT = "default"
    TYPED = "typed"
    STORED = "stored"
    PAGE = "page"
    REQUESTED = "requested"

    @property
    def strength(self) -> int:
        return list(Basis).index(self)


@dataclass(frozen=True)
class ConversationLanguage:
    language: str
    basis: Basis


STARTING = ConversationLanguage(DEFAULT_LANGUAGE, Basis.DEFAULT)

_NAMES = {
    "nl": r"(?:nederlands|vlaams|dutch|flemish|n[ée]erlandais|flamand)",
    "fr": r"(?:frans|fran[cç]ais|french)",
    "en": r"(?:engels|english|anglais)",
}
_PLEASE = r"(?:please|pls|graag|a\.?u\.?b\.?|alsjeblieft|alstublieft|aub|svp|s'il vous pla[iî]t|stp|s'il te pla[iî]t)"
_ASK = r"(?:in|en|op)(?:\s+(?:het|'t|t))?"
_SPEAK = r"(?:speak|talk|spreek|spreekt|spreken|praten|parle|parlez|parler|respond|answer|antwoord)"
_NOT = re.compile(r"\b(?:not|don'?t|can'?t|niet|geen|pas|jamais|never)\b", re.IGNORECASE)
_ASKED = {
    language: re.compile(rf"(?:\b{_ASK}\s+{name}\b|\b{name}\s*,?\s*{_PLEASE}|^\W*{name}\W*$)", re.IGNORECASE)
    for language, name in _NAMES.items()
}
_SPOKEN = {language: re.compile(rf"\b{_SPEAK}\b.*\b{name}\b", re.IGNORECASE) for language, name in _NAMES.items()}

GREETINGS = {
    "nl": {"hallo", "hoi", "dag", "goeiedag", "goededag", "goedendag", "goeiemorgen", "goedemorgen", "goeiemiddag",
           "goedemiddag", "goeienavond", "goedenavond", "hallo daar", "dag allemaal"},
    "fr": {"bonjour", "bonsoir", "salut", "coucou", "bonjour madame", "bonjour monsieur", "bjr", "slt"},
    "en": {"hi", "hello", "hey", "hiya", "good morning", "good afternoon", "good evening", "hi there", "hello there"},
}
_GREETING_LANGUAGE = {greeting: language for language, words in GREETINGS.items() for greeting in words}

#: Words Belgians use whatever language they speak, and the chat's own short answers: no evidence either way.
NEUTRAL_WORDS = {
    "ok", "oke", "oké", "okay", "okey", "merci", "sorry", "ja", "nee", "neen", "oui", "non", "yes", "no", "euro",
    "euros", "eur", "kwh", "iban", "bic", "pdf", "sms", "email", "mail", "e-mail", "bancontact", "payconiq", "visa",
    "mastercard", "inv", "nr", "ref", "cpas", "ocmw", "app", "link", "www", "ah", "oh", "euh", "uh", "hm",
    "hmm", "top", "super", "thx", "tx", "xx", "x",
}

_TOKEN = re.compile(r"\S+")
_WORD = re.compile(r"^[^\W\d_]+(?:[-'’][^\W\d_]+)*$")
_LINGUA = {Language.DUTCH: "nl", Language.FRENCH: "fr", Language.ENGLISH: "en", Language.GERMAN: "de"}


def supported(language: object) -> str | None:
    """'nl', 'fr' or 'en' for a language tag we speak ('nl-BE', 'FR', 'en_GB'), else None."""
    if not isinstance(language, str):
        return None
    code = language.strip().lower().replace("_", "-").split("-")[0]
    return code if code in SUPPORTED else None


def requested_language(text: str) -> str | None:
    """The language the customer explicitly asks for in this message ("in het Nederlands a.u.b.", "English please",
    "parlez-vous français ?"), or None, also when they name two or say which one they don't speak."""
    speaking = not _NOT.search(text)
    asked = [language for language in SUPPORTED
             if _ASKED[language].search(text) or (speaking and _SPOKEN[language].search(text))]
    return asked[0] if len(asked) == 1 else None


def _words(text: str) -> list[str]:
    """The message's words in lower case, without numbers, identifiers ("INV-2026-000021"), addresses or links."""
    words = []
    for token in _TOKEN.findall(unicodedata.normalize("NFC", text.lower())):
        word = token.strip(".,;:!?()[]{}\"«»“”'’…-/")
        if _WORD.match(word):
            words.append(word)
    return words


@cache
def _detector() -> LanguageDetector:
    """Built once with the four languages' models loaded (a few seconds), then reused."""
    return LanguageDetectorBuilder.from_languages(*_LINGUA).with_preloaded_language_models().build()


def warm_up() -> None:
    """Loads the detector's models now, so that a server's first customer does not wait for them."""
    _detector()


def detected_language(text: str) -> str | None:
    """The language of what the customer typed, only when it is clear: a greeting, or enough words the detector is
    confident about. None for short, mixed or German messages (German is not spoken: nothing changes)."""
    words = _words(text)
    greeting = " ".join(words)
    if greeting in _GREETING_LANGUAGE:
        return _GREETING_LANGUAGE[greeting]
    content = [word for word in words if word not in NEUTRAL_WORDS and len(word) > 1]
    if len(content) < MIN_WORDS:
        return None
    confidences = _detector().compute_language_confidence_values(" ".join(content))
    best, runner_up = confidences[0], confidences[1]
    if best.value < MIN_CONFIDENCE or best.value - runner_up.value < MIN_LEAD:
        return None
    return supported(_LINGUA[best.language])


def decide(current: ConversationLanguage, text: str, page_language: object = None,
           stored_language: object = None) -> ConversationLanguage:
    """The conversation's language after this message: the strongest signal present, unless a stronger one set
    the current language (see the module's docstring)."""
    signals = (
        (Basis.REQUESTED, requested_language(text)),
        (Basis.PAGE, supported(page_language)),
        (Basis.STORED, supported(stored_language)),
        (Basis.TYPED, detected_language(text)),
    )
    for basis, language in signals:
        if language is not None and basis.strength >= current.basis.strength:
            return ConversationLanguage(language, basis)
    return current


def current_language(language: object, basis: object) -> ConversationLanguage:
    """The conversation's language as it was stored (slots), or the start for anything unknown."""
    code = supported(language)
    if code is None:
        return STARTING
    known = basis if isinstance(basis, str) and basis in {b.value for b in Basis} else Basis.DEFAULT
    return ConversationLanguage(code, Basis(known))
