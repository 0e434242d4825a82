"""Every response in domain.yml speaks Dutch and French as well as English, with the same values and buttons,
so a designer sees here which response is missing what."""
from __future__ import annotations

from pathlib import Path
from string import Formatter

import pytest
import yaml

DOMAIN = yaml.safe_load((Path(__file__).parents[2] / "domain.yml").read_text(encoding="utf-8"))
RESPONSES = sorted(DOMAIN["responses"])
LANGUAGES = ("nl", "fr")


def variation_language(variation: dict) -> str | None:
    """The language a variation's condition asks for, "en" for the default, None for any other condition."""
    conditions = variation.get("condition") or []
    if not conditions:
        return "en"
    if len(conditions) == 1 and conditions[0].get("type") == "slot" and conditions[0].get("name") == "language":
        return str(conditions[0].get("value"))
    return None


def by_language(response: str) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for variation in DOMAIN["responses"][response]:
        found.setdefault(str(variation_language(variation)), []).append(variation)
    return found


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in Formatter().parse(text) if name}


def payloads(variation: dict) -> list[str]:
    return [button["payload"] for button in variation.get("buttons") or []]


def without_placeholders(text: str) -> str:
    return "".join(literal for literal, _, _, _ in Formatter().parse(text))


def test_the_language_slot_can_choose_variations_without_steering_the_dialogue():
    slot = DOMAIN["slots"]["language"]
    assert slot["influence_conversation"] is False
    assert {"nl", "fr", "en"} <= set(slot["values"])
    assert slot["initial_value"] == "en"


@pytest.mark.parametrize("response", RESPONSES)
def test_english_is_the_one_default(response):
    assert len(by_language(response).get("en", [])) == 1, f"{response}: needs exactly one variation without a condition"
    assert "None" not in by_language(response), f"{response}: has a condition other than the language slot"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("response", RESPONSES)
def test_every_response_has_its_translation(response, language):
    variations = by_language(response).get(language, [])
    assert variations, f"{response}: no variation with condition language = {language}"
    assert all(variation.get("text", "").strip() for variation in variations), f"{response} ({language}): empty text"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("response", RESPONSES)
def test_translations_fill_in_the_same_values(response, language):
    english = by_language(response)["en"][0]
    for variation in by_language(response).get(language, []):
        assert placeholders(variation["text"]) == placeholders(english["text"]), (
            f"{response} ({language}): placeholders {sorted(placeholders(variation['text']))}, "
            f"English has {sorted(placeholders(english['text']))}"
        )


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("response", RESPONSES)
def test_translations_have_the_same_buttons(response, language):
    english = by_language(response)["en"][0]
    for variation in by_language(response).get(language, []):
        assert payloads(variation) == payloads(english), f"{response} ({language}): buttons differ from the English"
        titles = [button["title"] for button in variation.get("buttons") or []]
        english_titles = [button["title"] for button in english.get("buttons") or []]
        assert all(title.strip() for title in titles)
        assert not set(titles) & set(english_titles), f"{response} ({language}): a button title is still English"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("response", RESPONSES)
def test_translations_are_not_the_english_text(response, language):
    english = by_language(response)["en"][0]["text"]
    if not any(character.isalpha() for character in without_placeholders(english)):
        pytest.skip("only values, nothing to translate")
    for variation in by_language(response).get(language, []):
        assert variation["text"] != english, f"{response} ({language}): still the English text"
