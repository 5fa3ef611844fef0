"""What each grading rule of the rule book (spec/criteria.md) says, in a reader's words.

The rule IDs stay in the SR, the JSON and ``spinenode criteria`` for tracing; a page a person reads shows
these sentences instead (the ID at most as a tooltip). Every rule that gives a grade has its words here
(a test checks each ID the rule tables and the engine name).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

RULE_WORDS: Final[Mapping[str, str]] = {
    # CSF-LEAK-MR: spinal MRI / MR myelography
    "CSF-LEAK-MR-1": "epidural fluid-signal lesion on spinal MRI",
    "CSF-LEAK-MR-2": "epidural fluid-signal lesion that does not enhance",
    "CSF-LEAK-MR-3": "epidural fluid-signal lesion continuous with the subarachnoid space",
    "CSF-LEAK-MR-4": "epidural fluid-signal lesion that does not enhance and is continuous with the subarachnoid space",
    "CSF-LEAK-MR-SUBDURAL": "subdural CSF: reported as seen, never counted",
    # CSF-LEAK-RI: RI cisternography
    "CSF-LEAK-RI-1": "unilateral, localised epidural RI accumulation",
    "CSF-LEAK-RI-2": "asymmetric epidural RI accumulation",
    "CSF-LEAK-RI-3": "symmetric RI accumulation from the cervical to the thoracic spine",
    "CSF-LEAK-RI-4": "bilateral symmetric lumbar RI accumulation: supportive only",
    "CSF-LEAK-RI-5": "suspected RI accumulation with CSF circulation failure",
    "CSF-LEAK-RI-6": "strongly suspected RI accumulation with CSF circulation failure",
    "CSF-LEAK-RI-CIRC": "CSF circulation failure: at 24 h less RI over the convexity than in the basal cisterns",
    "CSF-LEAK-RI-BLADDER": "early bladder accumulation within 2.5 h: supportive only",
    # CSF-LEAK-CTM: CT myelography
    "CSF-LEAK-CTM-1": "epidural contrast not continuous with the puncture site",
    "CSF-LEAK-CTM-2": "dural defect seen, or epidural contrast continuous with the subarachnoid space",
    "CSF-LEAK-CTM-3": "epidural contrast continuous with the puncture site: technical failure not excluded",
    "CSF-LEAK-CTM-4": "subdural contrast: reported, never counted",
    # CSF-LEAK-DX: the diagnosis from all exams
    "CSF-LEAK-DX-1": "a confirmed finding on any exam",
    "CSF-LEAK-DX-2": "a definite finding on any exam",
    "CSF-LEAK-DX-3": "RI cisternography and spinal MRI both positive at the same level",
    "CSF-LEAK-DX-4": "both suspected at the same level, or only one of RI cisternography and spinal MRI positive",
    "CSF-LEAK-DX-5": "no finding that the criteria count",
    # ICH: intracranial hypotension on brain MRI
    "ICH-1": "diffuse dural enhancement",
    "ICH-2": "subdural effusion: supportive",
    "ICH-3": "dilated epidural venous plexus behind the clivus or upper cervical spine: supportive",
    "ICH-4": "tonsillar descent, brainstem flattening or an enlarged pituitary: supportive",
    "ICH-5": "two or more supportive brain MRI signs",
    "ICH (exclusion)": "brain herniation or Chiari malformation: the intracranial hypotension grade does not apply",
    # ICH-DX: the diagnosis of intracranial hypotension
    "ICH-DX-1": "orthostatic headache, diffuse dural enhancement and opening pressure of 60 mmH2O or less",
    "ICH-DX-2": "orthostatic headache with diffuse dural enhancement or opening pressure of 60 mmH2O or less",
    "ICH-DX-3": "two or more supportive brain MRI signs",
    # EBP: epidural blood patch
    "EBP-1": "orthostatic headache and a CSF leak graded definite or confirmed",
}


def rule_words(rule: str) -> str:
    """``"CSF-LEAK-MR-4"`` -> what the rule says; a rule without words here is named only as "a criteria rule"."""
    return RULE_WORDS.get(rule, "a criteria rule")
