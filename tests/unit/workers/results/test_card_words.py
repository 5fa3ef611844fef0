"""Card lines in words: no rule IDs, field names or JSON paths."""

from __future__ import annotations

import re

import pytest

from workers.results.card_words import plain, plain_title


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("CSF leak: NONE (CSF-LEAK-DX-5)", "CSF leak: none"),
        (
            "  missing: clinical.orthostatic_headache, clinical.opening_pressure_mmh2o",
            "not known yet: orthostatic headache, opening pressure",
        ),
        (
            "PATHWAY-1: No brain MRI performed: consider contrast brain MRI",
            "No brain MRI performed: consider contrast brain MRI",
        ),
        (
            "  Spinal MRI: STRONGLY_SUSPECTED (CSF-LEAK-MR-1) [needs confirmation]",
            "Spinal MRI: strongly suspected (needs confirmation)",
        ),
        (
            "  note: enhancement not assessable (findings[0]): CSF-LEAK-MR-2 and CSF-LEAK-MR-4 cannot fire",
            "note: enhancement not assessable: the enhancement rules cannot apply",
        ),
        ("findings[2] spinal_mri epidural_fluid: SUSPECTED", "spinal MRI epidural fluid: suspected"),
    ],
)
def test_plain(line: str, expected: str) -> None:
    got = plain(line)
    assert got == expected
    assert not re.search(r"[A-Z]{2,}-\d|\[\d+\]|clinical\.|_", got)


def test_plain_title() -> None:
    assert plain_title("Intracranial hypotension (ICH, ICH-DX)") == "Intracranial hypotension"
    assert plain_title("Vertebral marrow ADC (VB-ADC-1, VB-SIG-1)") == "Vertebral marrow ADC"
    assert (
        plain_title("Suggestions (decision support, not a diagnosis)")
        == "Suggestions (decision support, not a diagnosis)"
    )


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("ctm_sac_contrast_hu: 536 [hnsf'U]", "dural sac contrast: 536 HU"),
        ("ctm_epidural_contrast_hu: 432 [hnsf'U] at T1", "epidural contrast: 432 HU at T1"),
        ("ctm_subdural_extent: 44 mm at T1", "subdural contrast extent: 44 mm at T1"),
        ("ri_paraspinal_lr_ratio: 1.25 1 at L2", "paraspinal left/right ratio: 1.25 at L2"),
        ("cord CSA (mean): 72 mm2", "cord CSA (mean): 72 mm²"),
        ("levels C2 to T1 named from C2", "levels C2 to T1 named from C2"),
    ],
)
def test_measurement_lines_name_the_quantity_and_unit_in_words(line: str, expected: str) -> None:
    assert plain(line) == expected
