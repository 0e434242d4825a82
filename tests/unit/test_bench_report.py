"""The benchmark report says, run after run, whether the assistant got better or worse."""
from __future__ import annotations

import json

from bench import Report


def nlu(macro_f1: float, false_rejections: float) -> dict:
    return {"configs": {"config": {"cv": {"intent_macro_f1": macro_f1, "entities": {"f1": 0.8}},
                                   "tuned": {"oos_recall": 0.7, "false_rejections": false_rejections}}}}


def test_a_second_run_is_compared_with_the_first(tmp_path):
    first = Report(directory=tmp_path)
    first.add("nlu", nlu(0.80, 0.02), "## NLU")
    _, changes = first.write()
    assert changes == []

    second = Report(directory=tmp_path)
    second.add("nlu", nlu(0.85, 0.03), "## NLU")
    second.add("cost", {"rasa_start_seconds": 50.0}, "## Cost")
    path, changes = second.write()

    assert changes == [
        "intent macro-F1, cross-validated: 0.85 (was 0.8: better)",
        "entity F1, cross-validated: 0.8 (was 0.8: same)",
        "out-of-scope recall at the tuned threshold: 0.7 (was 0.7: same)",
        "in-scope false rejections at the tuned threshold: 0.03 (was 0.02: worse)",
    ]  # the start time was not measured before, so there is nothing to compare it with
    assert "- intent macro-F1, cross-validated: 0.85 (was 0.8: better)" in path.read_text()
    assert json.loads((tmp_path / "previous.json").read_text())["nlu"] == nlu(0.80, 0.02)
    assert json.loads((tmp_path / "report.json").read_text())["cost"] == {"rasa_start_seconds": 50.0}
