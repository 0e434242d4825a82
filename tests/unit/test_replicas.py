"""`settle run --replicas N`: what it gives HAProxy and the Rasa replicas, and where it refuses to start."""
from __future__ import annotations

import subprocess
import sys

import yaml

from settle.tooling import replicas

LAYOUT = replicas.Layout(rasa_port=5005, actions_port=5055, replicas=3)


def test_haproxy_accepts_the_configuration_and_balances_every_replica(tmp_path):
    config = tmp_path / "haproxy.cfg"
    config.write_text(replicas.haproxy_config(LAYOUT))

    checked = subprocess.run(["haproxy", "-c", "-f", str(config)], capture_output=True, text=True)

    assert checked.returncode == 0, checked.stdout + checked.stderr
    text = config.read_text()
    for port in (5015, 5016, 5017, 5065, 5066, 5067):
        assert f"127.0.0.1:{port} check" in text
    assert "bind 127.0.0.1:5005" in text and "bind 127.0.0.1:5055" in text


def test_replicas_share_the_postgresql_tracker_store_without_its_password_on_disk(tmp_path):
    path, env = replicas.endpoints(tmp_path / "endpoints.yml", LAYOUT, "postgresql://settle:s3cret@db.internal:6543/settle")

    written = yaml.safe_load(path.read_text())
    project = yaml.safe_load(open("endpoints.yml"))
    assert written["tracker_store"] == {
        "type": project["tracker_store"]["type"], "dialect": "postgresql", "url": "db.internal", "port": 6543,
        "db": "settle", "username": "settle", "password": "${SETTLE_TRACKER_DB_PASSWORD}",
    }
    assert "s3cret" not in path.read_text()
    assert env == {"SETTLE_TRACKER_DB_PASSWORD": "s3cret"}
    assert written["action_endpoint"]["url"] == "http://127.0.0.1:5055/webhook"  # through the balancer
    assert written["lock_store"] == project["lock_store"]  # Redis with REDIS_URL


def test_replicas_refuse_to_start_without_postgresql_and_redis(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": f"sqlite:///{tmp_path}/settle.db", "SETTLE_DEMO": "1"}

    refused = subprocess.run([sys.executable, "-m", "settle.tooling.cli", "run", "--replicas", "2"],
                             capture_output=True, text=True, env=env, timeout=60)

    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines() == [
        "settle run: --replicas needs DATABASE_URL on PostgreSQL and REDIS_URL, which the replicas share (docs/operations.md)."
    ]
