"""The Redis lock store under thousands of concurrent attempts on a real Redis: never two holders of one
conversation's lock at once, tickets served in the order they were issued. The same contest run against
Rasa 3.6's own RedisLockStore shows the race it has (RasaHQ/rasa#9213), so the contest can catch it."""
from __future__ import annotations

import asyncio
import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from rasa.core.lock_store import InMemoryLockStore, LockError, LockStore, RedisLockStore
from rasa.utils.endpoints import read_endpoint_config
from redis.connection import parse_url

from components.redis_lock_store import AtomicRedisLockStore

ROOT = Path(__file__).parents[2]

WRITERS = 8  # threads, each with its own event loop and connections: Redis is reached from 8 places at once
TASKS_PER_WRITER = 25  # 200 messages at a time, 10 per conversation
ATTEMPTS_PER_TASK = 10  # 8 × 25 × 10 = 2,000 attempts
CONVERSATIONS = 20


@dataclass
class Contest:
    """What the writers saw, per conversation."""

    attempts: int = 0
    overlaps: int = 0  # entries while another writer held the same conversation's lock
    failures: list[str] = field(default_factory=list)
    served: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    holders: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    guard: threading.Lock = field(default_factory=threading.Lock)

    def enter(self, conversation_id: str, ticket: int) -> None:
        with self.guard:
            self.holders[conversation_id] += 1
            self.overlaps += self.holders[conversation_id] > 1
            self.served[conversation_id].append(ticket)

    def leave(self, conversation_id: str) -> None:
        with self.guard:
            self.holders[conversation_id] -= 1

    def out_of_order(self) -> int:
        """Tickets served after a higher one of the same conversation (or twice)."""
        return sum(later <= earlier for tickets in self.served.values() for earlier, later in zip(tickets, tickets[1:]))


def run_contest(store: LockStore, prefix: str, patience: float = 90) -> Contest:
    """Every writer's tasks take their turns; a writer still waiting after `patience` seconds gives up."""
    contest = Contest(attempts=WRITERS * TASKS_PER_WRITER * ATTEMPTS_PER_TASK)

    async def attempt(conversation_id: str) -> None:
        try:
            async with store.lock(conversation_id, lock_lifetime=30, wait_time_in_seconds=0.005) as held:
                contest.enter(conversation_id, held.tickets[0].number)  # the ticket being served: this one
                await asyncio.sleep(0)  # others run while this one holds the lock
                await asyncio.sleep(0.0005)
                contest.leave(conversation_id)
        except LockError as error:
            contest.failures.append(str(error))

    async def task(writer: int, number: int) -> None:
        for round_ in range(ATTEMPTS_PER_TASK):
            await attempt(f"{prefix}-conversation-{(writer + number + round_) % CONVERSATIONS}")

    def writer(index: int) -> None:
        async def all_tasks() -> None:
            await asyncio.wait_for(asyncio.gather(*(task(index, n) for n in range(TASKS_PER_WRITER))), timeout=patience)

        try:
            asyncio.run(all_tasks())
        except asyncio.TimeoutError:
            contest.failures.append(f"writer {index} was still waiting after {patience} s")

    with ThreadPoolExecutor(WRITERS) as pool:
        list(pool.map(writer, range(WRITERS)))
    return contest


def test_two_thousand_concurrent_attempts_never_share_a_conversation_and_are_served_in_order(redis_place):
    store = AtomicRedisLockStore(redis_place.url, key_prefix=f"{redis_place.prefix}:lock:")

    contest = run_contest(store, redis_place.prefix)

    assert contest.failures == []
    assert contest.overlaps == 0
    assert sum(len(tickets) for tickets in contest.served.values()) == contest.attempts
    assert contest.out_of_order() == 0
    assert list(store.red.scan_iter(f"{redis_place.prefix}*tickets")) == []  # every ticket was given back


def test_the_same_contest_catches_the_race_of_rasas_own_redis_lock_store(redis_place):
    """Rasa's store reads the lock, adds a ticket and writes it back: writers that read at once get the
    same ticket and hold the lock together."""
    parts = parse_url(redis_place.url)
    store = RedisLockStore(host=parts.get("host", "127.0.0.1"), port=parts.get("port", 6379), db=parts.get("db", 0),
                           key_prefix=redis_place.prefix)

    contest = run_contest(store, redis_place.prefix, patience=5)  # lost tickets leave some waiting for good

    assert contest.overlaps > 0, "Rasa's RedisLockStore gave no two writers the lock at once this time"


async def test_a_second_message_waits_for_the_first_and_goes_next(redis_place):
    store = AtomicRedisLockStore(redis_place.url, key_prefix=f"{redis_place.prefix}:lock:")
    order: list[str] = []

    async def message(name: str, work: float) -> None:
        async with store.lock("conversation", lock_lifetime=10):
            order.append(f"{name} starts")
            await asyncio.sleep(work)
            order.append(f"{name} ends")

    first = asyncio.create_task(message("first", 0.3))
    await asyncio.sleep(0.05)
    await asyncio.gather(first, message("second", 0))

    assert order == ["first starts", "first ends", "second starts", "second ends"]
    assert store.get_lock("conversation") is None


async def test_a_holder_that_never_gives_its_ticket_back_blocks_the_conversation_only_until_it_expires(redis_place):
    store = AtomicRedisLockStore(redis_place.url, key_prefix=f"{redis_place.prefix}:lock:")
    store.issue_ticket("conversation", lock_lifetime=0.3)  # a Rasa process that died mid-turn

    async with store.lock("conversation", lock_lifetime=10) as held:
        assert [ticket.number for ticket in held.tickets] == [2]
    assert store.red.pttl(f"{redis_place.prefix}:lock:{{conversation}}:issued") > 0  # the count expires too


async def test_a_waiting_message_whose_ticket_expired_gets_a_lock_error_as_with_rasas_stores(redis_place):
    store = AtomicRedisLockStore(redis_place.url, key_prefix=f"{redis_place.prefix}:lock:")
    store.issue_ticket("conversation", lock_lifetime=10)  # someone else is being served for long

    with pytest.raises(LockError):
        async with store.lock("conversation", lock_lifetime=0.2):
            pass


def test_endpoints_yml_gets_the_redis_store_when_redis_url_is_set_and_rasas_in_memory_one_otherwise(
    redis_place, monkeypatch
):
    monkeypatch.setenv("SETTLE_ACTION_TOKEN", "a token")  # endpoints.yml expands it
    endpoint = read_endpoint_config(str(ROOT / "endpoints.yml"), "lock_store")

    monkeypatch.delenv("REDIS_URL", raising=False)
    assert isinstance(LockStore.create(endpoint), InMemoryLockStore)

    from settle.config import process_settings

    process_settings.cache_clear()
    monkeypatch.setenv("REDIS_URL", redis_place.url)
    assert isinstance(LockStore.create(endpoint), AtomicRedisLockStore)
