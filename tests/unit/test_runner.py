"""The endpoints the tests and benchmarks give Rasa are the project's own, pointed at their ports."""
from __future__ import annotations

import yaml

from settle.tooling import runner


def test_endpoints_for_ports_keep_the_projects_settings(tmp_path):
    path = runner.endpoints_for_ports(tmp_path / "e.yml", "http://127.0.0.1:6001/webhook", tmp_path / "t.db")
    written = yaml.safe_load(path.read_text())
    project = yaml.safe_load(open("endpoints.yml"))
    assert written["action_endpoint"]["url"] == "http://127.0.0.1:6001/webhook"
    assert written["tracker_store"]["db"] == str(tmp_path / "t.db")
    # Everything else as `make run` has it, e.g. the domain only for the actions that need it.
    assert written["action_endpoint"]["enable_selective_domain"] is True
    assert {k: v for k, v in written["tracker_store"].items() if k != "db"} == \
        {k: v for k, v in project["tracker_store"].items() if k != "db"}


def test_only_the_form_validators_are_sent_the_domain():
    domain = yaml.safe_load(open("domain.yml"))
    needing = {name for action in domain["actions"] if isinstance(action, dict)
               for name, settings in action.items() if settings.get("send_domain")}
    assert needing == {name for action in domain["actions"] for name in ([action] if isinstance(action, str) else action)
                       if name.startswith("validate_")}
