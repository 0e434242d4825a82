"""The `settle` command and what it runs: setup, seed, the servers, the local message catcher."""
