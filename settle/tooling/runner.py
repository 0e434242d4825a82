"""Starts Settle's servers, waits until each answers, and stops them all on Ctrl-C or SIGTERM.

Each server runs in a session of its own (a Ctrl-C in the terminal reaches this runner only, which then stops
them in order); so the runner must stop them on every way it is asked to end, or they keep running and hold
their ports. Rasa runs as a separate process (`python -m rasa`); this module never imports it.
"""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import requests
import yaml

from settle.errors import StartupError
from settle.files import private_file

LOG_DIR = Path("var/log")
#: How long the servers get to finish the requests they are serving (Sanic's own limit is 15 s) before
#: they are killed.
STOP_SECONDS = 20


@dataclass
class Part:
    name: str
    command: list[str]
    health_url: str
    log: Path
    process: subprocess.Popen | None = None
    #: One of several replicas behind a load balancer: when it stops on its own, it is started again.
    replica: bool = False
    environment: dict[str, str] | None = None


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def rasa_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "rasa", *args]


def action_server(port: int, log_dir: Path = LOG_DIR) -> Part:
    """rasa-sdk's action server through components/action_server.py: loopback only, and only for callers
    with SETTLE_ACTION_TOKEN (from the environment, or the demo's in var/)."""
    return Part(
        "action server",
        [sys.executable, "-m", "components.action_server", "--actions", "actions", "--port", str(port)],
        f"http://127.0.0.1:{port}/health",
        log_dir / "actions.log",
    )


def rasa_server(port: int, model: str, api_token: str | None, endpoints: str = "endpoints.yml", log_dir: Path = LOG_DIR) -> Part:
    """Rasa through components/rasa_main.py, which installs Settle's fixes to Rasa first."""
    command = [
        sys.executable, "-m", "components.rasa_main",
        "run", "--model", model, "--endpoints", endpoints, "--credentials", "credentials.yml",
        "--interface", "127.0.0.1", "--port", str(port),
    ]
    if api_token:  # rasa_main adds the token from RASA_API_TOKEN, never in argv (`ps` shows argv to everyone)
        command += ["--enable-api"]
    return Part("Rasa server", command, f"http://127.0.0.1:{port}/", log_dir / "rasa.log")


def endpoints_for_ports(path: Path, action_url: str, trackers: Path, project: Path = Path("endpoints.yml")) -> Path:
    """The project's endpoints.yml with this run's action server and tracker file, so tests and
    benchmarks run Rasa configured as `make run` does (the action token header included: Rasa expands
    ${SETTLE_ACTION_TOKEN} from the environment the parts are started with)."""
    endpoints = yaml.safe_load(project.read_text())
    endpoints["action_endpoint"]["url"] = action_url
    endpoints["tracker_store"]["db"] = str(trackers)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(endpoints, sort_keys=False))
    return path


def web_app(port: int, log_dir: Path = LOG_DIR) -> Part:
    return Part(
        "web app",
        [sys.executable, "-m", "uvicorn", "settle.web.app:create_app", "--factory", "--host", "127.0.0.1", "--port", str(port)],
        f"http://127.0.0.1:{port}/health",
        log_dir / "web.log",
    )


def start(part: Part, port: int, timeout: float = 240, env: dict[str, str] | None = None) -> None:
    """Starts a part in the background, logging to a file, and waits until it answers."""
    start_together([(part, port)], timeout, env)


def start_together(parts: list[tuple[Part, int]], timeout: float = 240, env: dict[str, str] | None = None) -> None:
    """Starts parts in the background at once (replicas load their models side by side), each logging to a
    file, and waits until every one answers."""
    for part, port in parts:
        if not port_is_free(port):
            raise StartupError(
                f"Port {port} for the {part.name} is already in use: stop the program using it "
                f"(`lsof -i :{port}` shows which) and run again."
            )
    # Rasa reports usage to its makers unless told not to; Settle sends nothing anywhere by default.
    environment = {"RASA_TELEMETRY_ENABLED": "false", **os.environ, **(env or {}), "SANIC_HOST": "127.0.0.1"}
    for part, _port in parts:
        part.environment = environment
        _launch(part, mode="w")
    deadline = time.monotonic() + timeout
    for part, _port in parts:
        while not answers(part.health_url):
            if part.process is not None and part.process.poll() is not None:
                raise StartupError(f"The {part.name} stopped while starting; its log is {part.log}:\n{_tail(part.log)}")
            if time.monotonic() > deadline:
                raise StartupError(f"The {part.name} did not answer within {timeout:.0f} s; its log is {part.log}.")
            time.sleep(1)


def _launch(part: Part, mode: str) -> None:
    log = private_file(part.log).open(mode)  # logs hold what customers said
    part.process = subprocess.Popen(part.command, stdout=log, stderr=subprocess.STDOUT, env=part.environment, start_new_session=True)


def stop_on_sigterm() -> None:
    """SIGTERM (what `kill`, systemd, Docker and Kubernetes send) ends the run as Ctrl-C does: the
    KeyboardInterrupt unwinds to the caller's `finally`, which stops every part."""
    signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(_signal_number: int, _frame: object) -> None:
    raise KeyboardInterrupt


def stop(parts: list[Part]) -> list[Part]:
    """Stops every process this run started: SIGTERM to each part's session (the servers finish what they
    are serving), then SIGKILL to any still running after STOP_SECONDS; returns those it had to kill. A second
    Ctrl-C or SIGTERM meanwhile is ignored, so it can't leave a part behind."""
    killed: list[Part] = []
    held = _ignore_stop_signals()
    try:
        for part in parts:
            if part.process and part.process.poll() is None:
                os.killpg(part.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        for part in parts:
            if part.process:
                try:
                    part.process.wait(timeout=max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    os.killpg(part.process.pid, signal.SIGKILL)
                    part.process.wait()
                    killed.append(part)
                with contextlib.suppress(ProcessLookupError):  # nothing the part started outlives it
                    os.killpg(part.process.pid, signal.SIGKILL)
    finally:
        for number, handler in held.items():
            signal.signal(number, handler)
    return killed


def _ignore_stop_signals() -> dict:
    """Ignores Ctrl-C and SIGTERM (only the main thread may change handlers); returns the handlers to restore."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {number: signal.signal(number, signal.SIG_IGN) for number in (signal.SIGINT, signal.SIGTERM)}


def watch(parts: list[Part], parent: int | None = None) -> None:
    """Waits until Ctrl-C, SIGTERM (with `stop_on_sigterm`) or until a part stops on its own, which it reports;
    with `parent`, returns when that process has ended (this one is then handed to another parent). A replica
    that stops is started again (its log goes on): the load balancer sends it work once it answers."""
    while parent is None or os.getppid() == parent:
        for part in parts:
            if part.replica and part.process is not None and part.process.poll() is not None:
                print(f"settle run: the {part.name} stopped (exit status {part.process.returncode}); starting it again", flush=True)
                _launch(part, mode="a")
            elif part.process is None or part.process.poll() is not None:
                raise StartupError(f"The {part.name} stopped unexpectedly; its log is {part.log}:\n{_tail(part.log)}")
        time.sleep(1)


def _tail(log: Path, lines: int = 15) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
