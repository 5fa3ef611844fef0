"""Celery app, tasks and the pure code they call (inventory, analysis, criteria, results)."""

__version__ = "0.1.0"
