"""Conversation ids the server issued: a name and an HMAC signature over it, so a client can't name (and
write into or read) a conversation nobody gave it. Checked without storing anything."""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from settle.config import Settings
from settle.signing import link_secret, sign, signature_matches

#: A name Settle signs: letters, digits, "-" and "_" (safe in URLs, socket.io rooms and log lines).
NAME = re.compile(r"[A-Za-z0-9_-]{1,100}")
SEPARATOR = "."


def conversation_key(secret: bytes) -> bytes:
    """The key for conversation ids, derived from the link secret so that no signature made for a link
    (or anything else) is ever a valid conversation id, and the other way round."""
    return hmac.new(secret, b"conversation", hashlib.sha256).digest()


def key_for(settings: Settings) -> bytes:
    """The conversation key of this installation (SETTLE_LINK_SECRET, or the demo's in var/)."""
    return conversation_key(link_secret(settings))


def issue(key: bytes, name: str | None = None) -> str:
    """A signed conversation id: a new random one, or for tests and benchmarks one with a chosen name."""
    name = name if name is not None else secrets.token_hex(16)
    if not NAME.fullmatch(name):
        raise ValueError(f"a conversation name is 1 to 100 letters, digits, '-' or '_', not {name!r}")
    return f"{name}{SEPARATOR}{sign(key, 'conversation', name)}"


def is_issued(key: bytes, conversation_id: object) -> bool:
    """Whether this id was issued with this key (anything else, including non-strings, is not)."""
    if not isinstance(conversation_id, str):
        return False
    name, separator, signature = conversation_id.rpartition(SEPARATOR)
    return bool(separator) and bool(NAME.fullmatch(name)) and signature_matches(key, signature, "conversation", name)
