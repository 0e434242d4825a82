"""Rasa SDK glue: each action reads slots, calls one `settle` function and sends one response."""
