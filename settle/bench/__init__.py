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
from datetime import datetime, timezone
from pathlib import Path

REPORT_DIR = Path("var/bench")


def machine() -> dict:
    """What the figures were measured on: they only compare within one machine."""
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    cpu = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), platform.processor())
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "system": platform.platform()}


@dataclass
class Report:
    """The figures of one `settle bench` run, written as JSON and Markdown to var/bench/."""

    sections: dict = field(default_factory=dict)
    markdown: list = field(default_factory=list)
    directory: Path = REPORT_DIR

    def add(self, name: str, figures: dict, markdown: str) -> None:
        self.sections[name] = figures
        self.markdown.append(markdown.rstrip() + "\n")

    def write(self) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        when = datetime.now(timezone.utc).isoformat(timespec="seconds")
        about = machine()
        (self.directory / "report.json").write_text(json.dumps({"measured_at": when, "machine": about, **self.sections}, indent=2))
        header = f"# Settle benchmark report\n\nMeasured {when} on {about['cpu']} ({about['cores']} cores), Python {about['python']}.\n"
        path = self.directory / "report.md"
        path.write_text("\n".join([header, *self.markdown]))
        return path
