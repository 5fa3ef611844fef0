"""The criteria engine: the rule book of ``spec/criteria.md`` as pure, table-driven code.

``parse_findings(obj) -> FindingsDocument`` validates the findings document; ``evaluate(doc, context)``
returns a :class:`CriteriaResult` whose ``to_json()`` is the result contract of ``spinenode criteria``.
"""

from workers.criteria.context import StudyContext
from workers.criteria.engine import evaluate
from workers.criteria.findings import Finding, FindingsDocument, FindingsError, parse_findings
from workers.criteria.grades import Grade
from workers.criteria.result import RULESET_VERSION, CriteriaResult

__all__ = [
    "RULESET_VERSION",
    "CriteriaResult",
    "Finding",
    "FindingsDocument",
    "FindingsError",
    "Grade",
    "StudyContext",
    "evaluate",
    "parse_findings",
]
