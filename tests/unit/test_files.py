"""What Settle writes under var/ is for the user running it only: directories 0700, files 0600."""
from __future__ import annotations

import stat
import sys

from settle.files import private_directory, private_file
from settle.signing import demo_or_configured
from settle.tooling import runner
from tests.conftest import free_port


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_an_open_directory_and_file_left_by_an_older_run_are_closed(tmp_path):
    (tmp_path / "var").mkdir(mode=0o755)
    (tmp_path / "var" / "settle.db").write_text("")
    (tmp_path / "var" / "settle.db").chmod(0o644)
    assert mode(private_directory(tmp_path / "var")) == 0o700
    assert mode(private_file(tmp_path / "var" / "settle.db")) == 0o600
    assert mode(private_file(tmp_path / "var" / "new" / "file")) == 0o600 and mode(tmp_path / "var" / "new") == 0o700


def test_the_demo_secrets_and_their_directory_are_private(tmp_path, monkeypatch, settings):
    monkeypatch.chdir(tmp_path)
    demo_or_configured(settings, None, "SETTLE_LINK_SECRET", "link-secret")
    assert mode(tmp_path / "var") == 0o700 and mode(tmp_path / "var" / "link-secret") == 0o600


def test_the_servers_logs_are_private(tmp_path):
    port = free_port()
    part = runner.Part("web server", [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
                       f"http://127.0.0.1:{port}/", tmp_path / "log" / "web.log")
    try:
        runner.start(part, port, timeout=30)
    finally:
        runner.stop([part])
    assert mode(tmp_path / "log" / "web.log") == 0o600 and mode(tmp_path / "log") == 0o700
