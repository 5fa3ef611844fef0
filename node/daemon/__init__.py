"""What ``spinenode serve`` runs: the SCP, ingest, stability, the reconciler, housekeeping, web and worker."""
