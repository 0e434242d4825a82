"""A person from the team: escalations, the agents' queue, live takeover, office hours."""
