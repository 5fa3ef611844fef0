"""Report sections of the analysers: summary lines, flags, TID 1501 measurement groups, key images.

Each measurement becomes an ``hd.sr.Measurement`` (TID 300) inside one TID 1501
``MeasurementsAndQualitativeEvaluations`` group per analyser and site/level, with the finding site coded in
SNOMED CT (the vertebra of the level, or the spinal cord), the algorithm named with its version, and the
source images referenced.
"""

from __future__ import annotations

from collections import defaultdict

import highdicom as hd
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code

from workers.analysis.base import SPINAL_CORD, AnalyserResult, AnalysisOutput, Measurement, vertebra_code
from workers.results.section import ReportSection

_UCUM = {
    "mm2/s": Code("mm2/s", "UCUM", "square millimeter per second"),
    "mm2": Code("mm2", "UCUM", "square millimeter"),
    "mm": Code("mm", "UCUM", "millimeter"),
    "%": Code("%", "UCUM", "percent"),
    "1": Code("1", "UCUM", "no units"),
    "{z-score}": Code("{z-score}", "UCUM", "z-score"),
    "[hnsf'U]": Code("[hnsf'U]", "UCUM", "Hounsfield unit"),
}
_TITLES = {
    "cord_morphometry": "Spinal cord morphometry (CORD-MORPH-1)",
    "marrow_adc": "Vertebral marrow ADC (VB-ADC-1, VB-SIG-1)",
    "cord_dti": "Spinal cord DTI (CORD-DTI-1)",
    "cord_mtr": "Spinal cord MTR (CORD-MT-1)",
    "canal_fluid": "Spinal canal: epidural fluid, anterior horns (CSF-LEAK-MR-1, DURO-MSAM-2)",
    "ct_myelography": "CT myelography: epidural and subdural contrast (CSF-LEAK-CTM-1..4)",
    "ri_cisternography": "RI cisternography: accumulation, circulation, bladder (CSF-LEAK-RI)",
}


def _unit(unit: str) -> Code:
    if unit not in _UCUM:
        raise ValueError(f"unit {unit!r} has no UCUM code here; known: {sorted(_UCUM)}")
    return _UCUM[unit]


def _measurement(m: Measurement, algorithm: hd.sr.AlgorithmIdentification) -> hd.sr.Measurement:
    return hd.sr.Measurement(
        name=m.concept,
        value=float(m.value),
        unit=_unit(m.unit),
        algorithm_id=algorithm,
        derivation=codes.SCT.Mean if m.voxels is not None else None,
        finding_sites=[hd.sr.FindingSite(m.site)],
    )


def measurement_groups(result: AnalyserResult) -> list[hd.sr.MeasurementsAndQualitativeEvaluations]:
    """One TID 1501 group per site/level of one analyser's measurements."""
    algorithm = hd.sr.AlgorithmIdentification(name=f"spinenode {result.analyser}", version=result.version)
    by_site: dict[tuple[str, str | None], list[Measurement]] = defaultdict(list)
    for m in result.measurements:
        by_site[(m.roi or "", m.level)].append(m)
    groups = []
    for (roi, level), items in by_site.items():
        site = items[0].site
        if site != SPINAL_CORD:
            site = vertebra_code(level)
        label = f"{result.analyser} {roi or 'cord'} {level or 'all levels'}"
        groups.append(
            hd.sr.MeasurementsAndQualitativeEvaluations(
                tracking_identifier=hd.sr.TrackingIdentifier(uid=hd.UID(), identifier=label[:64]),
                finding_type=site,
                algorithm_id=algorithm,
                finding_sites=[hd.sr.FindingSite(site)],
                measurements=[_measurement(m, algorithm) for m in items],
            )
        )
    return groups


def _lines(result: AnalyserResult) -> list[str]:
    lines = [f.description for f in result.findings]
    headline = [m for m in result.measurements if m.level is None or result.analyser != "cord_morphometry"]
    for m in headline[:6]:
        if result.analyser == "marrow_adc":
            continue
        scale, unit = (1e3, "x10^-3 mm2/s") if m.unit == "mm2/s" else (1.0, m.unit)
        lines.append(f"{m.name}: {m.value * scale:.3g} {unit}" + (f" at {m.level}" if m.level else ""))
    return lines + result.notes


def analysis_sections(output: AnalysisOutput) -> list[ReportSection]:
    """One :class:`ReportSection` per analyser that produced something."""
    sections = []
    for result in output.results:
        flags = []
        for f in result.findings:
            if any(
                word in f.description
                for word in (
                    "suspicious",
                    "narrowed",
                    "epidural fluid",
                    "epidural contrast",
                    "accumulation",
                    "circulation failure",
                )
            ):
                flags.append(f.description.split(":")[0] + (f" ({f.level})" if f.level else ""))
        sections.append(
            ReportSection(
                title=_TITLES.get(result.analyser, result.analyser),
                lines=_lines(result),
                flags=flags,
                sr_groups=measurement_groups(result) if result.measurements else [],
                key_images=list(result.key_images),
                needs_confirmation=True,
            )
        )
    return sections
