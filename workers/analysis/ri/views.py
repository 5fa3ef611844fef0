"""The views of an RI cisternography: which tracer, which projection, how long after the injection.

The tracer comes from RadiopharmaceuticalInformationSequence (radionuclide code, the pharmaceutical's name) and
the descriptions; the projection from ViewCodeSequence (NM Detector module) and, where a vendor leaves it out,
from ImageComments, ImageID or SeriesDescription (ANT/POST/LAT, 前面/後面/側面); the time from the acquisition
date and time against RadiopharmaceuticalStartDateTime (or the study date with RadiopharmaceuticalStartTime).
Which image side is the patient's left comes from PatientOrientation; without it, the display convention (the
anterior view shows the patient's right on the image left, the posterior view the patient's left).
"""

from __future__ import annotations

import datetime as _dt
import re
import unicodedata
from dataclasses import dataclass

import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import NuclearMedicineImageStorage

IN111 = "56609000"
IN111_HALF_LIFE_H = 2.8047 * 24.0  # 2.80 days
_VIEW_WORDS = (
    ("left lateral", re.compile(r"\b(L\s?LAT|LT\s?LAT|LEFT\s+LAT\w*)\b|左側面")),
    ("right lateral", re.compile(r"\b(R\s?LAT|RT\s?LAT|RIGHT\s+LAT\w*)\b|右側面")),
    ("anterior", re.compile(r"\b(ANT|ANTERIOR|AP)\b|前面|正面")),
    ("posterior", re.compile(r"\b(POST|POSTERIOR|PA)\b|後面|背面")),
)
_CISTERNO = re.compile(r"CISTERN|脳槽|脳脊髄液|髄液|CSF|MYELOSCINT", re.IGNORECASE)
_OTHER_EXAMS = re.compile(r"BONE|MDP|HMDP|HDP|骨|RENAL|RENO|MAG3|DMSA|腎|THYROID|甲状腺|CARDIAC|心筋|LUNG|肺", re.I)


class NotCisternography(ValueError):
    """An NM study that is not an In-111 cisternography; the message says what it is."""


@dataclass(frozen=True)
class View:
    """One planar image: projection, hours after injection, counts per second and geometry."""

    projection: str | None
    hours: float | None
    counts: np.ndarray  # counts (float), rows x columns
    duration_s: float
    pixel_mm: float
    left_is_high_column: bool  # True when the patient's left is towards the last column
    series_uid: str
    sop_uid: str

    @property
    def frontal(self) -> bool:
        return self.projection in ("anterior", "posterior")


def _norm(text: object) -> str:
    return unicodedata.normalize("NFKC", str(text or "")).upper()


def _code_meanings(ds: Dataset) -> list[str]:
    out = []
    for det in ds.get("DetectorInformationSequence", []) or []:
        for item in det.get("ViewCodeSequence", []) or []:
            out.append(_norm(item.get("CodeMeaning", "")))
    for item in ds.get("ViewCodeSequence", []) or []:
        out.append(_norm(item.get("CodeMeaning", "")))
    return out


def projection_of(ds: Dataset) -> str | None:
    """The view from ViewCodeSequence, else from the texts a vendor writes; None when nothing says."""
    for meaning in _code_meanings(ds):
        for name in ("left lateral", "right lateral", "anterior", "posterior"):
            if name.upper() in meaning:
                return name
    for text in (ds.get("ImageComments"), ds.get("ImageID"), ds.get("SeriesDescription")):
        t = _norm(text)
        for name, pattern in _VIEW_WORDS:
            if pattern.search(t):
                return name
    return None


def tracer_check(ds: Dataset) -> None:
    """Raise :class:`NotCisternography` naming what the study is when it is not an In-111 cisternography."""
    parts = (_norm(ds.get(k)).strip() for k in ("StudyDescription", "SeriesDescription", "ProtocolName"))
    texts = " / ".join(dict.fromkeys(p for p in parts if p))
    info = (ds.get("RadiopharmaceuticalInformationSequence") or [None])[0]
    nuclide = ""
    pharma = ""
    if info is not None:
        codes = info.get("RadionuclideCodeSequence") or []
        nuclide = str(codes[0].get("CodeValue", "")) if codes else ""
        pharma = _norm(info.get("Radiopharmaceutical", ""))
    if nuclide and nuclide != IN111:
        raise NotCisternography(f"not a cisternography: the tracer is {pharma or 'not In-111'} ({texts.strip()})")
    if _OTHER_EXAMS.search(texts + " " + pharma) and not _CISTERNO.search(texts):
        raise NotCisternography(f"not a cisternography: {texts.strip() or pharma}")
    if str(ds.get("SOPClassUID", "")) != NuclearMedicineImageStorage:
        raise NotCisternography("not NM Image Storage (a secondary capture): counts cannot be measured")
    if not nuclide and not _CISTERNO.search(texts + " " + pharma):
        raise NotCisternography("neither the tracer (In-111) nor the description says this is a cisternography")


def _datetime(date: object, time: object) -> _dt.datetime | None:
    d, t = str(date or ""), str(time or "").split(".")[0]
    if len(d) != 8 or len(t) < 4:
        return None
    try:
        return _dt.datetime.strptime(d + t.ljust(6, "0")[:6], "%Y%m%d%H%M%S")
    except ValueError:
        return None


def hours_after_injection(ds: Dataset) -> float | None:
    """Hours from RadiopharmaceuticalStartDateTime (or StudyDate + StartTime) to the acquisition start."""
    info = (ds.get("RadiopharmaceuticalInformationSequence") or [None])[0]
    if info is None:
        return None
    start_dt = str(info.get("RadiopharmaceuticalStartDateTime", "") or "")
    start = _datetime(start_dt[:8], start_dt[8:14]) if len(start_dt) >= 12 else None
    if start is None:
        start = _datetime(ds.get("StudyDate"), info.get("RadiopharmaceuticalStartTime"))
    acq_dt = str(ds.get("AcquisitionDateTime", "") or "")
    acquired = _datetime(acq_dt[:8], acq_dt[8:14]) if len(acq_dt) >= 12 else None
    if acquired is None:
        acquired = _datetime(
            ds.get("AcquisitionDate") or ds.get("SeriesDate"), ds.get("AcquisitionTime") or ds.get("SeriesTime")
        )
    if start is None or acquired is None:
        return None
    return (acquired - start).total_seconds() / 3600.0


def view_of(ds: Dataset, series_uid: str) -> View:
    """The :class:`View` of one NM image (first frame)."""
    pixels = ds.pixel_array
    if pixels.ndim == 3:
        pixels = pixels[0]
    projection = projection_of(ds)
    orientation = [str(v).upper() for v in (ds.get("PatientOrientation") or [])]
    if orientation and orientation[0] in ("L", "R"):
        left_high = orientation[0] == "L"
    else:
        left_high = projection != "posterior"
    duration = float(ds.get("ActualFrameDuration", 0) or 0) / 1000.0
    spacing = ds.get("PixelSpacing") or [0]
    return View(
        projection,
        hours_after_injection(ds),
        pixels.astype(float),
        duration if duration > 0 else 1.0,
        float(spacing[0]) or 1.0,
        left_high,
        series_uid,
        str(ds.get("SOPInstanceUID", "")),
    )
