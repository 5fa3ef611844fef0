"""The newest revision of the registry's schema, read from the migration scripts without Alembic."""

from __future__ import annotations

import ast
import re
from functools import lru_cache
from pathlib import Path

MIGRATIONS = Path(__file__).with_name("migrations")
_REVISION_LINE = re.compile(r"^(down_revision|revision)\b[^=]*=\s*(.+?)\s*$", re.MULTILINE)


@lru_cache(maxsize=1)
def head_revision() -> str | None:
    """The newest revision of the migration scripts, read from their ``revision`` and ``down_revision``
    lines without importing Alembic; None unless they form one line of revisions with one head (then only
    Alembic can say, and :func:`migrate` asks it)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in (MIGRATIONS / "versions").glob("*.py"):
        lines = dict(_REVISION_LINE.findall(script.read_text(encoding="utf-8")))
        if "revision" not in lines:
            continue
        try:
            revisions.add(str(ast.literal_eval(lines["revision"])))
            parent = ast.literal_eval(lines.get("down_revision", "None"))
        except ValueError:
            return None
        if parent is not None:
            if not isinstance(parent, str):  # a merge point: a tuple of parents
                return None
            parents.add(parent)
    heads = revisions - parents
    return next(iter(heads)) if len(heads) == 1 else None
