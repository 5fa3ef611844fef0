"""What a running process of the node holds: its settings, its registry and its routing rules, made once.

The command line builds a :class:`Runtime` from the settings and installs it; Celery tasks in the same
process use it. A worker process started on its own builds it from ``SPINENODE_CONFIG`` and the
``SPINENODE_*`` environment (the same settings the command line would read).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from node.registry.db import Registry
from node.settings import Settings, load_settings

if TYPE_CHECKING:
    from node.routing.rules import RuleSet


@dataclass
class Runtime:
    settings: Settings
    registry: Registry
    extras: dict[str, Any] = field(default_factory=dict)
    _rules: RuleSet | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def rules(self) -> RuleSet:
        """The routing rules, read and validated once per process (the settings checked them at load)."""
        if self._rules is None:
            self._rules = self.settings.routing.rule_set(self.settings.target_names())
        return self._rules

    @classmethod
    def create(cls, settings: Settings) -> Runtime:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        runtime = cls(settings, Registry(settings.database_url))
        from workers.celery_app import configure

        configure(settings.broker.url, settings.data_dir)
        return runtime


_lock = threading.Lock()
_current: Runtime | None = None


def install(runtime: Runtime) -> Runtime:
    global _current
    with _lock:
        _current = runtime
    return runtime


def current() -> Runtime:
    global _current
    with _lock:
        if _current is None:
            _current = Runtime.create(load_settings())
        return _current
