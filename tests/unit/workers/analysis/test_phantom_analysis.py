"""Analysers on phantom studies with known truth (workers.phantom)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
import pytest

from workers.analysis import analysis_sections, run_analysers
from workers.inventory.series import classify_series
from workers.phantom import write_phantom


def _study(tmp: Path, scenario: str):
    study = write_phantom(tmp, scenario, seed=3)
    by_series: dict[str, list[pydicom.Dataset]] = {}
    for path in study.files:
        ds = pydicom.dcmread(path)
        by_series.setdefault(ds.SeriesInstanceUID, []).append(ds)
    series = [(classify_series(dss), dss) for dss in by_series.values()]
    levels = {lv["name"]: (lv["z_top_mm"], lv["z_bottom_mm"] - 5.0) for lv in study.truth["levels"]}
    return study, series, levels


@pytest.fixture(scope="module")
def marrow(tmp_path_factory: pytest.TempPathFactory):
    study, series, levels = _study(tmp_path_factory.mktemp("marrow"), "marrow_lesion")
    return study, series, run_analysers(series, levels=levels)


def test_marrow_lesion_adc_within_3_percent_of_truth(marrow) -> None:
    study, _, output = marrow
    adc = {m.level: m for m in output.measurements if m.concept.value == "113041"}
    for lesion in study.truth["marrow_lesions"]:
        measured = adc[lesion["level"]]
        assert measured.value == pytest.approx(lesion["adc_mm2_s"], rel=0.03)
        assert measured.voxels is not None and measured.voxels >= 10
    assert set(adc) == {les["level"] for les in study.truth["marrow_lesions"]}  # no false candidate


def test_marrow_lesions_get_vb_adc_1_classes_and_signal_differential(marrow) -> None:
    _, _, output = marrow
    result = next(r for r in output.results if r.analyser == "marrow_adc")
    classes = {d["roi"].split("(")[-1].rstrip(")"): d["vb_adc"].classification for d in result.details["vb"]}
    assert classes == {"T2": "suspicious_malignant", "T4": "favours_benign"}
    signals = result.details["vb"][0]["signals"]
    assert signals["T1"] == "low" and signals["T2"] == "high"
    assert "lytic metastasis" in result.details["vb"][0]["differential"]
    normal = result.details["normal_marrow_adc_mm2_s"]
    assert normal == pytest.approx(study_normal := 0.45e-3, rel=0.05), study_normal
    assert all(f.source == "automated" for f in output.findings)


def test_marrow_key_images_are_rgb_with_outline(marrow) -> None:
    _, _, output = marrow
    result = next(r for r in output.results if r.analyser == "marrow_adc")
    assert len(result.key_images) == 2
    for key in result.key_images:
        assert key.pixels.dtype == np.uint8 and key.pixels.shape[2] == 3
        red = (key.pixels[..., 0] == 255) & (key.pixels[..., 1] == 40)
        assert red.sum() > 20
        assert key.source_sop_instance_uid


def test_an_unreliable_cord_output_shows_its_outline_without_numbers_or_a_plot(marrow) -> None:
    # the marrow phantom's sagittal T2 has too few pixels across the cord: its cord output is unreliable, and
    # no key image may show an area or a chart against the normal band as if it could be read
    _, _, output = marrow
    cord = next(r for r in output.results if r.analyser == "cord_morphometry")
    assert [v.status.value for v in cord.qc] == ["unreliable"]
    assert len(cord.key_images) == 1, [k.caption for k in cord.key_images]
    (key,) = cord.key_images
    assert "unreliable" in key.caption and not any(ch.isdigit() for ch in key.caption)
    assert key.values == ()


def test_cord_compression_phantom(tmp_path: Path) -> None:
    study, series, levels = _study(tmp_path, "cord_compression")
    output = run_analysers(series, levels=levels)
    result = next(r for r in output.results if r.analyser == "cord_morphometry")
    slices = result.details["slices"]
    truth = study.truth["cord"]
    normal = [s.csa_mm2 for s in slices if abs(s.z_mm - truth["compression"]["z_mm"]) > 12]
    # The closed polar contour gives -5.8 % on this synthetic sharp-edged ellipse (2026-12-01), against +0.1 %
    # (T2), +1.0 % (T2*) and +4.0 % (MT-on) on the expert masks of real volumes; the real masks decide the
    # method, the phantom bounds its bias.
    assert np.median(normal) == pytest.approx(truth["csa_mm2"], rel=0.07)
    comp = result.details["compression"]
    assert comp.z_mm == pytest.approx(truth["compression"]["z_mm"], abs=3.0)
    assert comp.mscc_percent == pytest.approx(
        100 * (1 - truth["compression"]["ap_diameter_min_mm"] / truth["ap_diameter_mm"]), abs=12.0
    )
    assert any("narrowed" in f.description for f in result.findings)
    sections = analysis_sections(output)
    cord = next(s for s in sections if s.title.startswith("Spinal cord morphometry"))
    assert cord.sr_groups and cord.key_images and cord.needs_confirmation
    plot = cord.key_images[-1].pixels
    assert plot.shape == (400, 640, 3) and plot.dtype == np.uint8
    assert "CSA" in cord.key_images[0].caption and cord.key_images[0].values, "a reliable outline keeps its area"


@pytest.mark.skipif(shutil.which("dciodvfy") is None, reason="dciodvfy (dicom3tools) is not installed")
def test_sr_with_analysis_groups_passes_dciodvfy(marrow, tmp_path: Path) -> None:
    _, series, output = marrow
    groups = [g for s in analysis_sections(output) for g in s.sr_groups]
    assert len(groups) >= 3
    evidence = [ds for _, dss in series for ds in dss[:1]]
    report = hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(
            observer_person_context=None,
            observer_device_context=hd.sr.ObserverContext(
                observer_type=pydicom.sr.codedict.codes.DCM.Device,
                observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(uid=hd.UID()),
            ),
        ),
        procedure_reported=pydicom.sr.codedict.codes.LN.MRIOfSpine
        if hasattr(pydicom.sr.codedict.codes.LN, "MRIOfSpine")
        else pydicom.sr.coding.Code("24590-2", "LN", "MR Spine"),
        imaging_measurements=groups,
    )
    sr = hd.sr.Comprehensive3DSR(
        evidence=evidence,
        content=report,
        series_instance_uid=hd.UID(),
        series_number=900,
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer="spinenode",
    )
    path = tmp_path / "sr.dcm"
    sr.save_as(path)
    out = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, check=False)
    errors = [line for line in (out.stdout + out.stderr).splitlines() if "Error" in line]
    assert errors == [], errors
