"""Real multi-vendor DICOM from shared/data/dicom and pydicom-data: b-values, geometry flags, no crash.

Expected b-values are those the files' own tags hold (checked by reading them): GE (0043,1039) first
value 0 and 1000, Siemens (0019,100C) 0 and 1000, Philips (0018,9087) 0 and 1000, Philips enhanced
per-frame MR Diffusion Sequence 0 and 1300.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from dicom_testfiles import dicom_test_files

from workers.inventory import classify_series, inventory_path
from workers.inventory.series import read_header

DATA = Path(__file__).resolve().parents[5] / "shared" / "data" / "dicom"
D2N = DATA / "dicom2nifti"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason="shared/data/dicom is not mounted here")


def one(path: Path) -> dict[str, object]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found = inventory_path(path)
    assert len(found) == 1, [s.series_uid for s in found]
    return found[0].to_json()


@needs_data
@pytest.mark.parametrize(
    ("folder", "b_values", "sequences"),
    [
        ("ge/dti/001", [0, 1000], {"DWI"}),  # the stored subset holds one gradient direction
        ("siemens/dti_classic/001", [0, 1000], {"DTI"}),  # CSA protocol: sDiffusion.lDiffDirections = 150
        ("philips/dti/001", [0, 1000], {"DWI"}),  # three directions in the stored subset
        ("philips_enhanced/dti/001", [0, 1300], {"DWI"}),  # 24 directional frames, 3 distinct directions
    ],
)
def test_vendor_diffusion_b_values(folder: str, b_values: list[int], sequences: set[str]) -> None:
    got = one(D2N / folder)
    assert got["b_values"] == b_values
    assert got["sequence"] in sequences
    assert got["plane"] == "axial"


@needs_data
@pytest.mark.parametrize(
    ("folder", "sequence", "plane"),
    [
        ("siemens/anatomical/001", "FLAIR", "sagittal"),  # SE+IR, TE 394, TI 2200 (SPACE FLAIR)
        ("philips/anatomical/001", "FLAIR", "coronal"),  # IR, TE 387, TI 1650
        ("ge/anatomical/001", "T1", "sagittal"),  # GR, TR 8.9, TE 3.2, TI 900 (IR-prepared)
        ("philips_enhanced/anatomical/001", "T1", "sagittal"),  # AcquisitionContrast T1
        ("hitachi/anatomical/001", "PD", "oblique"),  # SE, TR 4000, TE 12
        ("siemens_multiframe/anatomical/001", "OTHER", "axial"),  # no TR stored: not guessed
    ],
)
def test_vendor_anatomical(folder: str, sequence: str, plane: str) -> None:
    got = one(D2N / folder)
    assert (got["sequence"], got["plane"], got["b_values"]) == (sequence, plane, [])
    assert got["unsafe_geometry"] is False


@needs_data
def test_enhanced_siemens_xa_multiband_and_philips_field_map() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found = {s.description: s for s in inventory_path(DATA / "dcm_qa_enh")}
    xa = found["REST1 w SMS PF7-8"]
    assert (xa.multiband_factor, xa.sequence, xa.fat_suppressed, xa.images) == (2, "T2STAR", True, 24)
    assert found["B0 NS"].sequence == "OTHER"


@needs_data
def test_mosaic_in_nine_transfer_syntaxes() -> None:
    got = one(DATA / "dcm_qa_ts")
    assert got["images"] == 9  # nine instances (distinct SOP Instance UIDs) of one mosaic
    assert got["unsafe_geometry"] is False  # a mosaic image holds the whole volume
    assert got["sequence"] == "T2STAR"  # gradient-echo EPI (*epfid2d1_64, ep2d_bold)


@needs_data
@pytest.mark.parametrize(
    ("folder", "reason"),
    [
        ("gantrytilting/001", "gantry tilt"),
        ("sliceincrement/001", "missing slices"),
        ("sliceincrement/002", "gantry tilt"),
        ("sliceorientation/001", "inconsistent orientation"),
        ("slicecount/001", "not a volume"),
        ("notavolume/001", "not a volume"),
    ],
)
def test_failing_geometry_is_flagged(folder: str, reason: str) -> None:
    got = one(D2N / "failing" / folder)
    assert got["unsafe_geometry"] is True
    issues = got["geometry_issues"]
    assert isinstance(issues, list)
    assert any(reason in issue for issue in issues), issues


def _all_files() -> list[Path]:
    files = dicom_test_files()
    if DATA.is_dir():
        files += sorted(p for p in DATA.rglob("*") if p.is_file())
    return files


def test_every_file_is_classified_without_crash() -> None:
    files = _all_files()
    assert len(files) > 200
    classified = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in files:
            ds = read_header(path)
            if ds is None or "SeriesInstanceUID" not in ds:
                continue
            got = classify_series([ds]).to_json()
            classified += 1
            if got["modality"] == "MR" and "Rows" in ds:
                assert got["sequence"] is not None, path
            if got["modality"] != "MR":
                assert got["sequence"] is None, path
    assert classified > 150
