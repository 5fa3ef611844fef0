"""Facts for a dry run from files: DICOM headers under a folder, the series inventory, a results document.

The inventory comes from ``workers.inventory.inventory_path`` when it is available. A findings document
(``{"findings": [...]}``) is graded by ``spinenode criteria FILE --json`` (the command-line contract); a
criteria result document (with ``csf_leak``) is used as it is. A top-level ``"flags"`` list gives flags.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from node.inputs.text import TextEncodingError, read_text
from node.routing.facts import StudyFacts, read_studies

CRITERIA_TIMEOUT_SECONDS = 60.0


class DryRunError(ValueError):
    """The inputs of a dry run cannot be used; the message says which and why."""


@dataclass(frozen=True)
class StudyCase:
    """One study found under the path, with its facts."""

    study_instance_uid: str
    instances: int
    facts: StudyFacts


def inventory_of(path: Path) -> list[dict[str, Any]]:
    """The series inventory of ``path`` as JSON dicts."""
    from workers.inventory import inventory_path

    return [item.to_json() for item in inventory_path(path)]


def results_of(path: Path) -> tuple[dict[str, Any], list[str]]:
    """``(criteria result, flags)`` from a findings or result document."""
    try:
        document = json.loads(read_text(path)[0])  # UTF-8 (BOM or not), UTF-16 or Shift_JIS
    except FileNotFoundError:
        raise DryRunError(f"findings file not found: {path}") from None
    except TextEncodingError as exc:
        raise DryRunError(f"findings file {exc}") from None
    except json.JSONDecodeError as exc:
        raise DryRunError(f"findings file {path}: invalid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise DryRunError(f"findings file {path}: expected a JSON object")
    flags = document.get("flags", [])
    if not isinstance(flags, list) or not all(isinstance(f, str) for f in flags):
        raise DryRunError(f"findings file {path}: 'flags' must be a list of strings")
    if "findings" in document:
        result = _grade(path)
    elif "csf_leak" in document or "ruleset" in document:
        result = document
    else:
        raise DryRunError(f"findings file {path}: neither a findings document nor a criteria result")
    result_flags = result.get("flags")
    if isinstance(result_flags, list):
        flags = [*flags, *(f for f in result_flags if isinstance(f, str) and f not in flags)]
    return result, flags


def _grade(path: Path) -> dict[str, Any]:
    command = [sys.executable, "-m", "node", "criteria", str(path), "--json"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=CRITERIA_TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired:
        raise DryRunError(f"'spinenode criteria' did not finish in {CRITERIA_TIMEOUT_SECONDS:.0f} s") from None
    if done.returncode != 0:
        excerpt = (done.stderr or done.stdout).strip()[-500:]
        raise DryRunError(f"'spinenode criteria {path}' failed ({done.returncode}): {excerpt}")
    try:
        result = json.loads(done.stdout)
    except json.JSONDecodeError as exc:
        raise DryRunError(f"'spinenode criteria --json' printed no JSON: {exc}") from None
    if not isinstance(result, dict):
        raise DryRunError("'spinenode criteria --json' printed no JSON object")
    return result


def study_cases(
    path: Path,
    *,
    calling_aet: str = "",
    called_aet: str = "",
    inventory: list[dict[str, Any]] | None = None,
    results: dict[str, Any] | None = None,
    flags: list[str] | None = None,
) -> list[StudyCase]:
    """One :class:`StudyCase` per study under ``path``; the inventory is split by series UID."""
    studies = read_studies(path)
    cases = []
    for study_uid, headers in studies.items():
        series = list(inventory or [])
        if len(studies) > 1:
            series = [s for s in series if s.get("series_uid") in headers.series_uids]
        facts = StudyFacts(
            attributes=headers.attributes,
            calling_aet=calling_aet,
            called_aet=called_aet,
            inventory=series,
            results=results,
            flags=flags,
        )
        cases.append(StudyCase(study_uid, headers.instances, facts))
    return cases
