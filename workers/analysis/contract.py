"""The analysis output in the JSON of ``spinenode analyse`` (``shared/spec/architecture.md``): fixed
measurement names, QC verdicts, levels per series. Typed objects inside; JSON only here, at the edge."""

from __future__ import annotations

from typing import Any

from workers.analysis.base import (
    ADC_CODE,
    AP_DIAMETER_CODE,
    AREA_CODE,
    COMPRESSION_RATIO_CODE,
    CSA_ZSCORE_CODE,
    FA_CODE,
    MD_CODE,
    MSCC_CODE,
    MTR_CODE,
    RL_DIAMETER_CODE,
    AnalysisOutput,
    Measurement,
)
from workers.analysis.levels import ANALYSER as LEVELS_ANALYSER

#: Concept code value -> (contract name, contract unit, factor from the stored unit).
CONTRACT_NAMES: dict[str, tuple[str, str, float]] = {
    AREA_CODE.value: ("cord_csa", "mm2", 1.0),
    AP_DIAMETER_CODE.value: ("cord_ap_diameter", "mm", 1.0),
    RL_DIAMETER_CODE.value: ("cord_rl_diameter", "mm", 1.0),
    COMPRESSION_RATIO_CODE.value: ("cord_compression_ratio", "1", 1.0),
    MSCC_CODE.value: ("cord_mscc", "%", 1.0),
    FA_CODE.value: ("cord_fa", "1", 1.0),
    MD_CODE.value: ("cord_md", "10^-3 mm2/s", 1e3),
    MTR_CODE.value: ("cord_mtr", "%", 1.0),
    ADC_CODE.value: ("marrow_adc", "10^-3 mm2/s", 1e3),
    CSA_ZSCORE_CODE.value: ("cord_csa_zscore", "{z-score}", 1.0),
}


def measurement_json(m: Measurement) -> dict[str, Any] | None:
    """One measurement in the contract shape, or None for a concept the contract does not name."""
    known = CONTRACT_NAMES.get(m.concept.value)
    if known is None:
        return None
    name, unit, factor = known
    return {
        "series_uid": m.series_instance_uid,
        "name": name,
        "level": m.level,
        "value": round(float(m.value) * factor, 4),
        "unit": unit,
    }


def levels_json(output: AnalysisOutput) -> dict[str, dict[str, list[float]]]:
    """Per series, the levels named as [top, bottom] mm (patient z); empty when none was named safely."""
    named = {name: [round(top, 1), round(bottom, 1)] for name, (top, bottom) in output.levels.items()}
    result = next((r for r in output.results if r.analyser == LEVELS_ANALYSER), None)
    if result is None or not named:
        return {}
    return {result.details["estimate"].series_instance_uid: named}
