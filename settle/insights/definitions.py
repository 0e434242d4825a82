"""The figures' definitions and section titles, read from docs/kpis.md: the one place their wording lives,
shown on the dashboard under each chart."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

KPIS_DOC = Path(__file__).parents[2] / "docs" / "kpis.md"
_SECTION = re.compile(r"^## (?P<title>.+?) \(`(?P<name>[a-z_]+)`\)\s*$")
_FIGURE = re.compile(r"^\| `(?P<name>[a-z_.0-9]+)` \| (?P<definition>.+?) \|\s*$")
_MARKUP = re.compile(r"\*\*|`|\[([^\]]*)\]\([^)]*\)")


@dataclass(frozen=True)
class Definitions:
    #: "containment" -> "Containment"
    sections: dict[str, str]
    #: "containment.verified" -> "Of those, the share that proved who the customer is ..."
    figures: dict[str, str]


@lru_cache(maxsize=1)
def definitions(path: Path = KPIS_DOC) -> Definitions:
    """Every section title and figure definition of the document, in plain text (markdown marks removed)."""
    sections, figures = {}, {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if found := _SECTION.match(line):
            sections[found["name"]] = found["title"]
        elif found := _FIGURE.match(line):
            figures[found["name"]] = _plain(found["definition"])
    return Definitions(sections, figures)


def _plain(text: str) -> str:
    return _MARKUP.sub(lambda match: match.group(1) or "", text)
