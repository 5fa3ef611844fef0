"""Words for the summary card: section lines without rule IDs, field names or JSON paths.

The SR keeps the rule IDs (they are coded there); a person reading the card gets the sentence.
"""

from __future__ import annotations

import re

from pydicom.valuerep import PersonName

from workers.criteria.words import GRADE_WORDS

_FIELD_WORDS = {
    "clinical.orthostatic_headache": "orthostatic headache",
    "clinical.opening_pressure_mmh2o": "opening pressure",
    "clinical.opening_pressure_position": "position at lumbar puncture",
    "clinical": "clinical details",
}
_RULE = r"(?:[A-Z]{2,}(?:-[A-Z]+)*-\d+[a-z]?)"
_RULE_LIST = re.compile(rf"\s*\(\s*{_RULE}(?:\s*,\s*{_RULE})*\s*\)")
_RULE_PREFIX = re.compile(rf"^\s*{_RULE}(?:\s*,\s*{_RULE})*\s*:\s*")
_JSON_PATH = re.compile(r"\bfindings\[\d+\]:?\s*")
_PHRASES = {
    "CSF-LEAK-MR-2 and CSF-LEAK-MR-4 cannot fire": "the enhancement rules cannot apply",
}
_BARE_RULES = re.compile(rf"\b{_RULE}(?:\s*(?:,|and)\s*{_RULE})*")
_FIELD = re.compile(r"\bclinical(?:\.[a-z_0-9]+)?\b")
#: Measurement names and UCUM units of the analysers' section lines, as a reader writes them.
_MEASUREMENTS = (
    (re.compile(r"\bctm_sac_contrast_hu\b"), "dural sac contrast"),
    (re.compile(r"\bctm_(epidural|subdural)_contrast_hu\b"), r"\1 contrast"),
    (re.compile(r"\bctm_(epidural|subdural)_extent\b"), r"\1 contrast extent"),
    (re.compile(r"\bri_paraspinal_lr_ratio\b"), "paraspinal left/right ratio"),
    (re.compile(r"\bri_convexity_cistern_ratio\b"), "convexity/cistern ratio"),
    (re.compile(r"\bri_residual_24h\b"), "activity left at 24 h"),
    (re.compile(r"\bcord_csa_zscore\b"), "cord area z-score"),
    (re.compile(r"\[hnsf'U\]"), "HU"),
    (re.compile(r"\s*\{z-score\}"), ""),
    (re.compile(r"x10\^-3 mm2/s"), "×10⁻³ mm²/s"),
    (re.compile(r"\bmm2\b"), "mm²"),
    (re.compile(r"(: -?\d[\d.]*(?:e-?\d+)?) 1(?= at |;|$)"), r"\1"),  # UCUM "1": a ratio has no unit
)
_SNAKE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")
_GRADE = re.compile(r"\b(" + "|".join(GRADE_WORDS) + r")\b")


def field_words(name: str) -> str:
    """A findings-document field as words ("clinical.orthostatic_headache" -> "orthostatic headache")."""
    return _FIELD_WORDS.get(name, name.rsplit(".", 1)[-1].replace("_", " "))


def plain(line: str) -> str:
    """A report line as words: rule IDs, JSON paths and field names replaced, grades in lower case."""
    text = line
    for phrase, words in _PHRASES.items():
        text = text.replace(phrase, words)
    text = _RULE_LIST.sub("", text)
    text = _RULE_PREFIX.sub("", text)
    text = _JSON_PATH.sub("", text)
    text = re.sub(r"\s*\(\s*(?:,\s*)*\)", "", text)
    text = _BARE_RULES.sub("the rule", text)
    text = _FIELD.sub(lambda m: field_words(m.group(0)), text)
    text = re.sub(r"^\s*missing:\s*", "not known yet: ", text.strip())
    text = re.sub(r"\[needs confirmation\]", "(needs confirmation)", text)
    text = _GRADE.sub(lambda m: GRADE_WORDS[m.group(1)], text)
    for pattern, words in _MEASUREMENTS:
        text = pattern.sub(words, text)
    text = _SNAKE.sub(lambda m: m.group(0).replace("_", " ").replace("mri", "MRI"), text)
    return " ".join(text.split())


def plain_title(title: str) -> str:
    """A section title without its rule IDs ("CSF leak (CSF-LEAK)" -> "CSF leak")."""
    text = re.sub(r"\s*\((?:[A-Z0-9-]+(?:,\s*)?)+\)\s*$", "", title)
    text = re.sub(r"\s*\([^()]*\b" + _RULE + r"[^()]*\)\s*$", "", text)
    return text.strip() or title


def person_words(value: object) -> str:
    """A DICOM person name as people write it ("DOE^JANE" -> "DOE, JANE"), not with its carets."""
    name = PersonName(str(value or ""))
    parts = [p for p in (name.family_name, name.given_name) if p]
    return ", ".join(parts) if parts else str(value or "")
