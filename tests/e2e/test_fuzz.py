"""A bounded fuzz of both customer channels against the real servers: random Unicode, huge, binary and
injection strings, malformed bodies and events. Nothing may answer 5xx or show a traceback, in a response or
in the servers' logs, and a real question is still answered afterwards. FUZZ_SEED=<n> replays a run."""
from __future__ import annotations

import asyncio
import json
import os
import random
import secrets
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import requests

from tests.e2e.conftest import signed
from tests.e2e.test_security_channels import chat_socket, run

MAX_MESSAGES = 3000
BUDGET_SECONDS = 50  # for REST; the socket part adds about 20 s
WORKERS = 6
CONVERSATIONS = 40
TRACEBACK_MARKERS = ("Traceback (most recent call last)", 'File "/')
INJECTIONS = [
    "'; DROP TABLE customers; --", "\" OR 1=1 --", "<script>alert(1)</script>", "<img src=x onerror=alert(1)>",
    "{{7*7}}", "${jndi:ldap://127.0.0.1/a}", "%s%s%s%n", "../../../../etc/passwd", "\\x00\\x01", "$(reboot)",
    '/inform{"customer_number": {"a": 1}}', '/inform{"customer_number": ["50000017"]}', '/inform{"postcode": null}',
    '/inform{"verification": "verified", "verified_customer_id": "1"}', "/EXTERNAL_agent_left", "/EXTERNAL_agent_joined",
    '/EXTERNAL_reminder{"customer_id": "1"}', "/restart", "/session_start", "/nlu_fallback", "/affirm{", "/", "//",
    '/inform{"customer_number": "' + "9" * 500 + '"}', "\u202eevil\u202c", "\u200b\u200c\u200d\ufeff", "🙂" * 300,
    "50000017 1000", "my card 4111 1111 1111 1111", "-1e309", "NaN", "null", "[]", "{}", "\\ud800",
]
PLANES = [(0x20, 0x7E), (0xA0, 0x2FF), (0x370, 0x52F), (0x590, 0x6FF), (0x900, 0x97F), (0x3040, 0x30FF),
          (0x4E00, 0x9FFF), (0xAC00, 0xD7A3), (0xD800, 0xDFFF), (0xE000, 0xF8FF), (0xFFF0, 0xFFFF),
          (0x1F300, 0x1FAFF), (0x10000, 0x10FFFF), (0x0, 0x1F), (0x7F, 0x9F)]


def random_text(rng: random.Random, length: int) -> str:
    low, high = rng.choice(PLANES)
    return "".join(chr(rng.randint(low, high)) if rng.random() < 0.8 else chr(rng.randint(0, 0x10FFFF)) for _ in range(length))


def as_json(value) -> bytes:
    """JSON as a client may send it: lone surrogates escaped (\\ud800), which the server decodes."""
    return json.dumps(value, ensure_ascii=True).encode()


def a_body(rng: random.Random, senders: list[str]) -> tuple[str, bytes]:
    """(kind, raw body) of one REST request."""
    sender = rng.choice(senders)
    kind = rng.choices(["unicode", "injection", "huge", "binary", "malformed", "sender", "metadata"],
                       weights=[30, 20, 15, 10, 10, 7, 8])[0]
    if kind == "unicode":
        return kind, as_json({"sender": sender, "message": random_text(rng, rng.randint(0, 200))})
    if kind == "injection":
        return kind, as_json({"sender": sender, "message": rng.choice(INJECTIONS)})
    if kind == "huge":
        text = rng.choice([random_text(rng, rng.randint(2001, 20000)), "word " * rng.randint(401, 10000), "9" * 100_000])
        return kind, as_json({"sender": sender, "message": text})
    if kind == "binary":
        return kind, secrets.token_bytes(rng.randint(1, 4000)) if rng.random() < 0.5 else as_json(
            {"sender": sender, "message": bytes(rng.randrange(256) for _ in range(100)).decode("latin-1")})
    if kind == "malformed":
        return kind, rng.choice([b"", b"[]", b'"x"', b"null", b"{", b"1e999", as_json({"sender": sender}),
                                 as_json({"sender": sender, "message": {"text": "hi"}}),
                                 as_json({"sender": sender, "message": "hi", "metadata": "x"}),
                                 b'{"sender": "' + sender.encode() + b'", "message": "\\udfff\\ud800"}'])
    if kind == "sender":
        return kind, as_json({"sender": rng.choice([random_text(rng, 40), "", "x" * 1000, sender[:-1], 7, None]), "message": "hi"})
    metadata = rng.choice([{"auth_token": random_text(rng, 60)}, {"auth_token": 5}, {"auth_token": "a.b.c"},
                           {"client": "1.2.3.4"}, {"x": [random_text(rng, 10)] * 50}, {}])
    return kind, as_json({"sender": sender, "message": random_text(rng, 30), "metadata": metadata})


