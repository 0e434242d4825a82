"""Reached out first: the reminder engine, its senders and texts."""
