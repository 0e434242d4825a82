"""`make flows`: each journey's rules, stories and forms drawn as a Graphviz diagram for designers.

A journey is a file of `data/rules/` or `data/stories/` (its name: `arrangements`, `handoff`, ...). Each
rule or story becomes a box of its steps from left to right; each form the journey runs becomes a box of
the questions it asks, in the order of `domain.yml`. The DOT source is written next to the picture, so a
change to the flows shows in review as text. Reads the training data; never changes it.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]

#: How each kind of step looks (also explained in the index's legend).
SHAPES = {
    "condition": 'shape=note, style=filled, fillcolor="#fff4d6"',
    "intent": 'shape=ellipse, style=filled, fillcolor="#dcecff"',
    "action": 'shape=box, style="rounded,filled", fillcolor="#e8f5e9"',
    "utter": 'shape=box, style="rounded,filled", fillcolor="#f3e5f5"',
    "form": 'shape=box, style="filled,bold", fillcolor="#ffe0b2"',
    "slot": 'shape=note, style=filled, fillcolor="#f5f5f5"',
    "ask": 'shape=box, style=filled, fillcolor="#ffe0b2"',
}
LEGEND = [
    ("yellow note", "what must hold before the rule applies (a slot, a running form)"),
    ("blue ellipse", "what the customer says (the intent, and entities)"),
    ("green box", "what Settle does (an action)"),
    ("purple box", "what Settle says (a response from domain.yml)"),
    ("orange box", "a form runs (asks its next question), is active, or ends; a dashed box lists a form's questions"),
    ("grey note", "a slot is set"),
]


@dataclass(frozen=True)
class Flow:
    """One rule or story: its name, the conditions it needs, and its steps as (kind, label)."""

    kind: str  # "rule" or "story"
    name: str
    conditions: tuple[tuple[str, str], ...]
    steps: tuple[tuple[str, str], ...]
    waits_for_the_customer: bool


def read_journeys(root: Path = ROOT) -> dict[str, list[Flow]]:
    """The flows of every file in data/rules and data/stories, by journey (the file's name)."""
    journeys: dict[str, list[Flow]] = {}
    for folder, key, kind in (("rules", "rules", "rule"), ("stories", "stories", "story")):
        for path in sorted((root / "data" / folder).glob("*.yml")):
            items = (yaml.safe_load(path.read_text()) or {}).get(key) or []
            journeys.setdefault(path.stem, []).extend(_flow(kind, item) for item in items)
    return journeys


def read_forms(root: Path = ROOT) -> dict[str, list[str]]:
    """Each form of domain.yml with the slots it asks for, in order."""
    forms = (yaml.safe_load((root / "domain.yml").read_text()) or {}).get("forms") or {}
    return {name: list((spec or {}).get("required_slots") or []) for name, spec in forms.items()}


def dot_source(journey: str, flows: list[Flow], forms: dict[str, list[str]]) -> str:
    """The journey as a DOT graph: a cluster per rule or story, and one per form it runs."""
    lines = [
        f'digraph "{_escape(journey)}" {{',
        "  rankdir=LR; newrank=true; compound=true;",
        '  graph [fontname="Helvetica", fontsize=11, labeljust=l];',
        '  node [fontname="Helvetica", fontsize=10];',
        '  edge [color="#607d8b"];',
        f'  label="{_escape(journey)}: rules, stories and forms (make flows; data/ and domain.yml decide)"; labelloc=t;',
    ]
    used_forms = [form for form in forms if any(form in label for flow in flows for _, label in flow.conditions + flow.steps)]
    for number, flow in enumerate(flows):
        lines.append(f"  subgraph cluster_{number} {{")
        waits = "" if flow.waits_for_the_customer else " (goes on without waiting for the customer)"
        lines.append(f'    label="{flow.kind}: {_escape(flow.name)}{waits}"; style=rounded; color="#b0bec5";')
        nodes = []
        for index, (kind, label) in enumerate(flow.conditions + flow.steps):
            node = f"f{number}_{index}"
            lines.append(f'    {node} [label="{_escape(label)}", {SHAPES[kind]}];')
            nodes.append(node)
        if len(nodes) > 1:
            lines.append(f"    {' -> '.join(nodes)};")
        lines.append("  }")
    for form in used_forms:
        lines.append(f'  subgraph "cluster_form_{_escape(form)}" {{')
        lines.append(f'    label="form {_escape(form)} asks, in this order"; style="rounded,dashed"; color="#ef6c00";')
        asks = [f'"{_escape(form)}.{_escape(slot)}"' for slot in forms[form]]
        for node, slot in zip(asks, forms[form]):
            lines.append(f'    {node} [label="{_escape(slot)}", {SHAPES["ask"]}];')
        if len(asks) > 1:
            lines.append(f"    {' -> '.join(asks)};")
        lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def draw(out: Path, root: Path = ROOT, dot: str | None = None) -> list[Path]:
    """Writes each journey's DOT source and, with Graphviz's `dot`, its SVG into `out`, and an index.

    Returns the files written. Raises RuntimeError when `dot` can't draw a journey."""
    dot = dot if dot is not None else shutil.which("dot")
    out.mkdir(parents=True, exist_ok=True)
    forms = read_forms(root)
    written = []
    journeys = read_journeys(root)
    for journey, flows in journeys.items():
        source = out / f"{journey}.dot"
        source.write_text(dot_source(journey, flows, forms))
        written.append(source)
        if dot:
            picture = out / f"{journey}.svg"
            drawn = subprocess.run([dot, "-Tsvg", str(source), "-o", str(picture)], capture_output=True, text=True)
            if drawn.returncode != 0:
                raise RuntimeError(f"dot could not draw {source}: {drawn.stderr.strip()}")
            written.append(picture)
    index = out / "README.md"
    index.write_text(_index(journeys, drawn=bool(dot)))
    written.append(index)
    return written


def _flow(kind: str, item: dict[str, Any]) -> Flow:
    conditions = tuple(("condition", text) for step in item.get("condition") or [] for text in _condition(step))
    steps = tuple(_step(step) for step in item.get("steps") or [])
    name = item.get(kind) or "(unnamed)"
    return Flow(kind, name, conditions, tuple(s for s in steps if s is not None), item.get("wait_for_user_input", True))


def _condition(step: dict[str, Any]) -> list[str]:
    if "active_loop" in step:
        return [f"while {step['active_loop']} runs" if step["active_loop"] else "while no form runs"]
    if "slot_was_set" in step:
        return [f"if {name} = {_value(value)}" for slot in step["slot_was_set"] for name, value in _pairs(slot)]
    return [f"if {step}"]


def _step(step: dict[str, Any]) -> tuple[str, str] | None:
    if "intent" in step:
        entities = ", ".join(name for entity in step.get("entities") or [] for name, _ in _pairs(entity))
        return "intent", f"{step['intent']}" + (f" [{entities}]" if entities else "")
    if "action" in step:
        action = step["action"]
        if action.startswith("utter_"):
            return "utter", action
        if action.endswith("_form"):
            return "form", f"run {action}"
        return "action", action
    if "active_loop" in step:
        return "form", f"{step['active_loop']} is active" if step["active_loop"] else "form ends"
    if "slot_was_set" in step:
        return "slot", "\n".join(f"{name} = {_value(value)}" for slot in step["slot_was_set"] for name, value in _pairs(slot))
    if "or" in step:
        return "intent", " or ".join(str(option.get("intent", option)) for option in step["or"])
    if "checkpoint" in step:
        return "condition", f"checkpoint {step['checkpoint']}"
    return None


def _pairs(entry: Any) -> list[tuple[str, Any]]:
    """A slot or entity given as `{name: value}` or as a bare name."""
    return list(entry.items()) if isinstance(entry, dict) else [(str(entry), "(any value)")]


def _value(value: Any) -> str:
    return "null" if value is None else str(value).lower() if isinstance(value, bool) else str(value)


def _escape(text: str) -> str:
    return str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _index(journeys: dict[str, list[Flow]], drawn: bool) -> str:
    lines = ["# The flows, drawn", "",
             "Generated by `make flows` from `data/rules/`, `data/stories/` and the forms in `domain.yml`: change",
             "those, not these files. Each box is one rule or story, its steps from left to right.", ""]
    for journey, flows in journeys.items():
        picture = f"[{journey}]({journey}.svg)" if drawn else journey
        rules, stories = sum(f.kind == "rule" for f in flows), sum(f.kind == "story" for f in flows)
        counts = f"{rules} rule{'s' * (rules != 1)}, {stories} stor{'y' if stories == 1 else 'ies'}"
        lines.append(f"- {picture}: {counts} ([DOT source]({journey}.dot))")
    lines += ["", "| shape | means |", "| --- | --- |"]
    lines += [f"| {kind} | {meaning} |" for kind, meaning in LEGEND]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """`python -m settle.tooling.flows [FOLDER]`: draws into FOLDER (docs/flows by default)."""
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0]) if args else Path("docs/flows")
    if shutil.which("dot") is None:
        print("make flows: Graphviz's dot is missing: install it (e.g. 'apt-get install graphviz').", file=sys.stderr)
        return 1
    written = draw(out)
    print(f"==> Drew {sum(p.suffix == '.svg' for p in written)} journeys into {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
