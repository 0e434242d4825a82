"""`make flows`: every journey of data/rules and data/stories gets a diagram of its rules, stories and forms."""
from __future__ import annotations

import shutil
from pathlib import Path

import pydot
import pytest
import yaml

from settle.tooling.flows import ROOT, draw, main

JOURNEYS = sorted({path.stem for folder in ("rules", "stories") for path in (ROOT / "data" / folder).glob("*.yml")})


def graph_of(path: Path) -> pydot.Dot:
    (graph,) = pydot.graph_from_dot_data(path.read_text())
    return graph


def node_labels(graph) -> list[str]:
    labels = [node.get_label() for node in graph.get_nodes()]
    for cluster in graph.get_subgraphs():
        labels += node_labels(cluster)
    return [label.strip('"') for label in labels if label]


def test_each_journey_gets_a_diagram_with_a_box_per_rule_and_story(tmp_path):
    written = draw(tmp_path, dot="")
    assert sorted(p.stem for p in written if p.suffix == ".dot") == JOURNEYS
    for journey in JOURNEYS:
        flows = [item for folder, key in (("rules", "rules"), ("stories", "stories"))
                 if (ROOT / "data" / folder / f"{journey}.yml").exists()
                 for item in yaml.safe_load((ROOT / "data" / folder / f"{journey}.yml").read_text()).get(key) or []]
        graph = graph_of(tmp_path / f"{journey}.dot")
        boxes = [c for c in graph.get_subgraphs() if not c.get_name().strip('"').startswith("cluster_form_")]
        assert len(boxes) == len(flows), journey
        for item, box in zip(flows, boxes):
            kind = "rule" if "rule" in item else "story"
            assert f"{kind}: {item[kind]}" in box.get_label()
    assert "[DOT source](arrangements.dot)" in (tmp_path / "README.md").read_text()


def test_a_form_the_journey_runs_is_drawn_with_its_questions_in_order(tmp_path):
    draw(tmp_path, dot="")
    labels = node_labels(graph_of(tmp_path / "verification.dot"))
    assert "run verify_customer_form" in labels
    asked = [label for label in labels if label in ("customer_number", "postcode", "birth_date")]
    assert asked == ["customer_number", "postcode", "birth_date"]
    assert "if verification = verified" in labels


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed (apt-get install graphviz)")
def test_make_flows_draws_every_journey_as_svg(tmp_path):
    assert main([str(tmp_path)]) == 0
    assert sorted(p.stem for p in tmp_path.glob("*.svg")) == JOURNEYS
    assert all((tmp_path / f"{journey}.svg").read_text().lstrip().startswith("<?xml") for journey in JOURNEYS)


def test_without_graphviz_make_flows_says_what_to_install(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main([str(tmp_path / "flows")]) == 1
    assert "apt-get install graphviz" in capsys.readouterr().err
