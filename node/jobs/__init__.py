"""The analysis job: :mod:`node.jobs.run` runs its sequence, :mod:`node.jobs.store` reads and writes the registry."""
