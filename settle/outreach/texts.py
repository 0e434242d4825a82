"""The chat texts of domain.yml, filled in outside Rasa, so e-mail and SMS say what the chat says, in the
customer's language.

Designers edit every wording in domain.yml, each language as a variation with the condition
`[{type: slot, name: language, value: nl}]` (as the chat picks it); Python only passes values. The file is read once per path
and process, so a changed wording reaches e-mail and SMS when the process restarts, as it does in chat.
"""
from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from settle.errors import TextError

DEFAULT_DOMAIN_FILE = "domain.yml"
#: The language of the variations without a condition.
DEFAULT_LANGUAGE = "en"


def render(
    response: str, values: Mapping[str, Any], domain_path: str | Path = DEFAULT_DOMAIN_FILE, language: str = DEFAULT_LANGUAGE
) -> str:
    """The text variation of `response` for `language` in the domain file (the default one when the language has
    none), with its {placeholders} filled from `values`."""
    texts = _texts(str(Path(domain_path).resolve()))
    template = texts.get((response, language)) or texts.get((response, DEFAULT_LANGUAGE))
    if template is None:
        raise TextError(f"{domain_path}: no response {response!r} with a text", response=response)
    try:
        return template.format_map(values)
    except KeyError as error:
        missing = str(error.args[0]) if error.args else "?"
        raise TextError(
            f"{domain_path}: response {response!r} needs the value {missing!r}, which was not given",
            response=response,
            missing=missing,
        ) from None
    except (ValueError, IndexError, AttributeError) as error:
        raise TextError(f"{domain_path}: response {response!r} has a placeholder that can't be filled ({error})", response=response) from None


def _language_of(variation: dict) -> str | None:
    """The language a variation is for: the default language without a condition, the `language` slot's value
    when that is its one condition, None for any other condition."""
    conditions = variation.get("condition")
    if not conditions:
        return DEFAULT_LANGUAGE
    if isinstance(conditions, list) and len(conditions) == 1 and isinstance(conditions[0], dict):
        condition = conditions[0]
        if condition.get("type") == "slot" and condition.get("name") == "language":
            return str(condition.get("value"))
    return None


@lru_cache(maxsize=8)
def _texts(path: str) -> dict[tuple[str, str], str]:
    """Each response's first text variation per language, read once per resolved path."""
    try:
        # libyaml's loader when PyYAML has it: the domain is long, and the pure-Python one takes a quarter second
        domain = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except OSError as error:
        raise TextError(f"{path}: can't read the domain file ({error.strerror})") from None
    except yaml.YAMLError as error:
        raise TextError(f"{path}: not valid YAML ({' '.join(str(error).split())})") from None
    responses = (domain or {}).get("responses") if isinstance(domain, dict) else None
    texts: dict[tuple[str, str], str] = {}
    for name, variations in (responses or {}).items():
        for variation in variations if isinstance(variations, list) else []:
            if isinstance(variation, dict) and isinstance(variation.get("text"), str):
                language = _language_of(variation)
                if language is not None:
                    texts.setdefault((str(name), language), variation["text"])
    return texts
