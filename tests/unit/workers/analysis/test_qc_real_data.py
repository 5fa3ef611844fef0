"""QC verdicts on real MRI (sct_testing_data wrapped as DICOM: real pixels, SYNTHETIC headers), and the one
place where they are enforced (workers.analysis.qc.enforce via run_analysers).

Branches: cord mask ok (real axial T2) / failed or unreliable (a real crop that holds no cord; the cord checks
themselves are tested in test_cord_qc_real_data) / unreliable (real pixels with a header that states 1.6 mm
voxels: the cross-section leaves the physiological range), as the canal and cord analysers use them; marrow ADC failed
(real DWI with no sagittal T1/T2); levels failed (55 mm crop: no anchor) and unreliable (a C2 anchor that the
header's lumbar region contradicts); an analyser that raises gives failed; an output without a verdict is
unreliable; findings of outputs that are not ok are withheld; healthy cord with the expert levels gives no
compression candidate.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import nibabel as nib
import numpy as np
import pytest
from series_inputs import series_input, stated_inventory

from tests.unit.workers.analysis.conftest import SCT, header
from workers.analysis import run_analysers
from workers.analysis.base import AnalyserResult, CandidateFinding, QcStatus, QcVerdict, SeriesInput
from workers.analysis.canal import CanalAnalyser
from workers.analysis.cord.analyser import CordMorphometryAnalyser
from workers.analysis.levels import estimate_levels, levels_verdict, name_bodies
from workers.analysis.marrow.analyser import MarrowAdcAnalyser
from workers.analysis.qc import NO_VERDICT
from workers.phantom.nifti import WrapSpec, wrap_nifti


def _image(path: str) -> nib.Nifti1Image:
    if not (SCT / path).exists():
        pytest.skip(f"real data {SCT / path} not available")
    return nib.load(SCT / path)


def _series(image: nib.Nifti1Image, plane: str, sequence: str = "T2", **kwargs: Any) -> SeriesInput:
    datasets = wrap_nifti(image, WrapSpec(f"{plane} {sequence}", plane), header(), **kwargs)
    uid = str(datasets[0].SeriesInstanceUID)
    return series_input(datasets, series_uid=uid, sequence=sequence, plane=plane, modality="MR")


def _verdict(output: Any, analyser: str) -> QcVerdict:
    return next(v for v in output.qc if v.analyser == analyser)


def test_cord_on_real_axial_t2_is_ok_and_healthy_cord_gives_no_compression_candidate() -> None:
    image = _image("t2/t2.nii.gz")
    series = _series(image, "axial")
    points = nib.load(SCT / "t2/labels.nii.gz")
    mids = {
        int(np.asanyarray(points.dataobj)[tuple(i)]): float(nib.affines.apply_affine(points.affine, i)[2])
        for i in np.argwhere(np.asanyarray(points.dataobj) > 0)
    }
    # Expert levels: C3 and C5 mid-body points (labels.nii.gz), C4 between; each level one body+disc.
    step = (mids[3] - mids[5]) / 2
    levels = {
        f"C{v}": (mids[3] - (v - 3) * step + step / 2, mids[3] - (v - 2) * step + step / 2) for v in (2, 3, 4, 5, 6)
    }
    output = run_analysers([(series.inventory, series.datasets)], levels=levels, analysers=[CordMorphometryAnalyser()])
    verdict = _verdict(output, "cord_morphometry")
    assert verdict.status is QcStatus.OK, verdict.reason
    result = output.results[0]
    assert not any("narrowed" in f.description for f in result.findings)
    comp = result.details["compression"]
    assert comp is None or comp.mscc_percent < 20.0


def test_no_cord_in_the_field_fails_and_gives_no_candidate() -> None:
    image = _image("t2/t2.nii.gz")
    data = np.asanyarray(image.dataobj)[:18]  # the 18 most anterior mm (P axis first): bodies and neck, no canal
    crop = nib.Nifti1Image(data, image.affine)
    series = _series(crop, "axial")
    output = run_analysers([(series.inventory, series.datasets)], levels={}, analysers=[CanalAnalyser()])
    verdict = _verdict(output, "canal_fluid")
    assert verdict.status is QcStatus.FAILED
    assert verdict.reason.startswith("no cord in most of the field (found on ")
    assert not output.findings and not output.candidate_findings


SCALE = 1.6  # the header states 1.6 mm voxels for 1 mm: the cross-section is 2.6 times too large


def test_implausible_geometry_makes_the_cord_unreliable_and_ungraded() -> None:
    image = _image("t2/t2.nii.gz")
    wrong = nib.Nifti1Image(np.asanyarray(image.dataobj), image.affine @ np.diag([SCALE, SCALE, SCALE, 1.0]))
    series = _series(wrong, "axial")
    output = run_analysers([(series.inventory, series.datasets)], levels={}, analysers=[CordMorphometryAnalyser()])
    verdict = _verdict(output, "cord_morphometry")
    assert verdict.status is QcStatus.UNRELIABLE
    assert "physiological range" in verdict.reason
    assert not output.findings


def test_marrow_adc_without_anatomy_fails_with_a_reason() -> None:
    image = _image("dmri/dmri.nii.gz")
    bvals = np.loadtxt(SCT / "dmri/bvals.txt")
    bvecs = np.loadtxt(SCT / "dmri/bvecs.txt")
    series = _series(image, "axial", "DWI", b_values=bvals, b_vectors=bvecs)
    series = SeriesInput(replace(series.inventory, b_values=sorted(set(bvals.tolist()))), series.datasets)
    output = run_analysers([(series.inventory, series.datasets)], levels={}, analysers=[MarrowAdcAnalyser()])
    verdict = _verdict(output, "marrow_adc")
    assert verdict.status is QcStatus.FAILED
    assert "sagittal T1 and T2" in verdict.reason
    assert not output.findings


def test_levels_on_a_crop_without_anchor_are_not_named() -> None:
    series = _series(_image("t2/t2.nii.gz"), "sagittal")
    estimate = estimate_levels([series])
    assert estimate is not None and not estimate.levels
    verdict = levels_verdict(estimate)
    assert verdict.status is QcStatus.FAILED and "no anchor" in verdict.reason
    output = run_analysers([(series.inventory, series.datasets)], analysers=[])
    assert output.levels == {} and _verdict(output, "vertebral_levels").status is QcStatus.FAILED


def test_levels_anchor_contradicted_by_the_header_is_unreliable() -> None:
    # Bodies as the sagittal T2 of a neck shows them: a tall C2 (body and dens) on top, cervical bodies below.
    bodies, z = [], 60.0
    for height in (34.0, 14.0, 14.0, 14.5, 14.0, 15.0, 16.0):
        bodies.append((z, z - height))
        z -= height + 5.0
    field = (z - 10.0, 70.0)
    assert name_bodies(bodies, field, "CSPINE Sag T2").status is QcStatus.OK
    lumbar = name_bodies(bodies, field, "LSPINE Sag T2")
    assert lumbar.status is QcStatus.UNRELIABLE and lumbar.names is None and "lumbar" in lumbar.anchor
    merged = name_bodies(bodies, field, "CSPINE Sag T2", dens_ratio=1.0)  # tall top bone without a dens
    assert merged.status is QcStatus.UNRELIABLE and "dens" in merged.anchor
    # The reported failure: a cervico-thoracic field whose lowest tall piece was taken for the sacrum.
    neck = [(top, bottom) for top, bottom in bodies[1:]] + [(bodies[-1][1] - 5.0, bodies[-1][1] - 45.0)]
    sacrum = name_bodies(neck, (neck[-1][1] - 5.0, 62.0), "")
    assert sacrum.status is QcStatus.UNRELIABLE and sacrum.names is None and "not a sacrum" in sacrum.anchor
    thoracic_heights = [(top, top - 3.0) for top, _ in bodies[1:]]  # 3 mm "bodies": not a vertebral column
    broken = name_bodies([bodies[0], *thoracic_heights], (field[0], 62.0), "")
    assert broken.status is QcStatus.UNRELIABLE and broken.names is None


class _Analyser:
    """A stand-in analyser (pure logic of run_analysers: no pixels needed)."""

    version = "0"

    def __init__(self, name: str, verdict: QcStatus | None, fail: bool = False) -> None:
        self.name, self.status, self.fail = name, verdict, fail

    def select(self, series: Any) -> Any:
        return series[0]

    def run(self, inputs: SeriesInput, context: Any) -> AnalyserResult:
        if self.fail:
            raise ValueError("no usable slice")
        result = AnalyserResult(self.name, self.version)
        finding = {"exam": "spinal_mri", "kind": "epidural_fluid", "levels": ["C7", "T2"], "source": "automated"}
        result.findings.append(CandidateFinding("epidural fluid", 0.6, finding, series_instance_uid=inputs.series_uid))
        if self.status is not None:
            reason = "" if self.status is QcStatus.OK else "mask off the canal centre"
            result.qc.append(QcVerdict(self.name, inputs.series_uid, self.status, reason))
        return result


def test_only_ok_outputs_give_candidates(wrap: Any) -> None:
    datasets = wrap("t2/t2.nii.gz", "axial")
    series = [(stated_inventory(datasets, sequence="T2", plane="axial"), datasets)]
    ok = run_analysers(series, levels={}, analysers=[_Analyser("a", QcStatus.OK)])
    assert len(ok.candidate_findings) == 1
    for status in (QcStatus.UNRELIABLE, QcStatus.FAILED):
        out = run_analysers(series, levels={}, analysers=[_Analyser("a", status)])
        assert out.candidate_findings == [] and out.findings == []
        assert any("not reported" in n for n in out.results[0].notes)
    missing = run_analysers(series, levels={}, analysers=[_Analyser("a", None)])
    assert missing.qc[0].status is QcStatus.UNRELIABLE and missing.qc[0].reason == NO_VERDICT
    assert missing.candidate_findings == []
    raised = run_analysers(series, levels={}, analysers=[_Analyser("a", None, fail=True)])
    assert raised.qc[0].status is QcStatus.FAILED and "no usable slice" in raised.qc[0].reason
