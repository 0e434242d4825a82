"""Rasa input channels of Settle's own, named in credentials.yml (Rasa imports them; settle/ never does)."""
