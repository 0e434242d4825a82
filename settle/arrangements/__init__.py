"""Can't pay now: instalment plans, extensions, disputes, hardship."""
