"""Vendor header conventions on synthetic headers (constructed pydicom Datasets, no pixels)."""

from __future__ import annotations

import struct
from typing import Any

import pytest

from workers.inventory import classify_series
from workers.inventory.diffusion import GE_BVALUE_BIAS, ge_b_value

AXIAL = (1, 0, 0, 0, 1, 0)
SAGITTAL = (0, 1, 0, 0, 0, -1)
CORONAL = (1, 0, 0, 0, 0, -1)


build_series: Any = None  # the header builder of conftest.py, set for every test


@pytest.fixture(autouse=True)
def _header_builder(series: Any) -> None:
    global build_series
    build_series = series


def classify(**kwargs: Any) -> dict[str, Any]:
    return classify_series(build_series(**kwargs)).to_json()


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        (
            "GE FIESTA description",
            dict(
                Manufacturer="GE MEDICAL SYSTEMS",
                SeriesDescription="Ax FIESTA C7-T3",
                ScanningSequence="GR",
                RepetitionTime=5.0,
                EchoTime=2.0,
            ),
        ),
        (
            "GE FIESTA-C pulse name",
            dict(
                Manufacturer="GE MEDICAL SYSTEMS",
                SeriesDescription="AX 3D 0.8",
                ScanningSequence="GR",
                RepetitionTime=5.0,
                EchoTime=2.0,
                private=[(0x0019, "GEMS_ACQU_01", 0x9C, "LO", "fiestac", 0x11)],
            ),
        ),
        (
            "Siemens CISS *ci3d",
            dict(
                Manufacturer="SIEMENS",
                SeriesDescription="t2 ax 3d",
                SequenceName="*ci3d1",
                ScanningSequence="GR",
                RepetitionTime=6.0,
                EchoTime=3.0,
            ),
        ),
        (
            "Siemens TrueFISP *tfi",
            dict(
                Manufacturer="SIEMENS",
                SeriesDescription="ax spine",
                SequenceName="*tfi2d1_22",
                ScanningSequence="GR",
                RepetitionTime=4.0,
                EchoTime=2.0,
            ),
        ),
        (
            "Philips BFFE technique",
            dict(
                Manufacturer="Philips Medical Systems",
                SeriesDescription="sT2W 3D AX",
                ScanningSequence="GR",
                RepetitionTime=5.0,
                EchoTime=2.5,
                private=[(0x2001, "Philips Imaging DD 001", 0x20, "LO", "BFFE", 0x10)],
            ),
        ),
        (
            "Philips B-TFE technique",
            dict(
                Manufacturer="Philips Medical Systems",
                SeriesDescription="AX thin",
                private=[(0x2001, "Philips Imaging DD 001", 0x20, "LO", "B-TFE", 0x10)],
            ),
        ),
        (
            "Philips DRIVE",
            dict(
                Manufacturer="Philips Medical Systems",
                SeriesDescription="T2 3D DRIVE ax",
                ScanningSequence="SE",
                RepetitionTime=1500.0,
                EchoTime=200.0,
            ),
        ),
        (
            "Canon TrueSSFP",
            dict(
                Manufacturer="CANON_MEC",
                SeriesDescription="AX TrueSSFP 1mm",
                ScanningSequence="GR",
                RepetitionTime=5.0,
                EchoTime=2.5,
            ),
        ),
    ],
)
def test_steady_state_by_vendor_names(name: str, kwargs: dict[str, Any]) -> None:
    assert classify(iop=AXIAL, **kwargs)["sequence"] == "SSFP", name


def test_siemens_turboflash_is_not_truefisp() -> None:
    got = classify(
        Manufacturer="SIEMENS",
        SequenceName="*tfl3d1_16ns",
        ScanningSequence=["GR", "IR"],
        SequenceVariant=["SP", "MP"],
        RepetitionTime=2300.0,
        EchoTime=2.3,
        InversionTime=900.0,
    )
    assert got["sequence"] == "T1"


@pytest.mark.parametrize(
    ("ti", "te", "tr", "scanning", "expected"),
    [
        (150.0, 60.0, 4000.0, ["SE", "IR"], "STIR"),
        (230.0, 50.0, 5000.0, ["SE", "IR"], "STIR"),
        (2500.0, 120.0, 9000.0, ["SE", "IR"], "FLAIR"),
        (1650.0, 386.0, 4800.0, "IR", "FLAIR"),
        (900.0, 3.0, 2000.0, ["GR", "IR"], "T1"),
    ],
)
def test_inversion_recovery_by_inversion_time(ti: float, te: float, tr: float, scanning: Any, expected: str) -> None:
    got = classify(
        ScanningSequence=scanning,
        InversionTime=ti,
        EchoTime=te,
        RepetitionTime=tr,
        SeriesDescription="sag spine",
    )
    assert got["sequence"] == expected
    assert got["fat_suppressed"] is (expected == "STIR")


