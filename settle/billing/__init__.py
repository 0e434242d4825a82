"""Insight in the invoice: balances, due dates, explanations, copies."""
