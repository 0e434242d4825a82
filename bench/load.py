"""Per-turn latency and throughput of the running stack, what it costs to run, and whether it stays flat at scale.

Simulated customers talk to Rasa's REST channel exactly as an app would: each one verifies (a question,
the customer number, the postcode, the date of birth: the balance comes with it), asks why the bill is higher and asks to pay,
under a sender id nobody else uses. Every turn's latency is recorded and every reply is checked to be the
answer that step should get. Two baselines run at the same concurrency on the same stack: Rasa's bare
`POST /model/parse` (NLU only) with the same messages, and a "bare webhook turn" ("hello", whose answer
needs no business action). Figures are reported, never asserted.
"""
from __future__ import annotations

import asyncio
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests
from sqlalchemy import func, select

from bench import REPORT_DIR, bulk
from settle import schema
from settle.clock import clock_for
from settle.config import process_settings
from settle.db import engine_for, session_factory
from settle.errors import StartupError
from settle.identity import conversations
from settle.models import Customer, Invoice
from settle.tooling import runner
from settle.tooling.seed import seed

#: How many customers each phase draws its simulated customers from.
CUSTOMER_SAMPLE = 300
WARM_UP_JOURNEYS = 3
DEMO_CUSTOMERS = 500
SCALE_CONCURRENCY = 10
REQUEST_TIMEOUT = 120
TARGET_RATIO_TO_BARE_TURN = 1.5
TARGET_TURNS_PER_SECOND = 40.0

#: Replies that mean the bot did not answer the question, whatever the step expected.
NOT_AN_ANSWER = (
    "Sorry, I didn't understand",
    "Sorry, I can't help with that",
    "I'm having trouble understanding",
    "I can only share account details",
)


