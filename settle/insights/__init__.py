"""What happened, in figures: the events the figures need, recorded where they happen, and the KPI queries."""
