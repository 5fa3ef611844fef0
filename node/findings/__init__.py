"""The findings workflow: findings a radiologist enters, withdraws, confirms or rejects, each queueing a
re-analysis. The web pages and the API are thin adapters over :mod:`node.findings.workflow`."""