@pytest.mark.parametrize(
    ("tr", "te", "scanning", "expected"),
    [
        (500.0, 10.0, "SE", "T1"),
        (3500.0, 100.0, "SE", "T2"),
        (3000.0, 20.0, "SE", "PD"),
        (8.0, 3.0, "GR", "T1"),
        (600.0, 20.0, "GR", "T2STAR"),
        (1300.0, 35.0, "SE", "OTHER"),
    ],
)
def test_weighting_by_timing(tr: float, te: float, scanning: str, expected: str) -> None:
    assert classify(RepetitionTime=tr, EchoTime=te, ScanningSequence=scanning)["sequence"] == expected


def test_description_overrides_timing_and_missing_timing_is_other() -> None:
    assert classify(SeriesDescription="SAG T2 TSE", RepetitionTime=500.0, EchoTime=10.0)["sequence"] == "T2"
    assert classify(SeriesDescription="series 5")["sequence"] == "OTHER"


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        (dict(ScanOptions=["FS", "PFP"]), True),
        (dict(SeriesDescription="AX T2 FatSat"), True),
        (dict(SeriesDescription="横断 T2 脂肪抑制"), True),
        (dict(SeriesDescription="T1 SPIR"), True),
        (dict(SpectrallySelectedSuppression="FAT"), True),
        (dict(ImageType=["DERIVED", "PRIMARY", "DIXON", "W"]), True),
        (dict(SeriesDescription="AX T2 non-FS", ScanOptions="FS"), False),
        (dict(SeriesDescription="AX T2"), False),
    ],
)
def test_fat_suppression(attributes: dict[str, Any], expected: bool) -> None:
    got = classify(RepetitionTime=3000.0, EchoTime=90.0, ScanningSequence="SE", **attributes)
    assert got["fat_suppressed"] is expected


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        (dict(ContrastBolusAgent="Gadovist"), True),
        (dict(SeriesDescription="AX T1 +C"), True),
        (dict(SeriesDescription="SAG T1 FS Gd"), True),
        (dict(SeriesDescription="矢状断 T1 造影"), True),
        (dict(SeriesDescription="T1 造影後"), True),
        (dict(SeriesDescription="T1 造影前", ContrastBolusAgent="Gd"), False),
        (dict(SeriesDescription="T1 単純"), False),
        (dict(SeriesDescription="AX T1 PRE"), False),
        (dict(ContrastBolusAgent="NONE"), False),
        (dict(SeriesDescription="AX T1"), False),
    ],
)
def test_contrast(attributes: dict[str, Any], expected: bool) -> None:
    assert classify(RepetitionTime=500.0, EchoTime=10.0, **attributes)["contrast"] is expected


@pytest.mark.parametrize(
    ("description", "iop", "plane", "region"),
    [
        ("頚椎 矢状断 T2", SAGITTAL, "sagittal", "cervical"),
        ("胸椎 横断 T2", AXIAL, "axial", "thoracic"),
        ("腰椎 軸位 T2", AXIAL, "axial", "lumbar"),
        ("Ax FIESTA C7-T3", AXIAL, "axial", "cervicothoracic"),
        ("SAG T2 Th1/2", SAGITTAL, "sagittal", "thoracic"),
        ("COR T2 whole spine", CORONAL, "coronal", "whole spine"),
        ("sag T2", SAGITTAL, "sagittal", None),
    ],
)
def test_japanese_and_level_descriptions(
    description: str, iop: tuple[int, ...], plane: str, region: str | None
) -> None:
    got = classify(iop=iop, SeriesDescription=description, RepetitionTime=3000.0, EchoTime=100.0)
    assert (got["plane"], got["region"]) == (plane, region)


def test_japanese_diffusion_description() -> None:
    assert classify(SeriesDescription="拡散強調 横断")["sequence"] == "DWI"


def test_body_part_gives_region() -> None:
    assert classify(BodyPartExamined="LSPINE")["region"] == "lumbar"
    assert classify(BodyPartExamined="CTSPINE")["region"] == "cervicothoracic"


def _per_b(values: list[float]) -> Any:
    def set_b(i: int, ds: Any) -> None:
        ds.DiffusionBValue = values[i % len(values)]

    return set_b


def test_dwi_standard_b_values_and_adc_map() -> None:
    got = classify(n=6, ScanningSequence="EP", per_image=_per_b([0.0, 800.0, 50.0]))
    assert got["sequence"] == "DWI"
    assert got["b_values"] == [0, 50, 800]
    adc = classify(n=3, ImageType=["DERIVED", "PRIMARY", "DIFFUSION", "ADC"], per_image=_per_b([0.0, 1000.0]))
    assert adc["sequence"] == "ADC"
    assert adc["b_values"] == []
    ge_adc = classify(SeriesDescription="Apparent Diffusion Coefficient (mm2/s)")
    assert ge_adc["sequence"] == "ADC"


