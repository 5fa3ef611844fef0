"""Recording received instances in the registry."""
