"""Rasa graph components of Settle's own, named in config.yml (Rasa imports them from the project root)."""
