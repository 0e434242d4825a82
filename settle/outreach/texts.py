"""The chat texts of domain.yml, filled in outside Rasa, so e-mail and SMS say what the chat says.

Designers edit every wording in domain.yml; Python only passes values. The file is read once per path
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



def render(response: str, values: Mapping[str, Any], domain_path: str | Path = DEFAULT_DOMAIN_FILE) -> str:
    """The first text variation of `response` in the domain file, with its {placeholders} filled from `values`."""
    template = _texts(str(Path(domain_path).resolve())).get(response)
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


@lru_cache(maxsize=8)
def _texts(path: str) -> dict[str, str]:
    """Each response's first text variation, read once per resolved path."""
    try:
        domain = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise TextError(f"{path}: can't read the domain file ({error.strerror})") from None
    except yaml.YAMLError as error:
        raise TextError(f"{path}: not valid YAML ({' '.join(str(error).split())})") from None
    responses = (domain or {}).get("responses") if isinstance(domain, dict) else None
    texts: dict[str, str] = {}
    for name, variations in (responses or {}).items():
        for variation in variations if isinstance(variations, list) else []:
            if isinstance(variation, dict) and isinstance(variation.get("text"), str):
                texts[str(name)] = variation["text"]
                break
    return texts