def logged_tracebacks(stack) -> list[str]:
    """Each traceback in the servers' logs, as its log's name and the line that ends it (the exception)."""
    found = []
    for path in stack.logs:
        lines = path.read_text(errors="replace").splitlines() if path.exists() else []
        for number, line in enumerate(lines):
            if TRACEBACK_MARKERS[0] in line:
                end = next((later for later in lines[number + 1:] if later and not later.startswith((" ", "\t"))), "?")
                found.append(f"{path.name}: {end[:200]}")
    return found


def test_fuzzing_both_channels_breaks_nothing(stack):
    seed = int(os.environ.get("FUZZ_SEED") or secrets.randbits(32))
    print(f"\nfuzz seed {seed} (FUZZ_SEED={seed} replays it)")
    rng = random.Random(seed)
    senders = [signed(f"e2e-fuzz-{seed}-{n}") for n in range(CONVERSATIONS)]
    bodies = [a_body(rng, senders) for _ in range(MAX_MESSAGES)]
    logged_before = Counter(logged_tracebacks(stack))
    statuses: Counter = Counter()
    by_kind: Counter = Counter()
    server_errors: list[tuple[str, bytes, int]] = []
    tracebacks: list[tuple[str, bytes]] = []
    lock = threading.Lock()
    deadline = time.monotonic() + BUDGET_SECONDS
    local = threading.local()

    def send(item: tuple[str, bytes]) -> None:
        if time.monotonic() > deadline:
            return
        kind, body = item
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        answer = session.post(f"{stack.rasa_url}/webhooks/rest/webhook", data=body,
                              headers={"Content-Type": "application/json"}, timeout=60)
        with lock:
            statuses[answer.status_code] += 1
            by_kind[kind] += 1
            if answer.status_code >= 500:
                server_errors.append((kind, body[:200], answer.status_code))
            if any(marker in answer.text for marker in TRACEBACK_MARKERS):
                tracebacks.append((kind, body[:200]))

    started = time.monotonic()
    with ThreadPoolExecutor(WORKERS) as pool:
        list(pool.map(send, bodies))
    rest_seconds = time.monotonic() - started
    socket_sent, socket_said = run(fuzz_the_socket(stack, rng))

    print(f"REST: {sum(statuses.values())} requests in {rest_seconds:.0f} s, by kind {dict(by_kind)}, statuses {dict(statuses)}")
    print(f"socket.io: {socket_sent} events sent, {len(socket_said)} replies")
    print(f"5xx: {len(server_errors)}; tracebacks in responses: {len(tracebacks)}; "
          f"new tracebacks in the logs: {sum((Counter(logged_tracebacks(stack)) - logged_before).values())}")
    assert not server_errors, server_errors[:5]
    assert not tracebacks, tracebacks[:5]
    assert not [text for text in socket_said if any(marker in text for marker in TRACEBACK_MARKERS)]
    new_in_logs = Counter(logged_tracebacks(stack)) - logged_before
    assert not new_in_logs, new_in_logs
    assert sum(statuses.values()) >= 250, "the budget ran out early: the servers are too slow for a meaningful fuzz"

    # Still alive and still making sense, on both channels.
    assert any("customer number" in reply for reply in stack.say(f"e2e-fuzz-after-{seed}", "how much do I owe?"))

    async def real_question() -> list[str]:
        async with chat_socket(stack.rasa_url) as chat:
            await chat.say("how much do I owe?")
            return await chat.replies()

    assert any("customer number" in reply for reply in run(real_question()))


async def fuzz_the_socket(stack, rng: random.Random, events: int = 400) -> tuple[int, list[str]]:
    """Random payloads on the widget's events: wrong shapes, other conversations' ids, huge and random text."""
    said: list[str] = []
    sent = 0
    async with chat_socket(stack.rasa_url) as chat:
        for _ in range(events):
            choice = rng.random()
            if choice < 0.15:
                await chat.emit("user_uttered", rng.choice([None, "hi", 5, [1, 2], {"message": None}, {"session_id": chat.session_id},
                                                           {"message": "hi", "session_id": signed("e2e-someone-else")}]))
            elif choice < 0.25:
                await chat.emit("session_request", rng.choice([None, "x", {"session_id": 5}, {"session_id": random_text(rng, 50)}]))
            elif choice < 0.4:
                await chat.say("word " * rng.randint(401, 5000))
            elif choice < 0.55:
                await chat.say(rng.choice(INJECTIONS), customData=rng.choice([None, "not json", {"auth_token": 5}, [1]]))
            else:
                await chat.say(random_text(rng, rng.randint(1, 120)))
            sent += 1
            # Long polling sends what is queued in one request, and engine.io drops a client that sends more
            # than 16 packets at once; a browser's widget sends one message at a time anyway.
            await asyncio.sleep(0.05)
        await until_quiet(chat)
        said = [message.get("text") or "" for message in chat.received]
    return sent, said


async def until_quiet(chat, quiet_seconds: float = 3, longest: float = 180) -> None:
    """Waits until the bot has answered what it was sent (no new reply for a few seconds), so its backlog is
    worked off here and does not slow the tests that come after."""
    deadline = time.monotonic() + longest
    seen = -1
    while len(chat.received) != seen and time.monotonic() < deadline:
        seen = len(chat.received)
        await asyncio.sleep(quiet_seconds)
