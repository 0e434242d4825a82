"""Rasa's ticket lock on Redis, with every change made in one atomic step, for several Rasa processes.

Rasa serves one message of a conversation at a time: each message takes a ticket, waits until its ticket is
the lowest one still valid, and gives it back when done. Rasa 3.6's `RedisLockStore` issues a ticket by
reading the whole lock, adding one and writing it back: two processes that read at once get the same ticket
and handle the same conversation together, or overwrite each other's ticket (RasaHQ/rasa#9213; the fix went
to Rasa Pro only). Here the number comes from `INCR` and every change is a Lua script or a single command,
which Redis runs alone; expiry is Redis's own clock, so replicas' clocks don't matter.

Per conversation, two keys (one hash slot, so Redis Cluster can run the scripts):
- `<prefix>{<conversation>}:issued`, the last ticket number (`INCR`), kept while tickets may still be valid,
  so numbers keep rising while a conversation is busy;
- `<prefix>{<conversation>}:tickets`, a sorted set of the valid tickets, each scored by when it expires
  (milliseconds on Redis's clock). Redis deletes it when the last ticket is given back.

endpoints.yml names `EnvironmentLockStore`: this store when REDIS_URL is set, Rasa's in-memory one otherwise
(the embedded default: one Rasa process).
"""
from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from typing import Any

import redis
from rasa.core.lock import Ticket, TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, InMemoryLockStore, LockError, LockStore

from settle.config import process_settings

logger = logging.getLogger(__name__)

DEFAULT_KEY_PREFIX = "settle:lock:"
#: How often a waiting message asks whether its turn has come (Rasa's own stores wait a whole second).
POLL_SECONDS = 0.05

_NOW_MS = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
"""

#: KEYS: issued, tickets; ARGV: lifetime in ms. Returns the new ticket's number.
ISSUE = _NOW_MS + """
local lifetime = tonumber(ARGV[1])
local number = redis.call('INCR', KEYS[1])
redis.call('ZADD', KEYS[2], now + lifetime, number)
for _, key in ipairs(KEYS) do
  if redis.call('PTTL', key) < lifetime then redis.call('PEXPIRE', key, lifetime) end
end
return number
"""

#: KEYS: issued, tickets. Drops the expired tickets; returns the valid ones as number, expiry (ms), ...
VALID_TICKETS = _NOW_MS + """
return redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')
"""


class AtomicRedisLockStore(LockStore):
    """Rasa's `LockStore` whose tickets are issued, served and given back atomically in Redis."""

    def __init__(self, url: str, key_prefix: str = DEFAULT_KEY_PREFIX, socket_timeout: float = 10) -> None:
        self.red = redis.Redis.from_url(url, socket_timeout=socket_timeout)
        self.key_prefix = key_prefix
        self._issue = self.red.register_script(ISSUE)
        self._valid_tickets = self.red.register_script(VALID_TICKETS)
        super().__init__()

    def _keys(self, conversation_id: str) -> list[str]:
        base = f"{self.key_prefix}{{{conversation_id}}}"
        return [f"{base}:issued", f"{base}:tickets"]

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        try:
            return int(self._issue(keys=self._keys(conversation_id), args=[max(1, round(lock_lifetime * 1000))]))
        except redis.RedisError as error:
            raise LockError(f"Could not issue a ticket for conversation '{conversation_id}': {error}") from error

    @asynccontextmanager
    async def lock(
        self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME, wait_time_in_seconds: float = POLL_SECONDS
    ) -> AsyncGenerator[TicketLock, None]:
        """Rasa's `lock`, polling more often than Rasa's one second: a second message waits less."""
        ticket = self.issue_ticket(conversation_id, lock_lifetime)
        try:
            yield await self._acquire_lock(conversation_id, ticket, wait_time_in_seconds)
        finally:
            self.cleanup(conversation_id, ticket)

    async def _acquire_lock(self, conversation_id: str, ticket: int, wait_time_in_seconds: float) -> TicketLock:
        """Waits until `ticket` is the lowest valid one; fails if it expired while waiting (as Rasa's)."""
        while True:
            lock = self.get_lock(conversation_id)
            if lock is None or all(waiting.number != ticket for waiting in lock.tickets):
                raise LockError(f"Could not acquire lock for conversation_id '{conversation_id}'.")
            if lock.tickets[0].number == ticket:
                return lock
            await asyncio.sleep(wait_time_in_seconds)

    def get_lock(self, conversation_id: str) -> TicketLock | None:
        """The valid tickets, lowest number (the one being served) first, their expiry on Redis's clock (not this
        machine's, so use their numbers); None when there are none."""
        flat = self._valid_tickets(keys=self._keys(conversation_id))
        if not flat:
            return None
        tickets = sorted(
            (Ticket(int(number), float(expires_ms) / 1000) for number, expires_ms in zip(flat[::2], flat[1::2])),
            key=lambda ticket: ticket.number,
        )
        return TicketLock(conversation_id, deque(tickets))

    def update_lock(self, conversation_id: str) -> None:
        """Drops the expired tickets (Redis does it whenever tickets are read, too)."""
        self._valid_tickets(keys=self._keys(conversation_id))

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        self.red.zrem(self._keys(conversation_id)[1], ticket_number)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        """Gives the ticket back; Redis removes the set of tickets with the last one."""
        self.finish_serving(conversation_id, ticket_number)

    def delete_lock(self, conversation_id: str) -> None:
        self._log_deletion(conversation_id, self.red.delete(*self._keys(conversation_id)) > 0)

    def save_lock(self, lock: TicketLock) -> None:
        """Writing a whole lock back is the race this store exists to avoid."""
        raise NotImplementedError("AtomicRedisLockStore changes tickets only through its atomic operations")


class EnvironmentLockStore(LockStore):
    """The lock store endpoints.yml names: `AtomicRedisLockStore` on REDIS_URL when it is set (several
    Rasa processes share the conversations), Rasa's `InMemoryLockStore` otherwise (one process)."""

    def __new__(cls, endpoint_config: Any = None) -> LockStore:  # type: ignore[misc]
        url = process_settings().redis_url
        if url:
            logger.info("Conversation locks are kept in Redis")
            return AtomicRedisLockStore(url)
        return InMemoryLockStore()
