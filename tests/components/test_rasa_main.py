"""How the Rasa server is started: its API token never on the command line, CORS only for our own origins, a
socket.io client unable to fill the log with tracebacks."""
from __future__ import annotations

import json
import logging
import os
import subprocess
import threading
import time
from pathlib import Path

import engineio
import pytest
import requests
import uvicorn

from components.rasa_main import quiet_oversized_polls, with_settle_arguments
from settle.tooling import runner
from tests.conftest import free_port

ROOT = Path(__file__).parents[2]
TOKEN = "-secret-token-that-starts-with-a-dash"


@pytest.fixture(autouse=True)
def origins(monkeypatch):
    monkeypatch.setenv("SETTLE_PUBLIC_URL", "https://pay.settle.example/")
    monkeypatch.setenv("SETTLE_ALLOWED_ORIGINS", "https://www.settle.example, https://app.settle.example/")


def test_the_runner_never_puts_the_token_in_rasas_command():
    part = runner.rasa_server(5005, "models/settle.tar.gz", TOKEN)
    assert TOKEN not in " ".join(part.command) and "--enable-api" in part.command
    assert "*" not in part.command


def test_the_token_comes_from_the_environment_and_cors_from_the_settings():
    arguments = with_settle_arguments(["rasa_main", "run", "--enable-api", "--cors", "*", "--port", "5005"],
                                      {"RASA_API_TOKEN": TOKEN})
    assert arguments[arguments.index("--port") + 1] == "5005"
    assert f"--auth-token={TOKEN}" in arguments
    cors = arguments[arguments.index("--cors") + 1:arguments.index("--cors") + 4]
    assert cors == ["https://pay.settle.example", "https://www.settle.example", "https://app.settle.example"]
    assert "*" not in arguments


def test_the_api_is_never_opened_without_a_token():
    with pytest.raises(SystemExit) as refused:
        with_settle_arguments(["rasa_main", "run", "--enable-api"], {})
    assert "RASA_API_TOKEN" in str(refused.value.code)
    assert with_settle_arguments(["rasa_main", "run"], {})[-4:] == ["--cors", "https://pay.settle.example",
                                                                     "https://www.settle.example", "https://app.settle.example"]


def test_the_started_process_shows_no_token_to_ps(tmp_path):
    """/proc/<pid>/cmdline is readable by every user of the machine; the environment is not."""
    part = runner.rasa_server(0, str(tmp_path / "no-model.tar.gz"), TOKEN, log_dir=tmp_path)
    process = subprocess.Popen(part.command, cwd=ROOT, env={**os.environ, "RASA_API_TOKEN": TOKEN},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        seen = []
        while process.poll() is None and len(seen) < 20:  # while Rasa starts, and after it parsed its arguments
            try:
                cmdline = Path(f"/proc/{process.pid}/cmdline").read_bytes()
            except OSError:  # it stopped just now (there is no model)
                break
            if cmdline:  # empty while the process is being replaced or reaped
                seen.append(cmdline)
            time.sleep(0.1)
        assert seen and all(b"components.rasa_main" in cmdline and TOKEN.encode() not in cmdline for cmdline in seen)
    finally:
        process.kill()
        process.wait()


@pytest.fixture
def engineio_url():
    """python-engineio's server (the one under Rasa's socket.io channel) on a free loopback port."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(engineio.ASGIApp(engineio.AsyncServer(async_mode="asgi")), host="127.0.0.1",
                                           port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/engine.io/?EIO=4&transport=polling"
    server.should_exit = True
    thread.join(timeout=10)


def long_poll_with(url: str, packets: int) -> requests.Response:
    handshake = requests.get(url, timeout=10).text
    sid = json.loads(handshake[1:])["sid"]
    return requests.post(f"{url}&sid={sid}", data="\x1e".join(["4hello"] * packets), timeout=10)


def test_a_long_poll_with_more_than_16_packets_is_one_warning_line_not_a_traceback(engineio_url, caplog):
    quiet_oversized_polls()
    with caplog.at_level(logging.WARNING, logger="engineio.server"):
        assert long_poll_with(engineio_url, 16).status_code == 200
        assert long_poll_with(engineio_url, 17).status_code == 200
    logged = [(record.levelname, record.getMessage(), record.exc_info) for record in caplog.records if record.name == "engineio.server"]
    assert logged == [("WARNING", "A long-poll request carried more than 16 packets; python-engineio dropped it", None)]
