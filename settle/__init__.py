"""Settle's billing core: plain Python and SQLAlchemy, never Rasa."""
