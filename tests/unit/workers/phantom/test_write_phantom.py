"""The phantom writer: valid MR files, consistent geometry, truth, UID policy."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pydicom
import pytest

from node.commands import phantom as phantom_command
from workers.phantom import SCENARIOS, write_phantom


@pytest.fixture(scope="module")
def simple(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("simple")
    start = time.process_time()  # CPU time: the work done, not how busy the machine is
    study = write_phantom(out, "simple", seed=1)
    return study, time.process_time() - start


def test_simple_writes_sagittal_and_axial_t2(simple) -> None:
    study, _ = simple
    datasets = [pydicom.dcmread(p) for p in study.files]
    by_series: dict[str, list[pydicom.Dataset]] = {}
    for ds in datasets:
        by_series.setdefault(ds.SeriesDescription, []).append(ds)
    assert set(by_series) == {"Sag T2 TSE", "Ax T2 TSE"}
    assert len(by_series["Sag T2 TSE"]) == 15
    assert len(by_series["Ax T2 TSE"]) == 20
    for ds in datasets:
        assert ds.file_meta.TransferSyntaxUID == pydicom.uid.ExplicitVRLittleEndian
        assert ds.SOPClassUID == pydicom.uid.MRImageStorage
        assert ds.StudyInstanceUID == study.study_instance_uid
        assert str(ds.PatientName) == "PHANTOM^SIMPLE"
        assert ds.InstitutionName == "spinenode phantom"
        assert ds.pixel_array.dtype == np.uint16
        assert float(ds.EchoTime) >= 80 and float(ds.RepetitionTime) >= 2000  # T2-weighted
    sag = by_series["Sag T2 TSE"][0]
    assert sag.pixel_array.shape == (256, 256)
    assert [float(v) for v in sag.ImageOrientationPatient] == [0, 1, 0, 0, 0, -1]
    ax_positions = sorted(float(ds.ImagePositionPatient[2]) for ds in by_series["Ax T2 TSE"])
    assert np.allclose(np.diff(ax_positions), float(by_series["Ax T2 TSE"][0].SpacingBetweenSlices))


def test_simple_is_fast(simple) -> None:
    _, seconds = simple
    assert seconds < 2.0


def test_simple_image_shows_bright_csf_around_darker_cord(simple) -> None:
    study, _ = simple
    truth = study.truth
    ax = [pydicom.dcmread(p) for p in study.files if "Ax_T2" in str(p)]
    ds = ax[len(ax) // 2]
    img = ds.pixel_array.astype(float)
    spacing = float(ds.PixelSpacing[0])
    ipp = np.array([float(v) for v in ds.ImagePositionPatient])
    z = ipp[2]
    from workers.phantom.anatomy import SpineModel

    cord_y = float(SpineModel().canal_y(z)) + 0.5
    col = int(round((0.0 - ipp[0]) / spacing))
    row = int(round((cord_y - ipp[1]) / spacing))
    cord_signal = img[row - 2 : row + 3, col - 2 : col + 3].mean()
    rl_radius_px = truth["cord"]["rl_diameter_mm"] / 2 / spacing
    csf_col = int(round(col + rl_radius_px + 2.0 / spacing))
    csf_signal = img[row, csf_col]
    assert csf_signal > 1.8 * cord_signal


@pytest.mark.skipif(shutil.which("dciodvfy") is None, reason="dciodvfy (dicom3tools) is not installed")
def test_simple_files_pass_dciodvfy(simple) -> None:
    study, _ = simple
    for path in (study.files[0], study.files[-1]):
        result = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, check=False)
        errors = [line for line in (result.stdout + result.stderr).splitlines() if "Error" in line]
        assert errors == [], errors


def test_truth_json_is_written_beside_the_files(simple) -> None:
    study, _ = simple
    truth = json.loads(study.truth_path.read_text())
    assert truth["study_instance_uid"] == study.study_instance_uid
    assert [s["images"] for s in truth["series"]] == [15, 20]
    assert truth["cord"]["csa_mm2"] == pytest.approx(np.pi * 6.5 * 4.0, rel=1e-3)
    assert truth["levels"][0]["name"] == "C2"


def test_fresh_uids_by_default_and_deterministic_on_request(tmp_path: Path) -> None:
    a = write_phantom(tmp_path / "a", seed=5)
    b = write_phantom(tmp_path / "b", seed=5)
    assert a.study_instance_uid != b.study_instance_uid
    sops_a = {pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID for p in a.files}
    sops_b = {pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID for p in b.files}
    assert not sops_a & sops_b
    c = write_phantom(tmp_path / "c", seed=5, deterministic_uids=True)
    d = write_phantom(tmp_path / "d", seed=5, deterministic_uids=True)
    e = write_phantom(tmp_path / "e", seed=6, deterministic_uids=True)
    assert c.study_instance_uid == d.study_instance_uid != e.study_instance_uid
    px_c = pydicom.dcmread(c.files[3]).pixel_array
    px_d = pydicom.dcmread(d.files[3]).pixel_array
    assert np.array_equal(px_c, px_d)
    assert pydicom.dcmread(c.files[3]).SOPInstanceUID == pydicom.dcmread(d.files[3]).SOPInstanceUID


def test_write_phantom_rejects_unknown_scenario_and_negative_seed(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="scenario"):
        write_phantom(tmp_path, "nope")
    with pytest.raises(ValueError, match="seed"):
        write_phantom(tmp_path, "simple", seed=-1)


def test_command_writes_the_phantom(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import argparse

    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    phantom_command.add_parser(sub)
    args = parser.parse_args(["phantom", str(tmp_path / "out"), "--scenario", "simple", "--seed", "2"])
    assert args.run(args) == 0
    assert (tmp_path / "out" / "truth.json").is_file()
    assert "simple" in capsys.readouterr().out
    assert "simple" in SCENARIOS
