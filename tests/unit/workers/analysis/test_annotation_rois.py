"""Radiologist ROIs from a TID 1500 SR (highdicom) and a GSPS (pydicom) on the marrow_lesion phantom.

ROIs are drawn on a b=0 DWI image through each lesion, inside it; the ADC inside must be within 3 % of the
lesion's true ADC (the same tolerance as the automatic ROIs).
"""

from __future__ import annotations

import highdicom as hd
import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.sr.codedict import codes
from series_inputs import stated_inventory

from workers.analysis import run_analysers
from workers.inventory.series import classify_series
from workers.phantom import write_phantom


def _pixel(ds: Dataset, point: np.ndarray) -> np.ndarray:
    """DICOM graphic (column, row) of a patient point on image ``ds`` (pixel centre = index + 0.5)."""
    iop = np.asarray(ds.ImageOrientationPatient, dtype=float)
    rel = point - np.asarray(ds.ImagePositionPatient, dtype=float)
    row_spacing, col_spacing = (float(v) for v in ds.PixelSpacing)
    return np.array([rel @ iop[:3] / col_spacing + 0.5, rel @ iop[3:] / row_spacing + 0.5])


def _sr(image: Dataset, centre: np.ndarray, radius_px: float) -> Dataset:
    region = hd.sr.ImageRegion(
        graphic_type=hd.sr.GraphicTypeValues.CIRCLE,
        graphic_data=np.array([centre, centre + [radius_px, 0.0]]),
        source_image=hd.sr.SourceImageForRegion.from_source_image(image),
    )
    group = hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(uid=hd.UID(), identifier="lesion A"),
        referenced_region=region,
        finding_type=codes.SCT.Lesion,
    )
    report = hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(
            observer_person_context=hd.sr.ObserverContext(
                observer_type=codes.DCM.Person,
                observer_identifying_attributes=hd.sr.PersonObserverIdentifyingAttributes(name="Doe^Jane"),
            )
        ),
        procedure_reported=pydicom.sr.coding.Code("24590-2", "LN", "MR Spine"),
        imaging_measurements=[group],
    )
    return hd.sr.Comprehensive3DSR(
        evidence=[image],
        content=report,
        series_instance_uid=hd.UID(),
        series_number=50,
        sop_instance_uid=hd.UID(),
        instance_number=1,
    )


def _gsps(image: Dataset, centre: np.ndarray, half_px: float) -> Dataset:
    pr = Dataset()
    pr.SOPClassUID = "1.2.840.10008.5.1.4.1.1.11.1"
    pr.SOPInstanceUID = hd.UID()
    pr.SeriesInstanceUID = hd.UID()
    pr.StudyInstanceUID = image.StudyInstanceUID
    pr.Modality = "PR"
    ref = Dataset()
    ref.ReferencedSOPClassUID = image.SOPClassUID
    ref.ReferencedSOPInstanceUID = image.SOPInstanceUID
    ellipse = Dataset()
    ellipse.GraphicAnnotationUnits = "PIXEL"
    ellipse.GraphicDimensions = 2
    ellipse.GraphicType = "ELLIPSE"
    ellipse.GraphicFilled = "N"
    c = centre
    ellipse.NumberOfGraphicPoints = 4
    ends = [c + [-half_px, 0], c + [half_px, 0], c + [0, -0.8 * half_px], c + [0, 0.8 * half_px]]
    ellipse.GraphicData = [float(v) for p in ends for v in p]
    polygon = Dataset()
    polygon.GraphicAnnotationUnits = "PIXEL"
    polygon.GraphicDimensions = 2
    polygon.GraphicType = "POLYLINE"
    polygon.GraphicFilled = "N"
    square = [c + [-half_px, -half_px], c + [half_px, -half_px], c + [half_px, half_px], c + [-half_px, half_px]]
    polygon.NumberOfGraphicPoints = 5
    polygon.GraphicData = [float(v) for p in [*square, square[0]] for v in p]
    annotation = Dataset()
    annotation.GraphicLayer = "ROI"
    annotation.ReferencedImageSequence = Sequence([ref])
    annotation.GraphicObjectSequence = Sequence([ellipse, polygon])
    pr.GraphicAnnotationSequence = Sequence([annotation])
    return pr


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory):
    study = write_phantom(tmp_path_factory.mktemp("ann"), "marrow_lesion", seed=3)
    by_series: dict[str, list[Dataset]] = {}
    for path in study.files:
        ds = pydicom.dcmread(path)
        by_series.setdefault(ds.SeriesInstanceUID, []).append(ds)
    return study, [(classify_series(dss), dss) for dss in by_series.values()]


def test_sr_and_gsps_rois_give_the_lesion_adc(study) -> None:
    truth, series = study
    dwi = next(dss for inv, dss in series if inv.sequence == "DWI")
    b0 = [ds for ds in dwi if float(ds.get("DiffusionBValue", 0) or 0) == 0.0]
    expected = {}
    extra = []
    for i, lesion in enumerate(truth.truth["marrow_lesions"]):
        centre = np.asarray(lesion["centre_mm"])
        image = min(b0, key=lambda ds: abs(float(ds.ImagePositionPatient[0]) - centre[0]))
        px = _pixel(image, centre)
        annotation = _sr(image, px, radius_px=2.2) if i == 0 else _gsps(image, px, half_px=2.0)
        extra.append((stated_inventory([annotation], modality="SR" if i == 0 else "PR"), [annotation]))
        expected[lesion["level"]] = lesion["adc_mm2_s"]
    output = run_analysers(series + extra)
    result = next(r for r in output.results if r.analyser == "marrow_adc")
    annotated = [roi for roi in result.details["rois"] if roi.origin == "annotation"]
    assert len(annotated) == 3  # SR circle; GSPS ellipse and polygon
    for roi in annotated:
        assert roi.level in expected, roi.name
        assert roi.voxels >= 8
        assert roi.adc_mean == pytest.approx(expected[roi.level], rel=0.03), roi.name
    classes = [d["vb_adc"].classification for d in result.details["vb"] if "ROI" in d["roi"]]
    assert "suspicious_malignant" in classes