def test_dti_by_number_of_directions() -> None:
    directions = [
        (1, 0, 0),
        (0, 1, 0),
        (0, 0, 1),
        (0.7071, 0.7071, 0),
        (0.7071, 0, 0.7071),
        (0, 0.7071, 0.7071),
    ]

    def set_direction(i: int, ds: Any) -> None:
        ds.DiffusionBValue = 0.0 if i == 0 else 1000.0
        ds.DiffusionGradientOrientation = list(directions[(i - 1) % 6]) if i else [0.0, 0.0, 0.0]

    assert classify(n=7, per_image=set_direction)["sequence"] == "DTI"
    # three orthogonal directions and their opposites are a trace DWI, not a tensor
    three = [(1, 0, 0), (0, 1, 0), (0, 0, 1), (-1, 0, 0)]

    def set_three(i: int, ds: Any) -> None:
        ds.DiffusionBValue = 1000.0
        ds.DiffusionGradientOrientation = list(three[i % 4])

    got = classify(n=4, per_image=set_three)
    assert (got["sequence"], got["diffusion_directions"]) == ("DWI", 3)


def test_ge_private_b_value_with_bias_at_non_default_block() -> None:
    def set_b(i: int, ds: Any) -> None:
        b = [0, 1000, 2000][i]
        ds.add_new((0x0043, 0x0012), "LO", "GEMS_PARM_01")
        ds.add_new((0x0043, 0x1239), "IS", [GE_BVALUE_BIAS + b, 8, 0, 0])

    got = classify(n=3, Manufacturer="GE MEDICAL SYSTEMS", ScanningSequence=["EP", "SE"], per_image=set_b)
    assert got["b_values"] == [0, 1000, 2000]
    assert ge_b_value(1000.0) == 1000.0
    assert ge_b_value(float(GE_BVALUE_BIAS + 30000)) == 30000.0


def test_siemens_private_b_value_at_non_default_block() -> None:
    def set_b(i: int, ds: Any) -> None:
        ds.add_new((0x0019, 0x0010), "LO", "SIEMENS CSA NON-IMAGE")  # another creator owns block 0x10
        ds.add_new((0x0019, 0x1000 | 0x0C), "IS", 999)  # ... so this is not a b-value
        ds.add_new((0x0019, 0x0013), "LO", "SIEMENS MR HEADER")
        ds.add_new((0x0019, 0x130C), "IS", [0, 500][i % 2])

    got = classify(n=2, Manufacturer="SIEMENS", SequenceName="*ep_b500t", per_image=set_b)
    assert got["b_values"] == [0, 500]


def test_philips_private_b_value_float_unknown_vr() -> None:
    def set_b(i: int, ds: Any) -> None:
        ds.add_new((0x2001, 0x0015), "LO", "Philips Imaging DD 001")
        ds.add_new((0x2001, 0x1503), "UN", struct.pack("<f", [0.0, 600.0][i % 2]))

    got = classify(n=2, Manufacturer="Philips Medical Systems", SeriesDescription="DWI ax", per_image=set_b)
    assert got["b_values"] == [0, 600]


def test_mt_localizer_swi_and_non_mr() -> None:
    assert classify(MagnetizationTransfer="OFF_RESONANCE", RepetitionTime=30.0, EchoTime=4.0)["sequence"] == "MT"
    assert classify(SeriesDescription="GRE MT_on", RepetitionTime=30.0, EchoTime=4.0)["sequence"] == "MT"
    assert classify(ImageType=["ORIGINAL", "PRIMARY", "LOCALIZER"])["sequence"] == "LOCALIZER"
    assert classify(SeriesDescription="3-plane loc")["sequence"] == "LOCALIZER"
    assert classify(SequenceName="*swi3d1r", RepetitionTime=28.0, EchoTime=20.0)["sequence"] == "SWI"
    assert classify(SeriesDescription="Ax SWAN")["sequence"] == "SWI"
    assert classify(SeriesDescription="AX T2* MEDIC", RepetitionTime=600.0, EchoTime=20.0)["sequence"] == "T2STAR"
    ct = classify(Modality="CT", SeriesDescription="C-spine bone")
    assert (ct["sequence"], ct["region"]) == (None, "cervical")


def test_multiband_factor_from_comments_and_ge_private() -> None:
    assert classify(ImageComments="MB4", SeriesDescription="DTI cord")["multiband_factor"] == 4
    ge = classify(
        Manufacturer="GE MEDICAL SYSTEMS",
        SeriesDescription="DTI",
        private=[(0x0043, "GEMS_PARM_01", 0xB6, "LO", "3\\4\\19", 0x10)],
    )
    assert ge["multiband_factor"] == 3
    assert classify(SeriesDescription="DTI cord")["multiband_factor"] is None


def test_series_inventory_json_contract() -> None:
    got = classify(SeriesDescription="Ax FIESTA C7-T3", iop=AXIAL)
    for key in (
        "series_uid",
        "modality",
        "description",
        "images",
        "plane",
        "sequence",
        "fat_suppressed",
        "contrast",
        "b_values",
        "slice_thickness_mm",
        "region",
    ):
        assert key in got
    assert got["images"] == 3
    assert got["coverage_mm"] == pytest.approx(3.0, abs=0.01)  # 3 slices 1 mm apart, 1 mm thick
    assert got["unsafe_geometry"] is False


def test_plane_is_null_without_orientation() -> None:
    datasets = build_series(n=1)
    del datasets[0].ImageOrientationPatient
    assert classify_series(datasets).plane is None
