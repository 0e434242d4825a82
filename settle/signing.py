"""HMAC signatures for links we hand out (payment links, invoice copies): unforgeable, checkable
without storing the token, and tied to the exact values they were made for."""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from settle.config import Settings

DEMO_SECRET_FILE = Path("var/link-secret")


class MissingSecret(RuntimeError):
    """Outside the embedded demo every process must share one secret from the environment."""


def link_secret(settings: Settings) -> bytes:
    """SETTLE_LINK_SECRET, or for the embedded demo (SQLite) a random secret kept in var/link-secret.

    With a shared database (PostgreSQL, several processes or hosts) a secret per machine would make
    links and reminders signed by one process fail in another, so the variable is then required.
    """
    if settings.link_secret:
        return settings.link_secret.encode()
    if not settings.database_url.startswith("sqlite"):
        raise MissingSecret("set SETTLE_LINK_SECRET (the same value for every Settle process)")
    DEMO_SECRET_FILE.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(DEMO_SECRET_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # made earlier, or by another process just now
        pass
    else:
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_urlsafe(32))
    secret = DEMO_SECRET_FILE.read_text().strip()
    if not secret:
        raise MissingSecret(f"{DEMO_SECRET_FILE} is empty: delete it (or set SETTLE_LINK_SECRET) and start again")
    return secret.encode()


def sign(secret: bytes, *parts: object) -> str:
    """A URL-safe signature over the parts, in order."""
    message = "|".join(str(part) for part in parts).encode()
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:24]).decode().rstrip("=")


def signature_matches(secret: bytes, signature: str, *parts: object) -> bool:
    """Constant-time check of a signature made by `sign` over the same parts."""
    return hmac.compare_digest(sign(secret, *parts), signature)
