"""Paying: links, checkouts with providers, money coming in, bank statements."""