# ---------------------------------------------------------------------------------------------------------
# Pure parts: statistics and the journey's reply checks


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0–100) with linear interpolation between the closest ranks; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summarize(seconds: list[float]) -> dict:
    """Count, mean and p50/p95/p99/max of latencies given in seconds, in milliseconds."""
    def ms(value: float | None) -> float | None:
        return None if value is None else round(value * 1000, 1)

    return {
        "count": len(seconds),
        "mean_ms": ms(sum(seconds) / len(seconds)) if seconds else None,
        "p50_ms": ms(percentile(seconds, 50)),
        "p95_ms": ms(percentile(seconds, 95)),
        "p99_ms": ms(percentile(seconds, 99)),
        "max_ms": ms(max(seconds)) if seconds else None,
    }


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator rounded to two places; None when either is missing or the denominator is 0."""
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, 2)


def turns_per_second(turns: int, seconds: float) -> float:
    """Completed turns per second of wall-clock time."""
    return round(turns / seconds, 1) if seconds > 0 else 0.0


@dataclass(frozen=True)
class Step:
    """One customer message and the texts of which at least one must be in the replies."""

    name: str
    text: str
    expect: tuple[str, ...]
    expect_all: tuple[str, ...] = ()


def journey(customer_number: str, postcode: str, born: str) -> list[Step]:
    """The realistic journey: verify (the question, number, postcode, date of birth: the balance comes with it),
    explain, pay."""
    return [
        Step("ask_balance", "how much do I owe?", ("What is your customer number?",)),
        Step("customer_number", customer_number, ("What is the postcode",)),
        Step("postcode", postcode, ("date of birth",)),
        Step("birth_date", born, ("left to pay", "nothing left to pay"), expect_all=("I've found your account",)),
        Step("explain", "why is my bill higher this time?", ("Your latest bill", "your first one")),
        Step("pay", "I want to pay", ("personal link to pay", "nothing open to pay")),
    ]


BARE_STEP = Step("hello", "hello", ("I'm Settle, the billing assistant", "What can I do for you?"))


def reply_problem(replies, step: Step) -> str | None:
    """Why the replies to a step are not a real answer (empty, an error, a fallback, off the journey), or None."""
    if not isinstance(replies, list) or not replies:
        return f"{step.name}: no reply"
    texts = [reply.get("text") or "" for reply in replies if isinstance(reply, dict)]
    said = " | ".join(text for text in texts if text)
    if not said:
        return f"{step.name}: replies without text"
    for phrase in NOT_AN_ANSWER:
        if phrase in said:
            return f"{step.name}: not an answer: {said[:160]}"
    missing = [phrase for phrase in step.expect_all if phrase not in said]
    if missing or not any(phrase in said for phrase in step.expect):
        return f"{step.name}: unexpected reply: {said[:160]}"
    return None


def parse_problem(body) -> str | None:
    """Why a /model/parse answer is not a parse result, or None."""
    if not isinstance(body, dict) or not (body.get("intent") or {}).get("name"):
        return f"parse: no intent in {str(body)[:160]}"
    return None


# ---------------------------------------------------------------------------------------------------------
# The stack: action server and Rasa server on free loopback ports


@dataclass
class Stack:
    rasa_url: str
    actions_url: str
    web_url: str
    token: str
    parts: list
    pids: dict = field(default_factory=dict)


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


LINK_SECRET = "bench-link-secret"
ACTION_TOKEN = "bench-action-token"


def signed_sender(name: str) -> str:
    """The conversation id Settle would issue under this name: the REST channel takes no other sender."""
    return conversations.issue(conversations.conversation_key(LINK_SECRET.encode()), name)


def stack_environment(database_url: str, rasa_port: int, web_port: int, token: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "RASA_API_TOKEN": token,
        "SETTLE_RASA_URL": f"http://127.0.0.1:{rasa_port}",
        "SETTLE_PUBLIC_URL": f"http://127.0.0.1:{web_port}",
        "SETTLE_LINK_SECRET": LINK_SECRET,
        "SETTLE_ACTION_TOKEN": ACTION_TOKEN,
        "SETTLE_SESSION_SECRET": "bench-session-secret",
        "SETTLE_PAYMENT_PROVIDER": "sandbox",
        "SETTLE_DEMO": "1",
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
    }


@contextmanager
def running_stack(model: Path, database_url: str, work: Path, web: bool = False, action_url: str | None = None,
                  actions_port: int | None = None, extra_env: dict[str, str] | None = None) -> Iterator[Stack]:
    """Starts the action server, the Rasa server (REST, HTTP API with a token) and optionally the web app.

    `action_url` lets Rasa call the action server through something else (the profiler's timing proxy);
    `extra_env` is added to every part's environment (to try a change out without editing the code).
    """
    work.mkdir(parents=True, exist_ok=True)
    actions_port = actions_port or free_port()
    rasa_port, web_port = free_port(), free_port()
    token = secrets.token_hex(16)
    trackers = work / "trackers.db"
    trackers.unlink(missing_ok=True)
    endpoints = runner.endpoints_for_ports(work / "endpoints.yml", action_url or f"http://127.0.0.1:{actions_port}/webhook", trackers)
    env = {**stack_environment(database_url, rasa_port, web_port, token), **(extra_env or {})}
    parts = [(runner.action_server(actions_port, log_dir=work), actions_port)]
    parts.append((runner.rasa_server(rasa_port, str(model), api_token=token, endpoints=str(endpoints), log_dir=work), rasa_port))
    if web:
        parts.append((runner.web_app(web_port, log_dir=work), web_port))
    try:
        for part, port in parts:
            runner.start(part, port, env=env)
        yield Stack(f"http://127.0.0.1:{rasa_port}", f"http://127.0.0.1:{actions_port}", f"http://127.0.0.1:{web_port}",
                    token, [part for part, _ in parts], {part.name: part.process.pid for part, _ in parts})
    finally:
        runner.stop([part for part, _ in parts])


def fresh_seeded_sqlite(path: Path, customers: int = DEMO_CUSTOMERS) -> str:
    """A new SQLite database at `path` with the demo data as of today."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    schema.upgrade(url)
    with session_factory(url).begin() as session:
        seed(session, clock_for(process_settings()).today(), customers)
    return url


def sample_customers(database_url: str, limit: int = CUSTOMER_SAMPLE) -> list[tuple[str, str, str]]:
    """(customer number, postcode, date of birth as typed) of up to `limit` random customers that have bills, among
    those Settle answers in English once verified (the journeys' replies are checked against English texts)."""
    with session_factory(database_url).begin() as session:
        has_bills = select(Invoice.id).where(Invoice.customer_id == Customer.id).exists()
        rows = session.execute(
            select(Customer.customer_number, Customer.postcode, Customer.date_of_birth)
            .where(has_bills, Customer.language == "en").order_by(func.random()).limit(limit)
        ).all()
    return [(number, postcode, born.strftime("%d/%m/%Y")) for number, postcode, born in rows]


# ---------------------------------------------------------------------------------------------------------
# Simulated customers


@dataclass
class Phase:
    """What one kind of traffic at one concurrency measured."""

    kind: str
    concurrency: int
    latencies: list = field(default_factory=list)
    by_step: dict = field(default_factory=dict)
    failures: int = 0
    examples: list = field(default_factory=list)
    elapsed: float = 0.0

    def record(self, step: str, seconds: float, problem: str | None) -> None:
        self.latencies.append(seconds)
        self.by_step.setdefault(step, []).append(seconds)
        if problem:
            self.failures += 1
            if len(self.examples) < 5:
                self.examples.append(problem)

    def figures(self) -> dict:
        return {
            "turns": len(self.latencies),
            "seconds": round(self.elapsed, 1),
            "turns_per_second": turns_per_second(len(self.latencies), self.elapsed),
            "failed_turns": self.failures,
            "failure_examples": self.examples,
            **summarize(self.latencies),
            "by_step": {name: summarize(values) for name, values in self.by_step.items()},
        }


async def _post(session, url: str, body: dict) -> tuple[float, object, str | None]:
    """Seconds, decoded JSON (or None) and a transport problem (or None) of one POST."""
    import aiohttp

    started = time.perf_counter()
    try:
        async with session.post(url, json=body) as response:
            payload = await response.json(content_type=None)
            problem = None if response.status == 200 else f"HTTP {response.status}: {str(payload)[:160]}"
    except (aiohttp.ClientError, asyncio.TimeoutError, json.JSONDecodeError) as error:
        payload, problem = None, f"{type(error).__name__}: {error}"
    return time.perf_counter() - started, payload, problem


async def _customer(kind: str, session, stack: Stack, phase: Phase, customers, deadline: float, run: str, worker: int,
                    journeys: int | None = None) -> None:
    """One simulated customer after another until the deadline (or `journeys` of them), each a new sender."""
    webhook = f"{stack.rasa_url}/webhooks/rest/webhook"
    parse = f"{stack.rasa_url}/model/parse?token={stack.token}"
    done = 0
    while time.monotonic() < deadline and (journeys is None or done < journeys):
        number, postcode, born = customers[(worker * 7919 + done) % len(customers)]
        sender = signed_sender(f"bench-{run}-{kind}-{worker}-{done}")
        steps = journey(number, postcode, born)
        if kind == "bare":
            steps = [BARE_STEP] * len(steps)
        for step in steps:
            if kind == "parse":
                seconds, body, problem = await _post(session, parse, {"text": step.text})
                problem = problem or parse_problem(body)
            else:
                seconds, body, problem = await _post(session, webhook, {"sender": sender, "message": step.text})
                problem = problem or reply_problem(body, step)
            phase.record(step.name, seconds, problem)
            if problem and kind == "journey":
                break  # the rest of this journey would only measure a confused conversation
        done += 1


async def drive(stack: Stack, kind: str, concurrency: int, seconds: float, customers, run: str = "m",
                journeys: int | None = None) -> Phase:
    """`concurrency` simulated customers of one kind ("journey", "bare", "parse") for `seconds`."""
    import aiohttp

    phase = Phase(kind, concurrency)
    connector = aiohttp.TCPConnector(limit=concurrency + 5)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        started = time.monotonic()
        deadline = started + seconds
        await asyncio.gather(*(
            _customer(kind, session, stack, phase, customers, deadline, f"{run}{concurrency}", worker, journeys)
            for worker in range(concurrency)
        ))
        phase.elapsed = time.monotonic() - started
    return phase


def warm_up(stack: Stack, customers) -> Phase:
    """A few journeys, parses and greetings whose figures are thrown away."""
    async def go() -> Phase:
        for kind in ("parse", "bare"):
            await drive(stack, kind, 1, 60, customers, run="w", journeys=1)
        return await drive(stack, "journey", 1, 120, customers, run="w", journeys=WARM_UP_JOURNEYS)
    return asyncio.run(go())


# ---------------------------------------------------------------------------------------------------------
# The load benchmark


def run_load(model: Path, database_url: str, concurrency: list[int], seconds: float, say) -> tuple[dict, str]:
    """Per-turn latency and turns/s of the journeys at each concurrency, against bare parse and bare webhook turns.

    An empty `database_url` means a fresh SQLite database with the demo data in var/bench/.
    """
    work = REPORT_DIR / "load"
    if not database_url:
        say("seeding a fresh SQLite database with the demo customers (var/bench/load/settle.db)")
        database_url = fresh_seeded_sqlite(work / "settle.db")
    customers = sample_customers(database_url)
    if not customers:
        raise ValueError(f"no customers with bills in {database_url}: seed it first")
    say(f"starting the action server and Rasa ({model}) against {_safe(database_url)}")
    levels = {}
    with running_stack(model, database_url, work) as stack:
        warm = warm_up(stack, customers)
        if warm.failures:
            say(f"warm-up had {warm.failures} failed turns, e.g. {warm.examples[0]}")
        for n in concurrency:
            phases = {kind: asyncio.run(drive(stack, kind, n, seconds, customers)) for kind in ("journey", "bare", "parse")}
            levels[n] = phases
            say(_level_line(n, phases))
    figures = load_figures(levels, seconds, database_url)
    plot_histograms(levels, REPORT_DIR / "load-latency.png")
    figures["histograms"] = str(REPORT_DIR / "load-latency.png")
    return figures, load_markdown(figures)


def load_figures(levels: dict[int, dict[str, Phase]], seconds: float, database_url: str) -> dict:
    """The JSON figures of a load run: per concurrency, the three kinds of traffic and the ratios."""
    by_level = {}
    for n, phases in levels.items():
        journey_, bare, parse = (phases[kind].figures() for kind in ("journey", "bare", "parse"))
        by_level[str(n)] = {
            "journey": journey_,
            "bare_webhook": bare,
            "parse": parse,
            "p95_turn_over_p95_parse": ratio(journey_["p95_ms"], parse["p95_ms"]),
            "p95_turn_over_p95_bare_webhook": ratio(journey_["p95_ms"], bare["p95_ms"]),
        }
    at_20 = by_level.get("20", {})
    best = max((level["journey"]["turns_per_second"] for level in by_level.values()), default=0.0)
    return {
        "database": _safe(database_url).split(":", 1)[0],
        "seconds_per_phase": seconds,
        "concurrency": by_level,
        "targets": {
            "p95_turn_over_p95_bare_webhook_at_20": at_20.get("p95_turn_over_p95_bare_webhook"),
            "p95_ratio_target": TARGET_RATIO_TO_BARE_TURN,
            "best_turns_per_second": best,
            "turns_per_second_target": TARGET_TURNS_PER_SECOND,
            "rasa_processes": 1,
        },
    }


def load_markdown(figures: dict) -> str:
    lines = [
        "## Load: per-turn latency and throughput (REST)",
        "",
        f"Each phase ran {figures['seconds_per_phase']:g} s per concurrency after a discarded warm-up; database: "
        f"{figures['database']}. A journey: balance question → customer number → postcode → date of birth (verified, balance) → "
        "\"why is my bill higher\" → \"I want to pay\". Bare webhook turn: \"hello\". Parse: `/model/parse` with "
        "the journey's messages. Latencies in ms.",
        "",
        "| N | turns/s | p50 | p95 | p99 | failed | bare turn p50 | bare p95 | parse p95 | p95 turn / bare | p95 turn / parse |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for n, level in figures["concurrency"].items():
        j, b, p = level["journey"], level["bare_webhook"], level["parse"]
        lines.append(
            f"| {n} | {j['turns_per_second']} | {j['p50_ms']} | {j['p95_ms']} | {j['p99_ms']} | {j['failed_turns']} | "
            f"{b['p50_ms']} | {b['p95_ms']} | {p['p95_ms']} | {level['p95_turn_over_p95_bare_webhook']} | "
            f"{level['p95_turn_over_p95_parse']} |"
        )
    lines += ["", "p95 per journey step (ms):", "", "| N | " + " | ".join(_step_names(figures)) + " |",
              "| ---: |" + " ---: |" * len(_step_names(figures))]
    for n, level in figures["concurrency"].items():
        steps = level["journey"]["by_step"]
        lines.append(f"| {n} | " + " | ".join(str(steps.get(name, {}).get("p95_ms")) for name in _step_names(figures)) + " |")
    targets = figures["targets"]
    at_20 = targets["p95_turn_over_p95_bare_webhook_at_20"]
    lines += [
        "",
        f"- Target p95 per turn ≤ {targets['p95_ratio_target']} × p95 of a bare webhook turn at N=20: "
        + ("not measured (N=20 not run)" if at_20 is None else f"{at_20} × ({'met' if at_20 <= targets['p95_ratio_target'] else 'not met'})"),
        f"- Target ≥ {targets['turns_per_second_target']:g} turns/s per Rasa process: best {targets['best_turns_per_second']} "
        f"turns/s ({'met' if targets['best_turns_per_second'] >= targets['turns_per_second_target'] else 'not met'}).",
        f"- Histograms: `{figures.get('histograms', 'var/bench/load-latency.png')}`.",
    ]
    failures = [ex for level in figures["concurrency"].values() for kind in ("journey", "bare_webhook", "parse")
                for ex in level[kind]["failure_examples"]]
    if failures:
        lines += ["", "Examples of failed turns:", "", *(f"- {example}" for example in failures[:5])]
    return "\n".join(lines) + "\n"


def _step_names(figures: dict) -> list[str]:
    return [step.name for step in journey("", "", "")]


def _level_line(n: int, phases: dict[str, Phase]) -> str:
    j, b, p = (phases[kind].figures() for kind in ("journey", "bare", "parse"))
    return (f"N={n}: {j['turns']} turns, {j['turns_per_second']} turns/s, p50 {j['p50_ms']} ms, p95 {j['p95_ms']} ms, "
            f"p99 {j['p99_ms']} ms, {j['failed_turns']} failed; bare turn p95 {b['p95_ms']} ms; parse p95 {p['p95_ms']} ms")


def plot_histograms(levels: dict[int, dict[str, Phase]], path: Path) -> None:
    """One row per concurrency: the distribution of journey turns, bare webhook turns and parses."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    figure, axes = plt.subplots(len(levels), 1, figsize=(8, 2.6 * max(len(levels), 1)), squeeze=False)
    for axis, (n, phases) in zip(axes[:, 0], levels.items()):
        for kind, label in (("journey", "journey turn"), ("bare", "bare webhook turn"), ("parse", "/model/parse")):
            values = [seconds * 1000 for seconds in phases[kind].latencies]
            if values:
                axis.hist(values, bins=50, alpha=0.5, label=label)
        axis.set_title(f"N = {n}")
        axis.set_xlabel("latency (ms)")
        axis.set_ylabel("turns")
        axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def _safe(url: str) -> str:
    """The URL without a password, for printing."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        credentials, host = rest.rsplit("@", 1)
        return f"{scheme}://{credentials.split(':', 1)[0]}@{host}"
    return url


# ---------------------------------------------------------------------------------------------------------
# Cost: model size, start time, memory, training time

TRAINING_RECORD = REPORT_DIR / "cost-train.json"


def resident_kib(pid: int) -> int:
    """VmRSS of a process and all its descendants, in KiB (0 for a process that is gone)."""
    total = 0
    for member in [pid, *_descendants(pid)]:
        try:
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except (FileNotFoundError, ProcessLookupError):
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def rasa_start_seconds(model: Path, work: Path, database_url: str) -> float:
    """Seconds from starting the Rasa server process until `GET /` answers."""
    port = free_port()
    endpoints = runner.endpoints_for_ports(work / "endpoints-start.yml", f"http://127.0.0.1:{free_port()}/webhook", work / "start-trackers.db")
    part = runner.rasa_server(port, str(model), api_token=None, endpoints=str(endpoints), log_dir=work)
    part.log.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **stack_environment(database_url, port, free_port(), "unused"), "SANIC_HOST": "127.0.0.1"}
    started = time.perf_counter()
    with part.log.open("w") as log:
        part.process = subprocess.Popen(part.command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        while time.perf_counter() - started < 600:
            if part.process.poll() is not None:
                raise StartupError(f"Rasa stopped while starting; see {part.log}")
            if runner.answers(part.health_url):
                return round(time.perf_counter() - started, 1)
            time.sleep(0.1)
        raise StartupError("Rasa did not answer within 600 s")
    finally:
        runner.stop([part])


def run_cost(model: Path, say, train: bool = False) -> tuple[dict, str]:
    """Model size, Rasa start time, resident memory after a short load, and training time (measured or last known)."""
    work = REPORT_DIR / "cost"
    database_url = fresh_seeded_sqlite(work / "settle.db")
    figures: dict = {"model_mb": round(model.stat().st_size / 1e6, 1)}
    say(f"model {model}: {figures['model_mb']} MB")
    figures["rasa_start_seconds"] = rasa_start_seconds(model, work, database_url)
    say(f"Rasa server start (process start → GET / answers): {figures['rasa_start_seconds']} s")
    with running_stack(model, database_url, work, web=True) as stack:
        customers = sample_customers(database_url)
        asyncio.run(drive(stack, "journey", 5, 20, customers, run="cost"))
        requests.get(f"{stack.web_url}/health", timeout=10)
        memory = {name: round(resident_kib(pid) / 1024, 1) for name, pid in stack.pids.items()}
    figures["resident_mb_after_load"] = memory
    say("resident memory after a short load: " + ", ".join(f"{name} {mb} MB" for name, mb in memory.items()))
    if train:
        figures["training"] = measure_training(say)
    elif TRAINING_RECORD.exists():
        figures["training"] = {**json.loads(TRAINING_RECORD.read_text()), "measured_in_this_run": False}
    else:
        figures["training"] = None
    return figures, cost_markdown(figures)


def measure_training(say) -> dict:
    """Times `rasa train --force` into var/bench/cost-train (never over models/) and remembers the result."""
    out = REPORT_DIR / "cost-train"
    say("training the model (rasa train --force), this takes minutes")
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "rasa", "train", "--force", "--out", str(out), "--quiet"], check=True)
    record = {"seconds": round(time.perf_counter() - started, 1), "measured_on": clock_for(process_settings()).today().isoformat(),
              "cores": os.cpu_count()}
    TRAINING_RECORD.parent.mkdir(parents=True, exist_ok=True)
    TRAINING_RECORD.write_text(json.dumps(record))
    say(f"training took {record['seconds']} s")
    return {**record, "measured_in_this_run": True}


