"""The RI cisternography and CT myelography phantoms: valid NM/CT objects (dciodvfy), views, times, counts, HU."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pydicom
import pytest

from workers.phantom import SCENARIOS, write_phantom
from workers.results.validate import dciodvfy_errors


@pytest.fixture(scope="module")
def nm(tmp_path_factory: pytest.TempPathFactory):
    return write_phantom(tmp_path_factory.mktemp("nm"), "ri_unilateral_localized", seed=3, deterministic_uids=True)


@pytest.fixture(scope="module")
def ct(tmp_path_factory: pytest.TempPathFactory):
    return write_phantom(tmp_path_factory.mktemp("ct"), "ctm_dural_defect", seed=3)


def test_every_new_scenario_is_offered_by_the_phantom_command() -> None:
    for name in ("ri_normal", "ri_asymmetric", "ri_circulation_failure", "ri_early_bladder", "ctm_normal",
                 "ctm_epidural_leak", "ctm_dural_defect", "ctm_puncture_site", "ctm_subdural"):  # fmt: skip
        assert name in SCENARIOS
    assert "simple" in SCENARIOS  # the MR scenarios stay


def test_nm_views_are_dciodvfy_clean_nm_images_with_view_codes_and_times(nm) -> None:
    datasets = [pydicom.dcmread(p) for p in nm.files]
    assert len(datasets) == 8  # anterior + posterior at 1, 2.5, 6 and 24 h
    for path in nm.files[:2]:
        assert dciodvfy_errors(path) == [], path
    hours = set()
    for ds in datasets:
        assert ds.SOPClassUID == pydicom.uid.NuclearMedicineImageStorage
        view = ds.DetectorInformationSequence[0].ViewCodeSequence[0]
        assert view.CodingSchemeDesignator == "SCT" and view.CodeMeaning.split()[0] in ("Anterior", "Posterior")
        info = ds.RadiopharmaceuticalInformationSequence[0]
        assert info.RadionuclideCodeSequence[0].CodeValue == "56609000"  # In-111
        start = dt.datetime.strptime(info.RadiopharmaceuticalStartDateTime, "%Y%m%d%H%M%S")
        acquired = dt.datetime.strptime(ds.AcquisitionDateTime, "%Y%m%d%H%M%S")
        if ds.ImageID == "ANTERIOR":
            hours.add(round((acquired - start).total_seconds() / 3600.0, 2))
        assert ds.CountsAccumulated == int(ds.pixel_array.astype(np.int64).sum())
    assert hours == {1.0, 2.5, 6.0, 24.0}  # anterior views start on the hour; posterior ones follow


def test_nm_counts_are_poisson() -> None:
    # Two acquisitions of the same patient differ only by counting noise: var(a - b) = mean(a + b) for Poisson.
    from workers.phantom.nm_model import CisternographyPatient, Grid, planar_view

    patient, grid = CisternographyPatient(), Grid()
    a = planar_view(patient, grid, 6.0, "posterior", 300.0, np.random.default_rng(1)).astype(float)
    b = planar_view(patient, grid, 6.0, "posterior", 300.0, np.random.default_rng(2)).astype(float)
    region = (slice(200, 300), slice(85, 107))  # the thoracic column
    ratio = float((a - b)[region].var() / (a + b)[region].mean())
    assert 0.85 < ratio < 1.15
    assert (a + b)[region].mean() > 50


def test_nm_truth_names_the_expected_candidate_and_levels(nm) -> None:
    truth = json.loads(nm.truth_path.read_text())
    assert truth["findings"][0]["pattern"] == "unilateral_localized"
    assert truth["findings"][0]["levels"] == ["T1", "T2"]
    assert truth["half_life_h"] == pytest.approx(67.31, abs=0.01)


def test_ct_slices_are_dciodvfy_clean_with_realistic_hu(ct) -> None:
    assert dciodvfy_errors(ct.files[len(ct.files) // 2]) == []
    ds = pydicom.dcmread(ct.files[len(ct.files) // 2])
    assert ds.SOPClassUID == pydicom.uid.CTImageStorage and ds.ContrastBolusRoute == "INTRATHECAL"
    hu = ds.pixel_array.astype(float) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    assert hu.min() < -900  # air
    assert 1100 < hu.max() < 1600  # cortical bone
    assert float(np.median(hu[100:160, 100:160])) > -200  # soft tissue around the spine
    truth = json.loads(ct.truth_path.read_text())
    assert truth["leak"]["kind"] == "dural_defect" and truth["findings"][0]["dural_defect"] is True
    assert truth["sac_hu"][0] > 300  # contrast above cancellous bone


def test_unknown_scenario_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="scenario must be one of"):
        write_phantom(tmp_path, "ri_nonsense")
