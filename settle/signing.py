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
from settle.errors import MissingSecret
from settle.files import private_directory

DEMO_SECRETS = Path("var")



def link_secret(settings: Settings) -> bytes:
    """SETTLE_LINK_SECRET, or for the embedded demo a random one kept in var/link-secret."""
    return demo_or_configured(settings, settings.link_secret, "SETTLE_LINK_SECRET", "link-secret").encode()


def session_secret(settings: Settings) -> str:
    """SETTLE_SESSION_SECRET (signs the agent console's session cookie), or the demo's in var/."""
    return demo_or_configured(settings, settings.session_secret, "SETTLE_SESSION_SECRET", "session-secret")


def rasa_api_token(settings: Settings) -> str | None:
    """RASA_API_TOKEN, which the console and the reminder engine need to reach the chat through Rasa's
    HTTP API; the embedded demo makes one in var/. None when it is not set outside the demo (the API
    stays off then)."""
    try:
        return demo_or_configured(settings, settings.rasa_api_token, "RASA_API_TOKEN", "rasa-api-token")
    except MissingSecret:
        return None


def action_token(settings: Settings) -> str:
    """SETTLE_ACTION_TOKEN, which Rasa sends and the action server requires, or the demo's in var/."""
    return demo_or_configured(settings, settings.action_token, "SETTLE_ACTION_TOKEN", "action-token")


def demo_or_configured(settings: Settings, configured: str | None, variable: str, demo_file: str) -> str:
    """The configured secret, or for the embedded demo (SQLite) a random one kept in var/`demo_file`.

    With a shared database (PostgreSQL, several processes or hosts) a secret per machine would make
    what one process signed fail in another, so the variable is then required.
    """
    if configured:
        return configured
    if not settings.database_url.startswith("sqlite"):
        raise MissingSecret(f"set {variable} (the same value for every Settle process)")
    path = private_directory(DEMO_SECRETS) / demo_file
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # made earlier, or by another process just now
        pass
    else:
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_urlsafe(32))
    secret = path.read_text().strip()
    if not secret:
        raise MissingSecret(f"{path} is empty: delete it (or set {variable}) and start again")
    return secret


def sign(secret: bytes, *parts: object) -> str:
    """A URL-safe signature over the parts, in order."""
    message = "|".join(str(part) for part in parts).encode()
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:24]).decode().rstrip("=")


def signature_matches(secret: bytes, signature: str, *parts: object) -> bool:
    """Constant-time check of a signature made by `sign` over the same parts."""
    return hmac.compare_digest(sign(secret, *parts), signature)
