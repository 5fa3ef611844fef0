"""The analysis job: :mod:`node.jobs.run` runs its sequence, :mod:`node.jobs.store` reads and writes the registry."""

from node.jobs.store import *  # noqa: F403  (kept while callers move to the modules)
from node.jobs.store import Job, claim_job, fail_job  # noqa: F401
