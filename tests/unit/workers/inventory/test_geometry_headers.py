"""Geometry checks and private-creator lookup, with their validation errors."""

from __future__ import annotations

from typing import Any

import pytest
from pydicom.dataset import Dataset

from workers.inventory import classify_series
from workers.inventory.geometry import Slice, plane_of, summarise
from workers.inventory.headers import decode_numbers, private_block, private_element
from workers.inventory.protocol import ProtocolCheck
from workers.inventory.region import Level, level_range
from workers.inventory.series import SeriesInventory
from workers.inventory.siemens import multiband_factor, parse_ascconv, parse_csa2


@pytest.mark.parametrize(
    ("row", "col", "plane"),
    [
        ((1, 0, 0), (0, 1, 0), "axial"),
        ((0, 1, 0), (0, 0, -1), "sagittal"),
        ((1, 0, 0), (0, 0, -1), "coronal"),
        ((1, 0, 0), (0, 0.94, -0.342), "axial"),  # 20 degrees along a disc: still axial
        ((1, 0, 0), (0, 0.707, -0.707), "oblique"),
    ],
)
def test_plane_of(row: tuple[float, ...], col: tuple[float, ...], plane: str) -> None:
    assert plane_of(row, col) == plane


def test_plane_of_rejects_bad_cosines() -> None:
    with pytest.raises(ValueError, match="3 values"):
        plane_of((1, 0), (0, 1, 0))
    with pytest.raises(ValueError, match="parallel"):
        plane_of((1, 0, 0), (1, 0, 0))


def _stack(zs: list[float], shift_x: float = 0.0) -> list[Slice]:
    return [Slice((1, 0, 0), (0, 1, 0), (shift_x * i, 0.0, z)) for i, z in enumerate(zs)]


def test_stack_issues() -> None:
    assert summarise(_stack([0, 1, 2, 3])).issues == []
    assert "missing slices" in summarise(_stack([0, 1, 2, 4])).issues[0]
    assert "inconsistent slice increment" in summarise(_stack([0, 1, 2.3, 3.3, 4.5])).issues[0]
    assert "gantry tilt" in summarise(_stack([0, 1, 2, 3], shift_x=0.3)).issues[0]
    assert "GantryDetectorTilt" in summarise(_stack([0, 1, 2]), gantry_tilt_degrees=12.0).issues[0]
    assert summarise([]).plane is None


def test_coverage_of_sagittal_stack_uses_in_plane_extent() -> None:
    slices = [Slice((0, 1, 0), (0, 0, -1), (x, -100.0, 100.0), 200.0, 200.0, 3.0) for x in (0.0, 3.0, 6.0)]
    got = summarise(slices)
    assert got.coverage_mm == pytest.approx(200.0, abs=0.01)
    assert got.z_range == (-100.0, 100.0)


def test_private_block_found_by_creator_not_offset() -> None:
    ds = Dataset()
    ds.Manufacturer = "GE MEDICAL SYSTEMS"
    ds.add_new((0x0043, 0x0010), "LO", "SOMEONE ELSE")
    ds.add_new((0x0043, 0x1039), "IS", [500, 8, 0, 0])
    ds.add_new((0x0043, 0x0021), "LO", "GEMS_PARM_01 ")
    ds.add_new((0x0043, 0x2139), "IS", [1000, 8, 0, 0])
    assert private_block(ds, 0x0043, "GEMS_PARM_01") == 0x21
    assert decode_numbers(private_element(ds, 0x0043, "GEMS_PARM_01", 0x39)) == [1000, 8, 0, 0]
    with pytest.raises(ValueError, match="offset"):
        private_element(ds, 0x0043, "GEMS_PARM_01", 0x139)


def test_default_block_only_for_the_matching_vendor_without_creators() -> None:
    ds = Dataset()
    ds.add_new((0x0019, 0x100C), "IS", 1000)
    ds.Manufacturer = "SIEMENS"
    assert decode_numbers(private_element(ds, 0x0019, "SIEMENS MR HEADER", 0x0C)) == [1000]
    ds.Manufacturer = "Philips"
    assert private_element(ds, 0x0019, "SIEMENS MR HEADER", 0x0C) is None


def test_siemens_protocol_and_csa_parsers() -> None:
    raw = b'junk### ASCCONV BEGIN ###\nsSliceAcceleration.lMultiBandFactor\t = \t4\ntA = \t"x"\n### ASCCONV END ###'
    protocol = parse_ascconv(raw)
    assert multiband_factor(protocol) == 4
    assert protocol["tA"] == "x"
    assert parse_ascconv(b"no protocol here") == {}
    assert parse_csa2(b"not a CSA2 header") == {}


def test_level_validation_and_ranges() -> None:
    with pytest.raises(ValueError, match="segment"):
        Level("X", 1)
    with pytest.raises(ValueError, match="out of range"):
        Level("C", 8)
    first, last = level_range(["AX FIESTA C7-TH3"]) or (None, None)
    assert (str(first), str(last)) == ("C7", "T3")
    assert level_range(["SAG T2-3D"]) is None  # a weighting and "3D", not levels


def _inventory(**kwargs: Any) -> SeriesInventory:
    values: dict[str, Any] = dict(series_uid="1.2.3", modality="MR", description="x", images=1)
    values.update(kwargs)
    return SeriesInventory(**values)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        (dict(series_uid=""), "series_uid"),
        (dict(images=0), "images"),
        (dict(plane="diagonal"), "plane"),
        (dict(sequence="T3"), "sequence"),
        (dict(b_values=[1000.0, 0.0]), "b_values"),
        (dict(multiband_factor=0), "multiband_factor"),
    ],
)
def test_series_inventory_validates(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        _inventory(**kwargs)


def test_classify_series_validates() -> None:
    with pytest.raises(ValueError, match="at least one"):
        classify_series([])
    a, b = Dataset(), Dataset()
    a.SeriesInstanceUID, b.SeriesInstanceUID = "1.2", "1.3"
    with pytest.raises(ValueError, match="one SeriesInstanceUID"):
        classify_series([a, b])


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        (dict(rule_id=""), "rule_id"),
        (dict(status="ok"), "status"),
        (dict(message=""), "message"),
        (dict(covered_mm=-1.0), "covered_mm"),
    ],
)
def test_protocol_check_validates(kwargs: dict[str, Any], field: str) -> None:
    values: dict[str, Any] = dict(rule_id="DURO-PROTO-1", status="pass", message="m")
    values.update(kwargs)
    with pytest.raises(ValueError, match=field):
        ProtocolCheck(**values)
