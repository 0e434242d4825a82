"""Throughput of the production shape: 1 and 2 Rasa processes side by side in one run, per process and per core.

`settle run --replicas 2`'s parts (2 Rasa servers, 2 action servers, HAProxy, PostgreSQL, Redis) are started once.
The same journeys as the load benchmark, and the bare Rasa turn ("hello", no business action) as the baseline,
run first against one Rasa replica directly and then through HAProxy against both. For each: turns/s, per Rasa
process, per core of the machine, and per CPU-second the Rasa processes used (what a turn costs, whatever else
runs on the machine), with p50/p95/p99. The load generator runs on the same machine and takes CPU too.
"""
from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import time
from pathlib import Path

import requests

from bench import REPORT_DIR, bulk
from bench.load import Stack, drive, free_port, sample_customers, stack_environment, warm_up
from settle.errors import StartupError
from settle.tooling import replicas, runner

REPLICA_CONCURRENCY = 20
START_SECONDS = 900  # two models loading side by side on a busy machine
KINDS = {"journey": "journeys", "bare": "bare Rasa turn"}


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU time the processes have used so far, in seconds (from /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return total


def _served_by(balancer_url: str, requests_made: int = 4) -> set[str]:
    """The Rasa replicas HAProxy sends requests to now (round-robin)."""
    served = set()
    for _ in range(requests_made):
        try:
            served.add(requests.get(f"{balancer_url}/", timeout=10).headers.get("X-Settle-Replica"))
        except requests.RequestException:
            pass
    return served - {None}


def run_replicas(model: Path, database_url: str, redis_url: str, seconds: float, say,
                 concurrency: int = REPLICA_CONCURRENCY) -> tuple[dict, str]:
    """Journeys and bare turns at `concurrency` against 1 Rasa replica, then 2 behind HAProxy, for `seconds` each."""
    if not shutil.which("haproxy"):
        raise StartupError("the replicas benchmark needs HAProxy in front of the replicas: install it (`apt-get install haproxy`)")
    work = REPORT_DIR / "replicas"
    work.mkdir(parents=True, exist_ok=True)
    bulk.seed_invoices(database_url, 0, say)  # a fresh database: the demo customers, and Rasa's events table anew
    customers = sample_customers(database_url)
    layout = replicas.Layout(free_port(), free_port(), replicas=2)
    token = secrets.token_hex(16)
    endpoints, tracker_env = replicas.endpoints(work / "endpoints-replicas.yml", layout, database_url)
    parts = replicas.parts(layout, str(model), token, endpoints, log_dir=work)
    environment = {**stack_environment(database_url, layout.rasa_port, free_port(), token), "REDIS_URL": redis_url,
                   **tracker_env, **replicas.rasa_environment()}
    say(f"starting 2 Rasa servers, 2 action servers and HAProxy (models load side by side; logs in {work})")
    started = time.monotonic()
    try:
        runner.start_together(parts, timeout=START_SECONDS, env=environment)
        balancer = f"http://127.0.0.1:{layout.rasa_port}"
        while _served_by(balancer) != {"rasa0", "rasa1"}:  # HAProxy sees both up after two health checks
            if time.monotonic() - started > START_SECONDS:
                raise StartupError("HAProxy did not send requests to both Rasa replicas")
            time.sleep(1)
        say(f"all answering after {time.monotonic() - started:.0f} s")
        rasa_pids = [part.process.pid for part, port in parts if port in layout.rasa_ports and part.process]
        one = f"http://127.0.0.1:{layout.rasa_ports[0]}"
        warm_up(Stack(balancer, "", "", token, []), customers)
        rows = []
        for processes, url, used in ((1, one, rasa_pids[:1]), (2, balancer, rasa_pids)):
            for kind in KINDS:
                before = cpu_seconds(used)
                phase = asyncio.run(drive(Stack(url, "", "", token, []), kind, concurrency, seconds, customers, run=f"r{processes}"))
                rows.append(_row(processes, kind, phase.figures(), cpu_seconds(used) - before))
                say(_line(rows[-1]))
    finally:
        runner.stop([part for part, _ in parts])
    journeys = {str(row["rasa_processes"]): row["turns_per_second"] for row in rows if row["traffic"] == KINDS["journey"]}
    figures = {"concurrency": concurrency, "seconds_per_phase": seconds, "cores": os.cpu_count(), "rows": rows,
               "journey_turns_per_second": journeys}
    return figures, replicas_markdown(figures)


def _row(processes: int, kind: str, phase: dict, rasa_cpu_seconds: float) -> dict:
    rate = phase["turns_per_second"]
    return {
        "rasa_processes": processes, "traffic": KINDS[kind], "turns": phase["turns"], "failed_turns": phase["failed_turns"],
        "turns_per_second": rate, "per_process": round(rate / processes, 1), "per_core": round(rate / (os.cpu_count() or 1), 1),
        "turns_per_rasa_cpu_second": round(phase["turns"] / rasa_cpu_seconds, 1) if rasa_cpu_seconds > 0 else None,
        "rasa_cpu_share": round(rasa_cpu_seconds / phase["seconds"], 2) if phase["seconds"] else None,
        "p50_ms": phase["p50_ms"], "p95_ms": phase["p95_ms"], "p99_ms": phase["p99_ms"],
        "failure_examples": phase["failure_examples"],
    }


def _line(row: dict) -> str:
    return (f"{row['rasa_processes']} Rasa process{'es' if row['rasa_processes'] > 1 else ''}, {row['traffic']}: "
            f"{row['turns']} turns, {row['turns_per_second']} turns/s ({row['per_process']} per process, {row['per_core']} per core, "
            f"{row['turns_per_rasa_cpu_second']} per Rasa CPU-second; Rasa used {row['rasa_cpu_share']} cores), "
            f"p50 {row['p50_ms']} ms, p95 {row['p95_ms']} ms, p99 {row['p99_ms']} ms, {row['failed_turns']} failed")


def replicas_markdown(figures: dict) -> str:
    lines = [
        "## Replicas: 1 and 2 Rasa processes side by side (PostgreSQL, Redis locks, HAProxy)",
        "",
        f"{figures['concurrency']} simulated customers for {figures['seconds_per_phase']:g} s per row, on {figures['cores']} cores "
        "shared with the load generator. 1 process: straight to one replica; 2: through HAProxy. Per core: turns/s over the "
        "machine's cores; per Rasa CPU-second: turns over the CPU time the Rasa processes used. Latencies in ms.",
        "",
        "| Rasa processes | traffic | turns/s | per process | per core | per Rasa CPU-second | cores Rasa used | p50 | p95 | p99 | failed |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in figures["rows"]:
        lines.append(f"| {row['rasa_processes']} | {row['traffic']} | {row['turns_per_second']} | {row['per_process']} | "
                     f"{row['per_core']} | {row['turns_per_rasa_cpu_second']} | {row['rasa_cpu_share']} | {row['p50_ms']} | "
                     f"{row['p95_ms']} | {row['p99_ms']} | {row['failed_turns']} |")
    failures = [example for row in figures["rows"] for example in row.get("failure_examples", [])]
    if failures:
        lines += ["", "Examples of failed turns:", "", *(f"- {example}" for example in failures[:5])]
    return "\n".join(lines) + "\n"
