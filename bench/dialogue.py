"""The conversation tests' pass rate: `rasa test core` over tests/conversations, with the failed stories by name,
and the share of messy-customer conversations (tests/conversations/test_messy_*.yml: typos, corrections, two
requests in one message) that reach their goal (issue 17's target: all)."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import yaml

from bench import REPORT_DIR

STORIES = Path("tests/conversations")
#: The messy customers' conversations, one file or more.
MESSY = "test_messy_*.yml"
OUT = REPORT_DIR / "dialogue"


def failed_story_names(path: Path) -> list[str]:
    """The names of the stories in Rasa's failed_test_stories.yml (a comment only when none failed)."""
    if not path.exists():
        return []
    document = yaml.safe_load(path.read_text()) or {}
    return [story.get("story", "?") for story in document.get("stories") or [] if isinstance(story, dict)]


def messy_conversations(directory: Path) -> list[str]:
    """The messy conversations as Rasa names a failed one: "<story> (<directory>/<file>)"."""
    names = []
    for path in sorted(directory.glob(MESSY)):
        document = yaml.safe_load(path.read_text()) or {}
        names += [f"{story['story']} ({path})" for story in document.get("stories") or [] if isinstance(story, dict)]
    return names


def messy_reaching_their_goal(directory: Path, failed: list[str]) -> dict:
    """How many messy conversations passed, i.e. reached their goal with every step predicted as written."""
    messy = messy_conversations(directory)
    reached = len(set(messy) - set(failed))
    return {"messy_conversations": len(messy), "messy_reached_goal": reached,
            "messy_goal_rate": reached / len(messy) if messy else None}


def conversation_accuracy(path: Path) -> dict:
    """Rasa's `conversation_accuracy` entry of story_report.json: accuracy, correct, total, with_warnings."""
    report = json.loads(path.read_text())
    return report.get("conversation_accuracy") or {}


def run_dialogue(model: Path, say) -> tuple[dict, str]:
    """Runs the conversation tests against `model` and reports how many conversations passed and which failed."""
    OUT.mkdir(parents=True, exist_ok=True)
    for stale in ("story_report.json", "failed_test_stories.yml"):
        (OUT / stale).unlink(missing_ok=True)
    command = [sys.executable, "-m", "rasa", "test", "core", "--model", str(model), "--stories", str(STORIES),
               "--out", str(OUT), "--quiet"]
    say("running the conversation tests: " + " ".join(command[1:]))
    started = time.perf_counter()
    finished = subprocess.run(command, capture_output=True, text=True)
    seconds = round(time.perf_counter() - started, 1)
    report = OUT / "story_report.json"
    if not report.exists():
        raise RuntimeError(f"rasa test core wrote no {report} (exit {finished.returncode}):\n{finished.stderr[-2000:]}")
    accuracy = conversation_accuracy(report)
    failed = failed_story_names(OUT / "failed_test_stories.yml")
    figures = {
        "conversations": accuracy.get("total"),
        "passed": accuracy.get("correct"),
        "pass_rate": accuracy.get("accuracy"),
        "with_warnings": accuracy.get("with_warnings"),
        "failed_stories": failed,
        "seconds": seconds,
        **messy_reaching_their_goal(STORIES, failed),
    }
    say(f"{figures['passed']} of {figures['conversations']} conversations pass ({_percent(figures['pass_rate'])})")
    messy = f"{figures['messy_reached_goal']} of {figures['messy_conversations']} messy conversations reach their goal " \
            f"({_percent(figures['messy_goal_rate'])})"
    say(messy)
    lines = [
        "## Dialogue: conversation tests",
        "",
        f"`rasa test core --stories {STORIES}`: {figures['passed']} of {figures['conversations']} conversations pass "
        f"({_percent(figures['pass_rate'])}); report in `{OUT}`.",
        "",
        f"Messy customers (`{STORIES}/{MESSY}`): {messy}.",
    ]
    if failed:
        lines += ["", "Failed:", "", *(f"- {name}" for name in failed)]
    return figures, "\n".join(lines) + "\n"


def _percent(rate) -> str:
    return "n/a" if rate is None else f"{rate * 100:.1f}%"
