"""In the production shape (PostgreSQL and Redis: several processes, often on several machines) no Settle
server starts without the shared secrets in its environment: each says which are missing, in one line.
The demo's secrets, made at random into var/, would differ per machine."""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from components.rasa_main import with_settle_arguments
from settle.config import Settings, process_settings
from settle.tooling.cli import main
from settle.web.app import create_app

ROOT = Path(__file__).parents[2]
POSTGRESQL = "postgresql://settle@127.0.0.1:5432/settle"  # refused before any connection is made
SECRETS = ("SETTLE_LINK_SECRET", "SETTLE_SESSION_SECRET", "RASA_API_TOKEN", "SETTLE_ACTION_TOKEN")


@pytest.fixture
def production(monkeypatch):
    """PostgreSQL and Redis, the link secret given, the three others not."""
    monkeypatch.setenv("DATABASE_URL", POSTGRESQL)
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/11")
    monkeypatch.setenv("SETTLE_LINK_SECRET", "a-shared-link-secret")
    for name in SECRETS[1:]:
        monkeypatch.delenv(name, raising=False)
    process_settings.cache_clear()


def says_what_is_missing(message: str) -> bool:
    return ("\n" not in message.strip() and all(name in message for name in SECRETS[1:])
            and "SETTLE_LINK_SECRET" not in message)


def test_settle_run_refuses_before_making_or_starting_anything(production, monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SETTLE_DEMO", "1")

    assert main(["run", "--parts", "web", "actions"]) == 1

    [line] = capsys.readouterr().err.splitlines()
    assert says_what_is_missing(line)
    assert not (tmp_path / "var").exists()


def test_the_web_app_refuses(production):
    with pytest.raises(SystemExit) as refused:
        create_app(replace(Settings.from_environment(), demo=True))
    assert says_what_is_missing(str(refused.value.code))


def test_rasa_refuses(production):
    with pytest.raises(SystemExit) as refused:
        with_settle_arguments(["rasa_main", "run", "--port", "5005"], os.environ)
    assert says_what_is_missing(str(refused.value.code))


def test_the_action_server_refuses(production):
    started = subprocess.run([sys.executable, "-m", "components.action_server", "--port", "0"], cwd=ROOT,
                             env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=120)
    assert started.returncode == 1
    assert says_what_is_missing(started.stderr.splitlines()[-1]) and "Traceback" not in started.stderr  # after import warnings


def test_with_every_secret_given_or_outside_the_production_shape_nothing_is_refused(production, monkeypatch):
    for name in SECRETS:
        monkeypatch.setenv(name, f"shared-{name.lower()}")
    assert Settings.from_environment().missing_secrets_refusal() is None

    monkeypatch.delenv("RASA_API_TOKEN")
    monkeypatch.delenv("REDIS_URL")  # one process on PostgreSQL: Rasa's HTTP API may stay off
    assert Settings.from_environment().missing_secrets_refusal() is None
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/11")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{ROOT / 'var' / 'settle.db'}")  # the embedded demo
    assert Settings.from_environment().missing_secrets_refusal() is None