def cost_markdown(figures: dict) -> str:
    memory = figures["resident_mb_after_load"]
    training = figures["training"]
    if training is None:
        training_line = "not measured yet (`--train` measures it)"
    elif training.get("measured_in_this_run"):
        training_line = f"{training['seconds']} s (measured in this run)"
    else:
        training_line = f"{training['seconds']} s (last measured on {training['measured_on']}, not in this run)"
    return "\n".join([
        "## Cost",
        "",
        "| what | figure |",
        "| --- | ---: |",
        f"| model size | {figures['model_mb']} MB |",
        f"| Rasa server start (process start → `GET /` answers) | {figures['rasa_start_seconds']} s |",
        *(f"| resident memory of the {name} after a short load (incl. child processes) | {mb} MB |" for name, mb in memory.items()),
        f"| training (`rasa train --force`) | {training_line} |",
    ]) + "\n"


# ---------------------------------------------------------------------------------------------------------
# Scale: the same journeys over 10,000 and 1,000,000 invoices in PostgreSQL

def run_scale(model: Path, postgres_url: str, sizes: list[int], say, seconds: float = 60.0) -> tuple[dict, str]:
    """The same journeys at N=10 for `seconds` over each number of invoices; per-turn latency should stay flat."""
    results = {}
    for size in sizes:
        say(f"{size:,} invoices in PostgreSQL")
        counts = bulk.seed_invoices(postgres_url, size, say)
        engine_for(postgres_url).dispose()
        customers = sample_customers(postgres_url)
        with running_stack(model, postgres_url, REPORT_DIR / "scale") as stack:
            warm_up(stack, customers)
            phase = asyncio.run(drive(stack, "journey", SCALE_CONCURRENCY, seconds, customers))
        results[str(size)] = {**counts, **{key: value for key, value in phase.figures().items() if key != "failure_examples"},
                              "failure_examples": phase.examples}
        result = results[str(size)]
        say(f"N={SCALE_CONCURRENCY}: p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms, {result['turns_per_second']} turns/s, "
            f"{result['failed_turns']} failed")
    keys = list(results)
    figures = {"concurrency": SCALE_CONCURRENCY, "seconds": seconds, "sizes": results}
    if len(keys) >= 2:
        first, last = results[keys[0]], results[keys[-1]]
        figures["p50_ratio_largest_to_smallest"] = ratio(last["p50_ms"], first["p50_ms"])
        figures["p95_ratio_largest_to_smallest"] = ratio(last["p95_ms"], first["p95_ms"])
    return figures, scale_markdown(figures)


