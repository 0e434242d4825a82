"""The production shape on one machine: several Rasa servers and action servers behind HAProxy.

Every Rasa replica reads and writes conversations in the shared PostgreSQL tracker store, takes its turn with
the Redis lock store, shares socket.io rooms through Redis and calls the action servers through the load
balancer; so a message may go to any replica. Only socket.io long-polling needs stickiness (one socket's
requests must reach the process holding it): those go by the client's address. HAProxy checks each server's
health every 2 seconds and sends nothing to one that is down.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import yaml
from sqlalchemy.engine import make_url

from settle.tooling import runner

#: The first replica's port is the load balancer's port plus this; the next ones follow.
REPLICA_PORT_OFFSET = 10
#: Where HAProxy answers for itself (200 while it runs), whatever the replicas' state.
BALANCER_HEALTH_PATH = "/balancer/health"
#: The environment variable the generated endpoints take the tracker database's password from (never written to disk).
TRACKER_PASSWORD_VARIABLE = "SETTLE_TRACKER_DB_PASSWORD"
#: A turn whose Rasa process died waits for its lock ticket to expire (TICKET_LOCK_LIFETIME, 60 s) on another.
SERVER_TIMEOUT_SECONDS = 90


@dataclass(frozen=True)
class Layout:
    """Who listens where: the balancer on the ports customers and Rasa already know, the replicas next to them."""

    rasa_port: int
    actions_port: int
    replicas: int

    @property
    def rasa_ports(self) -> list[int]:
        return [self.rasa_port + REPLICA_PORT_OFFSET + number for number in range(self.replicas)]

    @property
    def actions_ports(self) -> list[int]:
        return [self.actions_port + REPLICA_PORT_OFFSET + number for number in range(self.replicas)]


def tracker_store(database_url: str, project: Path = Path("endpoints.yml")) -> tuple[dict, dict[str, str]]:
    """The project's tracker store (PrivateSQLTrackerStore) on the PostgreSQL database of DATABASE_URL, and the
    environment it needs: Rasa expands the password from the environment, so it is never written to var/."""
    url = make_url(database_url)
    store = {key: value for key, value in yaml.safe_load(project.read_text())["tracker_store"].items() if key != "db"}
    # Rasa hands a custom store's `url` to it as `host` (a `host` key would be given twice)
    store.update(dialect="postgresql", url=url.host or "127.0.0.1", port=url.port or 5432, db=url.database,
                 username=url.username or "postgres")
    if not url.password:
        return store, {}
    store["password"] = "${" + TRACKER_PASSWORD_VARIABLE + "}"
    return store, {TRACKER_PASSWORD_VARIABLE: url.password}


def endpoints(path: Path, layout: Layout, database_url: str, project: Path = Path("endpoints.yml")) -> tuple[Path, dict[str, str]]:
    """endpoints.yml for every replica: actions through the balancer, conversations in the shared SQL store."""
    written = yaml.safe_load(project.read_text())
    written["action_endpoint"]["url"] = f"http://127.0.0.1:{layout.actions_port}/webhook"
    written["tracker_store"], env = tracker_store(database_url, project)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(written, sort_keys=False))
    return path, env


def haproxy_config(layout: Layout) -> str:
    """HAProxy in front of the Rasa replicas (REST, HTTP API, socket.io) and of the action servers."""
    def servers(prefix: str, ports: list[int]) -> str:
        return "\n".join(f"    server {prefix}{number} 127.0.0.1:{port} check" for number, port in enumerate(ports))

    return f"""# Written by `settle run --replicas {layout.replicas}` (settle/tooling/replicas.py); rewritten at every start.
global
    maxconn 4096
    # one line per request and per server state change, into var/log/haproxy.log
    log stderr format raw local0

defaults
    mode http
    log global
    option httplog
    option forwardfor
    timeout connect 2s
    timeout client {SERVER_TIMEOUT_SECONDS}s
    timeout server {SERVER_TIMEOUT_SECONDS}s
    timeout tunnel 1h
    # a request that could not reach a server, or that a server died serving (no answer at all), goes to
    # another: Rasa saves a turn just before answering, so the turn is taken there, once its lock ticket expires
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response
    # one request per client connection: HAProxy retries only a connection's first request; a later one whose
    # server died it closes without an answer (as a keep-alive race), which a client does not resend for a POST
    option httpclose
    # Rasa answers nothing while a turn's inference holds its event loop: a check waits up to 5 s, three fail in a row;
    # but a server that refuses or drops a connection (a killed process) is taken out at once, not 6 s later
    timeout check 5s
    default-server inter 2s fall 3 rise 2 observe layer4 error-limit 1 on-error mark-down

frontend rasa
    bind 127.0.0.1:{layout.rasa_port}
    monitor-uri {BALANCER_HEALTH_PATH}
    use_backend rasa_sockets if {{ path_beg /socket.io }}
    default_backend rasa

backend rasa
    balance roundrobin
    option httpchk GET /
    http-check expect status 200
    http-response set-header X-Settle-Replica %s
{servers("rasa", layout.rasa_ports)}

# One socket's long-polling requests must reach the process that holds it: by the client's address.
backend rasa_sockets
    balance source
    hash-type consistent
    option httpchk GET /
    http-check expect status 200
{servers("rasa", layout.rasa_ports)}

frontend actions
    bind 127.0.0.1:{layout.actions_port}
    default_backend actions

# A call that reached an action server killed mid-action (no answer) goes to another (retry-on empty-response):
# the action runs there, and the customer gets its answer; with none up, Rasa says "ask again in a moment"
# (components/action_outage.py).
backend actions
    balance leastconn
    option httpchk GET /health
    http-check expect status 200
    http-response set-header X-Settle-Replica %s
{servers("actions", layout.actions_ports)}
"""


def load_balancer(config: Path, layout: Layout, log_dir: Path = runner.LOG_DIR) -> runner.Part:
    """Debian's HAProxy in the foreground (`-db`), with the configuration `haproxy_config` wrote."""
    config.write_text(haproxy_config(layout))
    return runner.Part("load balancer", ["haproxy", "-db", "-f", str(config)],
                       f"http://127.0.0.1:{layout.rasa_port}{BALANCER_HEALTH_PATH}", log_dir / "haproxy.log")


def parts(layout: Layout, model: str, api_token: str | None, endpoints_path: Path, log_dir: Path = runner.LOG_DIR) -> list[tuple[runner.Part, int]]:
    """The action servers, the load balancer and the Rasa servers, in the order they are started."""
    actions = []
    for number, port in enumerate(layout.actions_ports):
        part = runner.action_server(port, log_dir)
        part.name, part.log, part.replica = f"action server {number + 1}", log_dir / f"actions-{number + 1}.log", True
        actions.append((part, port))
    rasas = []
    for number, port in enumerate(layout.rasa_ports):
        part = runner.rasa_server(port, model, api_token, str(endpoints_path), log_dir)
        part.name, part.log, part.replica = f"Rasa server {number + 1}", log_dir / f"rasa-{number + 1}.log", True
        rasas.append((part, port))
    balancer = load_balancer(endpoints_path.parent / "haproxy.cfg", layout, log_dir)
    return [*actions, (balancer, layout.rasa_port), *rasas]


def rasa_environment() -> dict[str, str]:
    """Behind the balancer, one more proxy adds itself to X-Forwarded-For: Rasa must skip it to find the customer's
    address (verification throttles per address)."""
    return {"SANIC_PROXIES_COUNT": str(int(os.environ.get("SANIC_PROXIES_COUNT") or 0) + 1)}
