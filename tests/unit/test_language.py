"""The conversation's language: what customers type in Dutch, French and English, and what never flips it."""
from __future__ import annotations

import pytest

from settle.identity.language import (
    STARTING,
    Basis,
    ConversationLanguage,
    current_language,
    decide,
    detected_language,
    requested_language,
    supported,
)

DUTCH = [
    "hallo", "Hallo!", "goeiedag", "Goedemorgen", "dag", "hoi",
    "hoeveel moet ik betalen?", "hoeveel moet ik nog betalen", "hoevel moet ik betalen", "wat is mijn saldo",
    "wanneer moet ik mijn factuur betalen", "tegen wanneer moet de afrekening betaald zijn?",
    "waarom is mijn afrekening zo hoog dit jaar", "mijn voorschotfactuur is te hoog", "ik wil mijn voorschot verlagen",
    "kan ik betalen via domiciliëring?", "ik wil een domiciliëring aanvragen", "kan ik in schijven betalen",
    "kan ik een afbetalingsplan krijgen", "ik heb wat meer tijd nodig om te betalen", "ik wil met iemand praten",
    "kan ik een medewerker spreken", "ik heb mijn werk verloren en kan niet betalen", "het OCMW helpt mij met mijn budget",
    "ik ga niet akkoord met deze factuur", "er klopt iets niet met mijn rekening", "is mijn betaling al binnen?",
    "ik heb gisteren betaald", "kunt u mij een kopie van de factuur sturen", "stuur mij de factuur nog eens aub",
    "mijn klantnummer is 50000017", "ik woon in 9000 Gent", "waarom moet ik zoveel betalen, ik snap het niet",
    "da's toch ni normaal zo'n hoge rekening", "ik wil betalen", "geef mij de betaallink",
    "welke facturen staan er nog open", "hoe kan ik betalen", "bedankt voor de hulp", "tot ziens",
]
FRENCH = [
    "bonjour", "Bonjour !", "salut", "bonsoir", "coucou",
    "combien je dois payer ?", "combien dois-je payer", "cmb je dois payer", "quel est mon solde",
    "quand dois-je payer ma facture", "pour quand faut-il payer la facture de régularisation ?",
    "pourquoi ma facture de régularisation est si élevée", "mon acompte est trop élevé", "je veux diminuer mes acomptes",
    "est-ce que je peux payer par domiciliation ?", "je voudrais mettre en place une domiciliation",
    "je peux payer en plusieurs fois ?", "je voudrais un plan de paiement", "j'ai besoin de plus de temps pour payer",
    "je veux parler à quelqu'un", "je voudrais parler à un conseiller", "j'ai perdu mon emploi et je ne peux pas payer",
    "le CPAS m'aide avec mon budget", "je conteste cette facture", "il y a une erreur sur ma facture",
    "est-ce que mon paiement est arrivé ?", "j'ai payé hier", "pouvez-vous m'envoyer une copie de la facture",
    "renvoyez moi la facture svp", "mon numéro client est 50000017", "j'habite à 4000 Liège",
    "pourquoi je dois payer autant, je comprends pas", "c'est pas normal une facture pareille", "je veux payer",
    "donnez-moi le lien de paiement", "quelles factures sont encore ouvertes", "comment je peux payer",
    "merci pour votre aide", "au revoir",
]
ENGLISH = [
    "hi", "Hello", "hey", "good morning",
    "how much do I owe?", "how much do i have to pay", "how mcuh do I owe", "what is my balance",
    "when do I have to pay my bill", "when is the settlement invoice due?", "why is my bill so high this year",
    "my advance invoice is too high", "can I pay by direct debit?", "can I pay in instalments",
    "I need more time to pay", "I want to talk to a person", "I lost my job and can't pay",
    "I don't agree with this bill", "there is a mistake on my invoice", "has my payment arrived?",
    "I paid yesterday", "can you send me a copy of my bill", "my customer number is 50000017",
    "why do I have to pay so much, I don't get it", "I want to pay", "give me the payment link",
    "which bills are still open", "how can I pay", "thanks for your help", "see you",
]
#: Messages that say nothing about the language: they never flip it, whatever it is.
NEVER_FLIP = [
    "ok", "OK!", "oké", "merci", "Merci!", "ja", "nee", "oui", "non", "yes", "no", "50000017", "1000", "9000",
    "14/02/1985", "INV-2026-000021", "INV-2026-000021 ?", "50000017 1000", "€ 99,04", "99.04", "ok merci", "ja merci",
    "3", "6 maanden", "6 mois", "+32 470 123456", "emma.peeters@example.com", "??", "...", "👍", "", "   ",
    "ok sorry", "CPAS", "OCMW", "Bancontact",
]
#: German is recognised and not spoken: the conversation keeps its language.
GERMAN = ["Ich möchte meine Rechnung bezahlen", "Wie viel muss ich bezahlen?", "Guten Tag, ich habe eine Frage zur Rechnung"]
LABELLED = [(text, "nl") for text in DUTCH] + [(text, "fr") for text in FRENCH] + [(text, "en") for text in ENGLISH]