def scale_markdown(figures: dict) -> str:
    lines = [
        "## Scale: per-turn latency against the number of invoices (PostgreSQL)",
        "",
        f"The journeys at N={figures['concurrency']} for {figures['seconds']:g} s per size, customers drawn from the whole "
        "table. Latencies in ms.",
        "",
        "| invoices | customers | turns/s | p50 | p95 | p99 | failed | p95 explain | p95 pay |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for size, result in figures["sizes"].items():
        steps = result["by_step"]
        lines.append(
            f"| {int(size):,} | {result['customers']:,} | {result['turns_per_second']} | {result['p50_ms']} | {result['p95_ms']} | "
            f"{result['p99_ms']} | {result['failed_turns']} | {steps.get('explain', {}).get('p95_ms')} | {steps.get('pay', {}).get('p95_ms')} |"
        )
    if "p95_ratio_largest_to_smallest" in figures:
        lines += ["", f"Largest / smallest: p50 × {figures['p50_ratio_largest_to_smallest']}, "
                      f"p95 × {figures['p95_ratio_largest_to_smallest']} (flat is ≈ 1)."]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------------------
# Profile of one conversation: where a turn's time goes, and how big the tracker sent to the action server is

PROFILE_QUESTIONS = ["what is my balance", "when do I have to pay?", "show me my bills", "why is my bill higher this time?",
                     "I want to pay", "hello"]


@dataclass
class ActionCall:
    action: str
    request_bytes: int
    events: int
    seconds: float


async def _timing_proxy(target: str, port: int, calls: list[ActionCall]):
    """A pass-through in front of the action server that times every /webhook call and measures its body."""
    import aiohttp
    from aiohttp import web

    client = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT))

    async def forward(request: web.Request) -> web.Response:
        body = await request.read()
        payload = json.loads(body)
        started = time.perf_counter()
        headers = {"Content-Type": "application/json", "Authorization": request.headers.get("Authorization", "")}
        async with client.post(target, data=body, headers=headers) as response:
            answer = await response.read()
            status = response.status
        calls.append(ActionCall(payload.get("next_action", "?"), len(body), len((payload.get("tracker") or {}).get("events") or []),
                                time.perf_counter() - started))
        return web.Response(body=answer, status=status, content_type="application/json")

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/webhook", forward)
    site_runner = web.AppRunner(app, access_log=None)
    await site_runner.setup()
    await web.TCPSite(site_runner, "127.0.0.1", port).start()
    return site_runner, client


