"""Support agents who log into the console. Passwords are hashed with Argon2 (argon2-cffi)."""
from __future__ import annotations

import re
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from settle.errors import AgentProblem
from settle.models import Agent, Role

MIN_PASSWORD_LENGTH = 10
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_hasher = PasswordHasher()
#: Checked when the e-mail is unknown, so a wrong e-mail takes as long as a wrong password.
_UNKNOWN_AGENT_HASH = _hasher.hash("no agent has this password")


#: Who may open the operations dashboard (the figures), who may work through the flagged accounts, and who
#: may read and mark the bot's conversations (the conversation review).
SEES_THE_FIGURES = frozenset({Role.OPERATIONS, Role.DESIGNER})
REVIEWS_FLAGGED_ACCOUNTS = frozenset({Role.OPERATIONS})
REVIEWS_CONVERSATIONS = frozenset({Role.OPERATIONS, Role.DESIGNER})


def create_agent(session: Session, email: str, name: str, password: str, now: datetime, role: Role = Role.AGENT) -> Agent:
    """Adds a console user who can log in with this e-mail and password, working in `role`.

    Raises:
        AgentProblem: the e-mail is taken or not an e-mail, the name is empty, or the password is short.
    """
    email = (email or "").strip().lower()
    name = " ".join((name or "").split())
    if not _EMAIL.fullmatch(email):
        raise AgentProblem(f"{email!r} is not an e-mail address")
    if not name:
        raise AgentProblem("an agent needs a name: customers see it when the agent joins their chat")
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise AgentProblem(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
    if session.execute(select(Agent.id).where(Agent.email == email)).first():
        raise AgentProblem(f"there is already an agent with the e-mail {email}")
    agent = Agent(email=email, name=name, password_hash=_hasher.hash(password), active=True, created_at=now, role=role)
    session.add(agent)
    session.flush()
    return agent


def authenticate(session: Session, email: str, password: str) -> Agent | None:
    """The active agent with this e-mail and password, or None, taking the same time either way."""
    agent = session.execute(select(Agent).where(Agent.email == (email or "").strip().lower())).scalar_one_or_none()
    try:
        _hasher.verify(agent.password_hash if agent else _UNKNOWN_AGENT_HASH, password or "")
    except (VerificationError, InvalidHashError):
        return None
    if agent is None or not agent.active:
        return None
    if _hasher.check_needs_rehash(agent.password_hash):
        agent.password_hash = _hasher.hash(password)
    return agent


def active_agent(session: Session, agent_id: int | None) -> Agent | None:
    """The agent a console session belongs to, while they may still work (None once deactivated)."""
    agent = session.get(Agent, agent_id) if agent_id else None
    return agent if agent is not None and agent.active else None
