"""Benchmarks that print their figures and write a report (`make bench`); targets are reported, never asserted.

Each part adds a section to one `Report`: `reminders` (reminder selection at scale), `nlu` (cross-validated
intent and entity F1, out-of-scope handling), `dialogue` (conversation tests), `load` (per-turn latency
and throughput against the running stack, with Rasa's bare /model/parse as the baseline), `cost` and
`scale` (per-turn latency with 10,000 vs 1,000,000 invoices).
"""
from __future__ import annotations

import json
import os
import platform
from dataclasses import dataclass, field
from pathlib import Path

from settle.clock import clock_for
from settle.config import process_settings

REPORT_DIR = Path("var/bench")


def machine() -> dict:
    """What the figures were measured on: they only compare within one machine."""
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    cpu = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), platform.processor())
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "system": platform.platform()}


# The figures a designer or maintainer compares between two runs: (label, path in report.json, higher is better).
HEADLINES = [
    ("in-scope accuracy, cross-validated", ("nlu", "configs", "config", "cv_decisions", "in_scope_accuracy"), True),
    ("out-of-scope recall, cross-validated", ("nlu", "configs", "config", "cv_decisions", "oos_recall"), True),
    ("in-scope false rejections, cross-validated", ("nlu", "configs", "config", "cv_decisions", "false_rejections"), False),
    ("in-scope accuracy, leave-one-source-out", ("nlu", "configs", "config", "loso", "pooled", "in_scope_accuracy"), True),
    ("intent macro-F1, cross-validated", ("nlu", "configs", "config", "cv", "intent_macro_f1"), True),
    ("entity F1, cross-validated", ("nlu", "configs", "config", "cv", "entities", "f1"), True),
    ("out-of-scope recall at the tuned threshold", ("nlu", "configs", "config", "tuned", "oos_recall"), True),
    ("in-scope false rejections at the tuned threshold", ("nlu", "configs", "config", "tuned", "false_rejections"), False),
    ("held-out intent macro-F1", ("nlu", "configs", "config", "test", "intent_macro_f1"), True),
    ("held-out out-of-scope recall at the current threshold", ("nlu", "configs", "config", "test_at_current", "oos_recall"), True),
    ("conversation tests passing", ("dialogue", "pass_rate"), True),
    ("messy conversations reaching their goal", ("dialogue", "messy_goal_rate"), True),
    ("p95 per turn over the bare webhook turn's, N = 20", ("load", "targets", "p95_turn_over_p95_bare_webhook_at_20"), False),
    ("best turns/s of one Rasa process", ("load", "targets", "best_turns_per_second"), True),
    ("journey turns/s, 1 Rasa process (replicas)", ("replicas", "journey_turns_per_second", "1"), True),
    ("journey turns/s, 2 Rasa processes behind HAProxy", ("replicas", "journey_turns_per_second", "2"), True),
    ("Rasa server start, s", ("cost", "rasa_start_seconds"), False),
    ("training, s", ("cost", "training", "seconds"), False),
    ("p95 per turn, most invoices over fewest", ("scale", "p95_ratio_largest_to_smallest"), False),
]


def headlines(report: dict) -> dict[str, float]:
    """The HEADLINES figures a report has (a run of some parts has only theirs)."""
    found = {}
    for label, path, _ in HEADLINES:
        value = report
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, (int, float)):
            found[label] = value
    return found


def compare(now: dict, before: dict) -> list[str]:
    """One line per headline figure both runs have: the figure, the previous one, and better / worse / same."""
    lines = []
    for label, _, higher_is_better in HEADLINES:
        if label in now and label in before:
            change = now[label] - before[label]
            verdict = "same" if abs(change) < 1e-9 else ("better" if (change > 0) == higher_is_better else "worse")
            lines.append(f"{label}: {now[label]:.3g} (was {before[label]:.3g}: {verdict})")
    return lines


@dataclass
class Report:
    """The figures of one `settle bench` run, written as JSON and Markdown to var/bench/."""

    sections: dict = field(default_factory=dict)
    markdown: list = field(default_factory=list)
    directory: Path = REPORT_DIR

    def add(self, name: str, figures: dict, markdown: str) -> None:
        self.sections[name] = figures
        self.markdown.append(markdown.rstrip() + "\n")

    def write(self) -> tuple[Path, list[str]]:
        """Writes report.json and report.md; the previous run's JSON is kept as previous.json and compared with.

        Returns the Markdown's path and the comparison lines (none on a first run).
        """
        self.directory.mkdir(parents=True, exist_ok=True)
        when = clock_for(process_settings()).now().isoformat(timespec="seconds")
        about = machine()
        latest, previous = self.directory / "report.json", self.directory / "previous.json"
        before = json.loads(latest.read_text()) if latest.exists() else None
        if before is not None:
            previous.write_text(json.dumps(before, indent=2))
        now = {"measured_at": when, "machine": about, **self.sections}
        latest.write_text(json.dumps(now, indent=2))
        changes = compare(headlines(now), headlines(before)) if before else []
        header = f"# Settle benchmark report\n\nMeasured {when} on {about['cpu']} ({about['cores']} cores), Python {about['python']}.\n"
        if changes:
            header += (f"\n## Compared with the previous run ({before.get('measured_at')}, kept in `{previous}`)\n\n"
                       + "\n".join(f"- {line}" for line in changes) + "\n")
        path = self.directory / "report.md"
        path.write_text("\n".join([header, *self.markdown]))
        return path, changes
