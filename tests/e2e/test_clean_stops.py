"""`settle run` stops every server it started, and frees their ports, on SIGTERM (what `kill`, systemd, Docker
and Kubernetes send) exactly as on Ctrl-C, and with `--stop-with-parent` (what `make run` uses: make does not
pass SIGTERM on) when the command that started it ends. The servers run in sessions of their own, so nothing
but the runner stops them. The web app and the action server need no trained model, so they are the parts
started."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from settle.tooling import runner
from tests.conftest import NOW, free_port

ROOT = Path(__file__).parents[2]


def descendants(pid: int) -> set[int]:
    """Every process started by `pid`, and by those, from /proc."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:  # ended meanwhile
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.parametrize("stop", ["SIGTERM", "Ctrl-C", "make killed"])
def test_settle_run_stops_every_part_and_frees_their_ports(tmp_path, stop):
    web_port, actions_port = free_port(), free_port()
    command = [sys.executable, "-m", "settle.tooling.cli", "run", "--parts", "web", "actions",
               "--web-port", str(web_port), "--actions-port", str(actions_port), "--stop-with-parent"]
    if stop == "make killed":  # a parent that waits for settle run, as make does, and is killed alone
        command = ["sh", "-c", " ".join(command) + "; echo settle run ended"]
    environment = {
        **os.environ,
        "PYTHONPATH": str(ROOT),  # this checkout's code, run from a directory of its own (var/ is made there)
        "SETTLE_DEMO": "1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'settle.db'}",
        "SETTLE_POLICY_FILE": str(ROOT / "policy" / "arrangements.yml"),
        "SETTLE_REMINDER_POLICY_FILE": str(ROOT / "policy" / "reminders.yml"),
        "SETTLE_REDIRECTS_FILE": str(ROOT / "policy" / "redirects.yml"),
        "SETTLE_NOW": NOW.isoformat(),
    }
    for variable in ("SETTLE_LINK_SECRET", "SETTLE_SESSION_SECRET", "SETTLE_ACTION_TOKEN", "RASA_API_TOKEN", "REDIS_URL"):
        environment.pop(variable, None)
    started = subprocess.Popen(command, cwd=tmp_path, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (runner.answers(f"http://127.0.0.1:{web_port}/health") and runner.answers(f"http://127.0.0.1:{actions_port}/health")):
            assert started.poll() is None, started.stdout.read()
            assert time.monotonic() < deadline, "the parts did not answer within 120 s"
            time.sleep(0.5)
        everything = descendants(started.pid) | {started.pid}
        assert len(everything) >= 3

        started.send_signal({"SIGTERM": signal.SIGTERM, "Ctrl-C": signal.SIGINT, "make killed": signal.SIGKILL}[stop])
        output, _ = started.communicate(timeout=60)
        deadline = time.monotonic() + 60
        while any(running(pid) for pid in everything) and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        if started.poll() is None:
            started.kill()

    assert [pid for pid in everything if running(pid)] == []
    assert runner.port_is_free(web_port) and runner.port_is_free(actions_port)
    if stop != "make killed":  # its output went with its parent
        assert started.returncode == 0, output
        assert "Stopping" in output and "was killed" not in output  # each part stopped by itself, none killed
    # the web app shut down gracefully (finishing what it served)
    assert "Finished server process" in (tmp_path / "var" / "log" / "web.log").read_text()
