"""Talking to the broker: the reconciler that re-sends what the registry says is unfinished."""