def profile_conversation(model: Path, database_url: str, say, turns: int = 30) -> dict:
    """One customer's conversation of `turns` turns, each turn split into NLU, action-server calls and the rest.

    Rasa reaches the action server through a timing proxy, which adds a hop of about a millisecond.
    """
    work = REPORT_DIR / "profile"
    if not database_url:
        database_url = fresh_seeded_sqlite(work / "settle.db")
    number, postcode = sample_customers(database_url, 1)[0]
    actions_port, proxy_port = free_port(), free_port()
    with running_stack(model, database_url, work, action_url=f"http://127.0.0.1:{proxy_port}/webhook",
                       actions_port=actions_port) as stack:
        rows = asyncio.run(_profile(stack, f"http://127.0.0.1:{actions_port}/webhook", proxy_port, number, postcode, turns))
    for row in rows:
        say(f"turn {row['turn']:>2} {row['text'][:28]:<28} {row['turn_ms']:>7.1f} ms: parse {row['parse_ms']:.1f} ms, "
            f"{len(row['action_calls'])} action calls {row['actions_ms']:.1f} ms, last tracker sent {row['last_request_bytes']:,} B "
            f"({row['last_events']} events)")
    return {"turns": rows, "summary": profile_summary(rows)}


async def _profile(stack: Stack, target: str, proxy_port: int, number: str, postcode: str, turns: int) -> list[dict]:
    import aiohttp

    calls: list[ActionCall] = []
    site_runner, client = await _timing_proxy(target, proxy_port, calls)
    steps = [step.text for step in journey(number, postcode)]
    while len(steps) < turns:
        steps.append(PROFILE_QUESTIONS[len(steps) % len(PROFILE_QUESTIONS)])
    rows = []
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)) as session:
            for turn, message in enumerate(steps[:turns], start=1):
                first = len(calls)
                seconds, body, problem = await _post(session, f"{stack.rasa_url}/webhooks/rest/webhook",
                                                     {"sender": signed_sender("bench-profile"), "message": message})
                parse_seconds, _, _ = await _post(session, f"{stack.rasa_url}/model/parse?token={stack.token}", {"text": message})
                made = calls[first:]
                rows.append({
                    "turn": turn,
                    "text": message,
                    "turn_ms": round(seconds * 1000, 1),
                    "parse_ms": round(parse_seconds * 1000, 1),
                    "actions_ms": round(sum(call.seconds for call in made) * 1000, 1),
                    "action_calls": [{"action": call.action, "bytes": call.request_bytes, "events": call.events,
                                      "ms": round(call.seconds * 1000, 1)} for call in made],
                    "last_request_bytes": made[-1].request_bytes if made else 0,
                    "last_events": made[-1].events if made else 0,
                    "problem": problem,
                })
    finally:
        await client.close()
        await site_runner.cleanup()
    return rows


def profile_summary(rows: list[dict]) -> dict:
    """Totals over the conversation: time shares and tracker bytes per action call at a few turns."""
    total = sum(row["turn_ms"] for row in rows)
    parse = sum(row["parse_ms"] for row in rows)
    actions = sum(row["actions_ms"] for row in rows)
    calls = [call for row in rows for call in row["action_calls"]]
    check = [call for call in calls if call["action"] == "action_check_message"]
    at = {str(row["turn"]): {"bytes_per_call": row["last_request_bytes"], "events": row["last_events"]}
          for row in rows if row["turn"] in (1, 5, 10, 20, 30)}
    return {
        "turn_ms_mean": round(total / len(rows), 1) if rows else None,
        "share_nlu": ratio(parse, total),
        "share_action_server": ratio(actions, total),
        "share_rest_of_rasa": ratio(total - parse - actions, total),
        "action_calls_per_turn": round(len(calls) / len(rows), 2) if rows else None,
        "check_message_calls": len(check),
        "check_message_ms_mean": round(sum(call["ms"] for call in check) / len(check), 1) if check else None,
        "tracker_at_turn": at,
        "bytes_sent_to_action_server": sum(call["bytes"] for call in calls),
    }
