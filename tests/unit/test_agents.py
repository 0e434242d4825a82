"""Console users: created with a hashed password and a role, logged in by e-mail and password."""
from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import select, text

from settle import schema
from settle.db import engine_for, session_factory
from settle.errors import AgentProblem
from settle.handoff.agents import authenticate, create_agent
from settle.models import Agent, Role
from settle.tooling.seed import DEMO_AGENT_EMAIL, DEMO_AGENT_PASSWORD, DEMO_USERS
from tests.conftest import NOW

PASSWORD = "correct horse battery"


def stored(session, email: str) -> Agent | None:
    session.expire_all()
    return session.execute(select(Agent).where(Agent.email == email)).scalar_one_or_none()


def test_only_an_argon2_hash_of_the_password_is_stored(session):
    create_agent(session, "dana@settle.example", "Dana", PASSWORD, NOW)
    agent = stored(session, "dana@settle.example")
    assert agent.password_hash.startswith("$argon2")
    assert PASSWORD not in agent.password_hash
    assert agent.name == "Dana" and agent.active


def test_two_agents_with_the_same_password_get_different_hashes(session):
    one = create_agent(session, "one@settle.example", "One", PASSWORD, NOW)
    two = create_agent(session, "two@settle.example", "Two", PASSWORD, NOW)
    assert one.password_hash != two.password_hash


def test_email_is_kept_in_lower_case_and_the_name_tidied(session):
    create_agent(session, "  Dana.Peeters@Settle.EXAMPLE ", "  Dana   Peeters ", PASSWORD, NOW)
    agent = stored(session, "dana.peeters@settle.example")
    assert agent is not None
    assert agent.name == "Dana Peeters"


def test_an_email_already_used_is_refused_whatever_its_case(session):
    create_agent(session, "dana@settle.example", "Dana", PASSWORD, NOW)
    with pytest.raises(AgentProblem, match="already an agent"):
        create_agent(session, "DANA@settle.example", "Another Dana", PASSWORD, NOW)
    with pytest.raises(AgentProblem, match="already an agent"):
        create_agent(session, DEMO_AGENT_EMAIL.upper(), "Sam again", PASSWORD, NOW)


@pytest.mark.parametrize("email", ["dana", "", None, "dana at settle.example", "dana @settle.example"])
def test_something_that_is_not_an_email_is_refused(session, email):
    with pytest.raises(AgentProblem, match="not an e-mail"):
        create_agent(session, email, "Dana", PASSWORD, NOW)


@pytest.mark.parametrize("email", ["dana@", "@settle.example"])
def test_an_email_without_a_name_or_a_domain_is_refused(session, email):
    with pytest.raises(AgentProblem):
        create_agent(session, email, "Dana", PASSWORD, NOW)


@pytest.mark.parametrize("name", ["", "   ", None])
def test_an_agent_needs_a_name(session, name):
    with pytest.raises(AgentProblem, match="needs a name"):
        create_agent(session, "dana@settle.example", name, PASSWORD, NOW)
    assert stored(session, "dana@settle.example") is None


@pytest.mark.parametrize("password", ["", None, "short", "123456789"])
def test_a_short_password_is_refused(session, password):
    with pytest.raises(AgentProblem, match="at least 10 characters"):
        create_agent(session, "dana@settle.example", "Dana", password, NOW)
    assert stored(session, "dana@settle.example") is None


def test_ten_characters_are_enough(session):
    assert create_agent(session, "dana@settle.example", "Dana", "0123456789", NOW).id


def test_the_right_password_logs_in_whatever_the_case_of_the_email(session):
    agent = create_agent(session, "dana@settle.example", "Dana", PASSWORD, NOW)
    assert authenticate(session, "dana@settle.example", PASSWORD).id == agent.id
    assert authenticate(session, " Dana@Settle.Example ", PASSWORD).id == agent.id


@pytest.mark.parametrize("password", ["correct horse battery ", "Correct horse battery", "", None])
def test_a_wrong_password_does_not_log_in(session, password):
    create_agent(session, "dana@settle.example", "Dana", PASSWORD, NOW)
    assert authenticate(session, "dana@settle.example", password) is None


def test_an_unknown_email_does_not_log_in(session):
    assert authenticate(session, "nobody@settle.example", PASSWORD) is None
    assert authenticate(session, "", PASSWORD) is None


def test_an_inactive_agent_cannot_log_in_even_with_the_right_password(session):
    agent = create_agent(session, "dana@settle.example", "Dana", PASSWORD, NOW)
    agent.active = False
    session.flush()
    assert authenticate(session, "dana@settle.example", PASSWORD) is None


def test_the_seeded_demo_agent_can_log_in(session):
    assert authenticate(session, DEMO_AGENT_EMAIL, DEMO_AGENT_PASSWORD).email == DEMO_AGENT_EMAIL


def test_the_demo_has_one_console_user_of_each_role(session):
    roles = dict(session.execute(select(Agent.email, Agent.role)).all())
    assert {roles[email] for email, *_ in DEMO_USERS} == set(Role)
    assert roles[DEMO_AGENT_EMAIL] == Role.AGENT


def test_agents_added_before_roles_existed_keep_working_as_agents(tmp_path):
    url = f"sqlite:///{tmp_path / 'before.db'}"
    command.upgrade(schema.alembic_config(url), "0008")
    with engine_for(url).begin() as connection:
        connection.execute(text("INSERT INTO agents (email, name, password_hash, active, created_at)"
                                " VALUES ('old@settle.example', 'Old', 'x', 1, '2026-11-01 09:00:00.000000')"))
    schema.upgrade(url)
    with session_factory(url).begin() as session:
        assert stored(session, "old@settle.example").role == Role.AGENT
    engine_for(url).dispose()
