"""Every validation branch of the analysis types raises an error that names the field."""

from __future__ import annotations

import numpy as np
import pytest
from pydicom.dataset import Dataset

from workers.analysis.adc import adc_units_scale, fit_adc
from workers.analysis.base import ADC_CODE, SPINAL_CORD, CandidateFinding, Measurement, SeriesInput
from workers.analysis.cord.axial_view import AxialView
from workers.analysis.cord.segmentation import segment_cord
from workers.analysis.external import available_segmenters
from workers.analysis.marrow.bodies import find_vertebral_bodies, otsu
from workers.analysis.render import csa_plot, outline
from workers.analysis.sections import _unit
from workers.analysis.volume import GeometryError, Volume, load_volume
from workers.inventory.series import SeriesInventory


def _volume(n: int = 3, shape: tuple[int, int] = (8, 8), value: float = 1.0) -> Volume:
    return Volume(
        np.full((n, *shape), value, dtype=np.float32),
        np.array([1.0, 0, 0]),
        np.array([0, 1.0, 0]),
        np.array([[0, 0, 2.0 * k] for k in range(n)]),
        (1.0, 1.0),
        tuple(f"1.{k}" for k in range(n)),
    )


def test_volume_validates_its_fields() -> None:
    v = _volume()
    with pytest.raises(ValueError, match="array"):
        Volume(np.zeros((2, 2)), v.row_direction, v.column_direction, v.positions, (1, 1), v.sop_instance_uids)
    with pytest.raises(ValueError, match="positions"):
        Volume(v.array, v.row_direction, v.column_direction, v.positions[:2], (1, 1), v.sop_instance_uids)
    with pytest.raises(ValueError, match="sop_instance_uids"):
        Volume(v.array, v.row_direction, v.column_direction, v.positions, (1, 1), ("a",))
    with pytest.raises(ValueError, match="row_direction"):
        Volume(v.array, np.array([2.0, 0, 0]), v.column_direction, v.positions, (1, 1), v.sop_instance_uids)
    with pytest.raises(ValueError, match="pixel_spacing"):
        Volume(v.array, v.row_direction, v.column_direction, v.positions, (0, 1), v.sop_instance_uids)
    with pytest.raises(ValueError, match="array must have shape"):
        v.with_array(np.zeros((1, 1, 1)))
    assert v.plane() == "axial" and v.spacing == (2.0, 1.0, 1.0)
    point = v.to_patient(np.array([[1, 2, 3]]))
    assert np.allclose(v.to_index(point), [[1, 2, 3]])


def _ds(z: float, iop: list[float] | None = None, rows: int = 4) -> Dataset:
    ds = Dataset()
    ds.ImageOrientationPatient = iop or [1, 0, 0, 0, 1, 0]
    ds.ImagePositionPatient = [0, 0, z]
    ds.PixelSpacing = [1, 1]
    ds.Rows, ds.Columns = rows, 4
    ds.SOPInstanceUID = f"1.{z}"
    return ds


def test_load_volume_refuses_untrustworthy_geometry() -> None:
    with pytest.raises(GeometryError, match="empty"):
        load_volume([])
    with pytest.raises(GeometryError, match="not all in one orientation"):
        load_volume([_ds(0), _ds(1, [0, 1, 0, 0, 0, -1])])
    with pytest.raises(GeometryError, match="not all of one size"):
        load_volume([_ds(0), _ds(1, rows=5)])
    with pytest.raises(GeometryError, match="at the same position"):
        load_volume([_ds(0), _ds(0)])
    with pytest.raises(GeometryError, match="not uniform"):
        load_volume([_ds(0), _ds(1), _ds(3)])
    missing = _ds(0)
    del missing.PixelSpacing
    with pytest.raises(GeometryError, match="pixel spacing is missing"):
        load_volume([missing])


def test_fit_adc_recovers_a_known_adc_and_validates() -> None:
    adc_true = 0.8e-3
    vols = {b: _volume(value=1000.0 * np.exp(-b * adc_true)) for b in (0.0, 400.0, 800.0)}
    assert np.allclose(fit_adc(vols).array, adc_true, rtol=1e-4)
    with pytest.raises(ValueError, match="at least two"):
        fit_adc({0.0: vols[0.0]})
    with pytest.raises(ValueError, match="grid"):
        fit_adc({0.0: vols[0.0], 800.0: _volume(n=2)})


def test_adc_units_scale_from_magnitude_and_rwvm() -> None:
    ds = Dataset()
    assert adc_units_scale(np.array([800.0, 900.0]), ds) == 1e-6
    assert adc_units_scale(np.array([0.8, 0.9]), ds) == 1e-3
    assert adc_units_scale(np.array([0.0008]), ds) == 1.0
    with pytest.raises(ValueError, match="positive"):
        adc_units_scale(np.array([0.0]), ds)


def test_analysis_types_validate() -> None:
    with pytest.raises(TypeError, match="inventory"):
        SeriesInput([], [Dataset()])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="SeriesInventory"):
        SeriesInput({"series_uid": "1"}, [Dataset()])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no datasets"):
        SeriesInput(SeriesInventory("1", "MR", "", 1), [])
    with pytest.raises(ValueError, match="NaN"):
        Measurement("x", ADC_CODE, float("nan"), "mm2/s", SPINAL_CORD)
    with pytest.raises(ValueError, match="unit"):
        Measurement("x", ADC_CODE, 1.0, "", SPINAL_CORD)
    with pytest.raises(ValueError, match="confidence"):
        CandidateFinding("x", 1.5)
    with pytest.raises(ValueError, match="source"):
        CandidateFinding("x", 0.5, finding={"source": "radiologist"})
    with pytest.raises(ValueError, match="UCUM"):
        _unit("furlong")


def test_render_and_segmentation_validate() -> None:
    with pytest.raises(ValueError, match="mask shape"):
        outline(np.zeros((4, 4)), np.zeros((3, 3), dtype=bool))
    with pytest.raises(ValueError, match="differ in length"):
        csa_plot(["C3"], [], {})
    view = AxialView.of(_volume(shape=(40, 40)))
    with pytest.raises(ValueError, match="n_angles"):
        segment_cord(view, n_angles=4)
    with pytest.raises(ValueError, match="canal_points"):
        find_vertebral_bodies(_volume(), np.zeros((1, 3)))
    with pytest.raises(ValueError, match="empty"):
        otsu(np.array([]))
    sample = np.r_[np.zeros(50), np.ones(50)]
    threshold = otsu(sample)
    assert np.array_equal(sample > threshold, sample == 1.0)


def test_no_external_segmenter_is_assumed() -> None:
    for seg in available_segmenters():
        assert seg.path and seg.name in ("spinal_cord_toolbox", "totalspineseg", "spineps")
