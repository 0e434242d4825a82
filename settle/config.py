"""Settings read from the environment in one place, with defaults for the embedded demo."""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit


def _default_database_url() -> str:
    """A SQLite file under ./var, so the demo needs no database server."""
    return f"sqlite:///{Path('var/settle.db').resolve()}"


@dataclass(frozen=True)
class Settings:
    """Everything Settle reads from the environment; `.env.example` documents each variable."""

    database_url: str
    app_token_secret: str | None
    verification_max_failures: int
    verification_lockout_minutes: int
    verification_source_max_failures: int
    verification_global_max_failures: int
    verification_global_window_minutes: int
    verification_global_pause_minutes: int
    timezone: str
    public_url: str
    link_secret: str | None
    link_ttl_days: int
    company_name: str
    company_iban: str
    company_bic: str
    support_phone: str
    support_email: str
    payment_provider: str
    mollie_api_key: str | None
    mollie_api_url: str
    rasa_url: str
    rasa_api_token: str | None
    action_token: str | None
    smtp_host: str
    smtp_port: int
    smtp_from: str
    smtp_username: str | None
    smtp_password: str | None
    smtp_starttls: bool
    sms_api_url: str
    sms_api_key: str
    sms_sender: str
    chat_socket_url: str
    office_hours: str
    minutes_per_waiting_customer: int
    session_secret: str | None
    policy_file: str
    reminder_policy_file: str
    redirects_file: str
    #: Shared state for several processes (conversation locks, answers in the middle of a form): REDIS_URL.
    redis_url: str | None
    #: The bearer token Prometheus shows at the web app's /metrics (SETTLE_METRICS_TOKEN); unset, only loopback may read it.
    metrics_token: str | None
    #: For tests and demos only: Settle's clock stands still at this moment (SETTLE_NOW, ISO 8601).
    fixed_now: datetime | None
    #: SETTLE_DEMO=1: the embedded demo is on, the only case where the sandbox payment provider may run.
    demo: bool = False
    #: Browser origins besides SETTLE_PUBLIC_URL's that may call Rasa (SETTLE_ALLOWED_ORIGINS, comma-separated).
    allowed_origins: tuple[str, ...] = ()

    def sandbox_refusal(self) -> str | None:
        """Why the servers must not start with these settings, or None: the sandbox marks bills paid
        without any money moving, so it runs only when the demo was asked for."""
        if self.payment_provider == "sandbox" and not self.demo:
            return ("the sandbox payment provider marks bills paid without money: set SETTLE_PAYMENT_PROVIDER=mollie "
                    "(with MOLLIE_API_KEY), or SETTLE_DEMO=1 to run the demo")
        return None

    def missing_secrets_refusal(self) -> str | None:
        """Why a server must not start, or None: in the production shape (PostgreSQL and Redis: several
        processes, on several machines) every secret comes from the environment, the same in each process.
        The demo's random ones in var/ would differ per machine, so what one signed another would refuse."""
        if not (self.database_url.startswith("postgresql") and self.redis_url):
            return None
        missing = [name for name, value in (
            ("SETTLE_LINK_SECRET", self.link_secret), ("SETTLE_SESSION_SECRET", self.session_secret),
            ("RASA_API_TOKEN", self.rasa_api_token), ("SETTLE_ACTION_TOKEN", self.action_token),
        ) if not value]
        if not missing:
            return None
        return f"with PostgreSQL and Redis (several processes) set {', '.join(missing)} in the environment, the same for every process"

    def browser_origins(self) -> tuple[str, ...]:
        """The origins whose pages may talk to Rasa from a browser (its CORS list)."""
        parts = urlsplit(self.public_url)
        return tuple(dict.fromkeys((f"{parts.scheme}://{parts.netloc}", *self.allowed_origins)))

    @classmethod
    def from_environment(cls) -> Settings:
        """Reads the variables now, so tests and processes can set them before use."""
        env = os.environ
        return cls(
            database_url=env.get("DATABASE_URL") or _default_database_url(),
            app_token_secret=env.get("SETTLE_APP_TOKEN_SECRET") or None,
            verification_max_failures=int(env.get("SETTLE_VERIFICATION_MAX_FAILURES", "3")),
            verification_lockout_minutes=int(env.get("SETTLE_VERIFICATION_LOCKOUT_MINUTES", "15")),
            verification_source_max_failures=int(env.get("SETTLE_VERIFICATION_SOURCE_MAX_FAILURES", "10")),
            verification_global_max_failures=int(env.get("SETTLE_VERIFICATION_GLOBAL_MAX_FAILURES", "20")),
            verification_global_window_minutes=int(env.get("SETTLE_VERIFICATION_GLOBAL_WINDOW_MINUTES", "10")),
            verification_global_pause_minutes=int(env.get("SETTLE_VERIFICATION_GLOBAL_PAUSE_MINUTES", "5")),
            timezone=env.get("SETTLE_TIMEZONE", "Europe/Brussels"),
            public_url=env.get("SETTLE_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/"),
            link_secret=env.get("SETTLE_LINK_SECRET") or None,
            link_ttl_days=int(env.get("SETTLE_LINK_TTL_DAYS", "7")),
            company_name=env.get("SETTLE_COMPANY_NAME", "Settle Energy"),
            company_iban=env.get("SETTLE_COMPANY_IBAN", "BE71096123456769"),
            company_bic=env.get("SETTLE_COMPANY_BIC", "GKCCBEBB"),
            support_phone=env.get("SETTLE_SUPPORT_PHONE", "0800 12 345"),
            support_email=env.get("SETTLE_SUPPORT_EMAIL", "help@settle.example"),
            payment_provider=env.get("SETTLE_PAYMENT_PROVIDER", "sandbox"),
            mollie_api_key=env.get("MOLLIE_API_KEY") or None,
            mollie_api_url=env.get("MOLLIE_API_URL", "https://api.mollie.com/v2").rstrip("/"),
            rasa_url=env.get("SETTLE_RASA_URL", "http://127.0.0.1:5005").rstrip("/"),
            rasa_api_token=env.get("RASA_API_TOKEN") or None,
            action_token=env.get("SETTLE_ACTION_TOKEN") or None,
            smtp_host=env.get("SETTLE_SMTP_HOST", "127.0.0.1"),
            smtp_port=int(env.get("SETTLE_SMTP_PORT", "1025")),
            smtp_from=env.get("SETTLE_SMTP_FROM", "Settle Energy <billing@settle.example>"),
            smtp_username=env.get("SETTLE_SMTP_USERNAME") or None,
            smtp_password=env.get("SETTLE_SMTP_PASSWORD") or None,
            smtp_starttls=env.get("SETTLE_SMTP_STARTTLS", "false").lower() in ("1", "true", "yes"),
            sms_api_url=env.get("SETTLE_SMS_API_URL", "http://127.0.0.1:8025/v1/messages").rstrip("/"),
            sms_api_key=env.get("SETTLE_SMS_API_KEY") or "demo-sms-key",
            sms_sender=env.get("SETTLE_SMS_SENDER", "Settle"),
            chat_socket_url=(env.get("SETTLE_CHAT_SOCKET_URL") or env.get("SETTLE_RASA_URL", "http://127.0.0.1:5005")).rstrip("/"),
            office_hours=env.get("SETTLE_OFFICE_HOURS", "Mon-Fri 08:00-18:00"),
            minutes_per_waiting_customer=int(env.get("SETTLE_MINUTES_PER_WAITING_CUSTOMER", "4")),
            session_secret=env.get("SETTLE_SESSION_SECRET") or None,
            policy_file=env.get("SETTLE_POLICY_FILE") or "policy/arrangements.yml",
            reminder_policy_file=env.get("SETTLE_REMINDER_POLICY_FILE") or "policy/reminders.yml",
            redirects_file=env.get("SETTLE_REDIRECTS_FILE") or "policy/redirects.yml",
            redis_url=env.get("REDIS_URL") or None,
            metrics_token=env.get("SETTLE_METRICS_TOKEN") or None,
            fixed_now=datetime.fromisoformat(env["SETTLE_NOW"]) if env.get("SETTLE_NOW") else None,
            demo=env.get("SETTLE_DEMO", "").lower() in ("1", "true", "yes"),
            allowed_origins=tuple(
                origin.strip().rstrip("/") for origin in env.get("SETTLE_ALLOWED_ORIGINS", "").split(",") if origin.strip()
            ),
        )


@lru_cache(maxsize=1)
def process_settings() -> Settings:
    """The settings of this process, read from the environment once (tests clear the cache)."""
    return Settings.from_environment()