@pytest.mark.parametrize(("text", "language"), LABELLED)
def test_what_customers_type_is_never_taken_for_another_language(text, language):
    assert detected_language(text) in (language, None)


@pytest.mark.parametrize(("language", "messages"), [("nl", DUTCH), ("fr", FRENCH), ("en", ENGLISH)])
def test_nine_messages_in_ten_are_recognised(language, messages):
    recognised = [text for text in messages if detected_language(text) == language]
    assert len(recognised) >= 0.9 * len(messages)


@pytest.mark.parametrize(("language", "greetings"), [
    ("nl", ["hallo", "Hallo!", "goeiedag", "Goedemorgen", "dag", "hoi"]),
    ("fr", ["bonjour", "Bonjour !", "salut", "bonsoir", "coucou"]),
    ("en", ["hi", "Hello", "hey", "good morning"]),
])
def test_a_greeting_alone_is_enough(language, greetings):
    assert {detected_language(greeting) for greeting in greetings} == {language}


@pytest.mark.parametrize("text", NEVER_FLIP + GERMAN)
def test_short_mixed_and_german_messages_are_no_evidence(text):
    assert detected_language(text) is None


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
@pytest.mark.parametrize("text", NEVER_FLIP + GERMAN)
def test_they_never_flip_the_conversation(language, text):
    for basis in Basis:
        current = ConversationLanguage(language, basis)
        assert decide(current, text) == current


@pytest.mark.parametrize(("text", "language"), [
    ("in het Nederlands a.u.b.", "nl"), ("kan het in het Nederlands?", "nl"), ("Nederlands graag", "nl"),
    ("en néerlandais svp", "nl"), ("in Dutch please", "nl"), ("Nederlands", "nl"), ("spreekt u Nederlands?", "nl"),
    ("en français svp", "fr"), ("en francais stp", "fr"), ("in het Frans aub", "fr"), ("in French please", "fr"),
    ("parlez-vous français ?", "fr"), ("Français", "fr"),
    ("in English please", "en"), ("English please", "en"), ("en anglais s'il vous plaît", "en"),
    ("kan het in het Engels", "en"), ("do you speak English?", "en"), ("English", "en"),
])
def test_an_explicit_request_is_recognised(text, language):
    assert requested_language(text) == language


@pytest.mark.parametrize("text", [
    "not in French, in English", "I don't speak French", "je ne parle pas néerlandais", "ik spreek geen Frans",
    "how much do I owe?", "mijn facture is in het frans en het engels",
])
def test_no_request_when_none_or_two_languages_are_named_or_one_is_refused(text):
    assert requested_language(text) is None


def test_a_conversation_starts_in_english():
    assert STARTING == ConversationLanguage("en", Basis.DEFAULT)
    assert current_language(None, None) == STARTING
    assert current_language("de", "typed") == STARTING
    assert current_language("fr", "nonsense") == ConversationLanguage("fr", Basis.DEFAULT)


def test_a_greeting_is_enough_and_a_confident_message_flips_the_typed_language():
    after_greeting = decide(STARTING, "goeiedag")
    assert after_greeting == ConversationLanguage("nl", Basis.TYPED)
    assert decide(after_greeting, "50000017") == after_greeting
    assert decide(after_greeting, "je veux parler à quelqu'un") == ConversationLanguage("fr", Basis.TYPED)


def test_the_page_language_beats_what_is_typed():
    on_french_page = decide(STARTING, "bonjour", page_language="fr-BE")
    assert on_french_page == ConversationLanguage("fr", Basis.PAGE)
    assert decide(on_french_page, "how much do I owe?", page_language="fr-BE") == on_french_page
    assert decide(on_french_page, "hoeveel moet ik betalen", page_language="nl") == ConversationLanguage("nl", Basis.PAGE)


def test_the_stored_preference_beats_what_is_typed_but_not_the_page():
    typed_english = decide(STARTING, "how much do I owe?")
    verified = decide(typed_english, "14/02/1985", stored_language="nl")
    assert verified == ConversationLanguage("nl", Basis.STORED)
    assert decide(verified, "when do I have to pay it?", stored_language="nl") == verified
    assert decide(verified, "ok", page_language="fr", stored_language="nl") == ConversationLanguage("fr", Basis.PAGE)


def test_an_explicit_request_beats_everything_and_stays():
    asked = decide(ConversationLanguage("nl", Basis.PAGE), "in English please", page_language="nl", stored_language="fr")
    assert asked == ConversationLanguage("en", Basis.REQUESTED)
    assert decide(asked, "hoeveel moet ik betalen", page_language="nl", stored_language="fr") == asked
    assert decide(asked, "en français svp", page_language="nl") == ConversationLanguage("fr", Basis.REQUESTED)


def test_languages_we_do_not_speak_are_ignored():
    assert supported("nl-BE") == "nl"
    assert supported("FR") == "fr"
    assert supported("en_GB") == "en"
    assert supported("de") is None
    assert supported(3) is None
    assert decide(STARTING, "hallo", page_language="de") == ConversationLanguage("nl", Basis.TYPED)
    assert decide(STARTING, "ok", stored_language="es") == STARTING
