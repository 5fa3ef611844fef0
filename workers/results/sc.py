"""The summary card as a Secondary Capture Image (PS3.3 A.8.1) (the web page shows its pixels as PNG).

The card joins the study of its sources (patient and study copied from the first source) in a new
series. Patient identification is burned into the pixels, so Burned In Annotation is YES. Like the SR,
the object is deterministic: the same arguments give the same bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import highdicom as hd
import numpy as np
from pydicom.dataset import Dataset
from pydicom.valuerep import DA, TM

from workers.results.card import DEFAULT_SIZE, CardHeader, Tile, render_card
from workers.results.card_words import person_words
from workers.results.findings import FindingsReport
from workers.results.header import (
    MANUFACTURER,
    algorithm_equipment,
    check_datetime,
    check_long_string,
    check_new_object,
    check_sources,
    header_source,
    pin_creation_datetimes,
)
from workers.results.section import ReportSection
from workers.results.sr import SPECIFIC_CHARACTER_SET
from workers.results.sr_content import check_sections
from workers.results.thumbnail import thumbnail_from_dataset

__all__ = ["build_summary_card", "thumbnail_from_dataset", "summary_card_pixels"]


def _date(value: object) -> str:
    text = str(value or "")
    return f"{text[:4]}-{text[4:6]}-{text[6:8]}" if len(text) >= 8 and text[:8].isdigit() else text


def _time(value: object) -> str:
    text = str(value or "")
    return f"{text[:2]}:{text[2:4]}" if len(text) >= 4 and text[:4].isdigit() else ""


def card_header(
    sources: Sequence[Dataset], *, algorithm_name: str, algorithm_version: str, when: datetime
) -> CardHeader:
    """The header band's text from the (checked, ordered) sources."""
    first = sources[0]
    modalities: list[str] = []
    for ds in sources:
        modality = str(ds.get("Modality", "") or "")
        if modality and modality not in modalities:
            modalities.append(modality)
    study_parts = [
        "/".join(modalities),
        " ".join(p for p in (_date(first.get("StudyDate")), _time(first.get("StudyTime"))) if p),
    ]
    if first.get("AccessionNumber"):
        study_parts.append(f"Acc {first.AccessionNumber}")
    patient_parts = [
        person_words(first.get("PatientName")) or "(no name)",
        f"ID {first.get('PatientID', '') or '-'}",
    ]
    if first.get("PatientBirthDate"):
        patient_parts.append(f"born {_date(first.PatientBirthDate)}")
    if first.get("PatientSex"):
        patient_parts.append(str(first.PatientSex))
    return CardHeader(
        study_description=str(first.get("StudyDescription", "") or "") or "(no study description)",
        study_line="  ·  ".join(p for p in study_parts if p),
        patient_line="  ·  ".join(patient_parts),
        algorithm_line=f"{algorithm_name} {algorithm_version}",
        created_line=when.strftime("%Y-%m-%d %H:%M"),
    )


def _check_picture(name: str, pixels: object) -> np.ndarray:
    if not isinstance(pixels, np.ndarray):
        raise TypeError(f"{name}: expected a numpy array, got {type(pixels).__name__}")
    if pixels.dtype != np.uint8:
        raise ValueError(f"{name}: dtype {pixels.dtype} is not uint8")
    if pixels.ndim == 2:
        pixels = np.repeat(pixels[:, :, np.newaxis], 3, axis=2)
    if pixels.ndim != 3 or pixels.shape[2] != 3 or pixels.shape[0] < 1 or pixels.shape[1] < 1:
        raise ValueError(f"{name}: shape {pixels.shape} is not H x W x 3 (RGB) or H x W (grayscale)")
    return np.ascontiguousarray(pixels)


#: Caption of the analyser's cord-area plot; the card draws its own chart instead when one is given.
CSA_PLOT_CAPTION = "Cord CSA by vertebral level"


def card_tiles(
    sections: Sequence[ReportSection],
    thumbnails: Sequence[np.ndarray],
    thumbnail_captions: Sequence[str] | None,
    charts: Sequence[Tile] = (),
) -> list[Tile]:
    """Key images of the sections (in section order), the charts, then the series thumbnails."""
    if thumbnail_captions is not None and len(thumbnail_captions) != len(thumbnails):
        raise ValueError(f"thumbnail_captions: {len(thumbnail_captions)} captions for {len(thumbnails)} thumbnails")
    tiles = [
        Tile(_check_picture(f"sections[{i}].key_images[{j}].pixels", key.pixels), key.caption, key_image=True)
        for i, section in enumerate(sections)
        for j, key in enumerate(section.key_images)
        if not (charts and key.caption.startswith(CSA_PLOT_CAPTION))
    ]
    tiles += list(charts)
    for k, pixels in enumerate(thumbnails):
        caption = thumbnail_captions[k] if thumbnail_captions is not None else ""
        tiles.append(Tile(_check_picture(f"thumbnails[{k}]", pixels), caption))
    return tiles


def summary_card_pixels(
    sources: Sequence[Dataset],
    sections: Sequence[ReportSection],
    thumbnails: Sequence[np.ndarray],
    *,
    algorithm_name: str,
    algorithm_version: str,
    content_datetime: datetime | None = None,
    thumbnail_captions: Sequence[str] | None = None,
    size: tuple[int, int] = DEFAULT_SIZE,
    findings: FindingsReport | None = None,
    hidden_lines: frozenset[str] = frozenset(),
    charts: Sequence[Tile] = (),
) -> np.ndarray:
    """The card as RGB uint8 pixels (height x width x 3)."""
    ordered = check_sources(sources)
    check_sections(sections)
    check_long_string("algorithm_name", algorithm_name)
    check_long_string("algorithm_version", algorithm_version)
    when = check_datetime("content_datetime", content_datetime)
    header = card_header(ordered, algorithm_name=algorithm_name, algorithm_version=algorithm_version, when=when)
    tiles = card_tiles(sections, thumbnails, thumbnail_captions, charts)
    return render_card(header, sections, tiles, size, findings=findings, hidden_lines=hidden_lines)


def build_summary_card(
    sources: Sequence[Dataset],
    sections: Sequence[ReportSection],
    thumbnails: Sequence[np.ndarray],
    *,
    series_instance_uid: str,
    sop_instance_uid: str,
    series_number: int,
    instance_number: int,
    algorithm_name: str,
    algorithm_version: str,
    content_datetime: datetime | None = None,
    thumbnail_captions: Sequence[str] | None = None,
    series_description: str = "SPINENODE summary",
    size: tuple[int, int] = DEFAULT_SIZE,
    findings: FindingsReport | None = None,
    hidden_lines: frozenset[str] = frozenset(),
    charts: Sequence[Tile] = (),
) -> Dataset:
    """Build the summary card Secondary Capture Image (RGB, 8 bit, ``size`` = width x height).

    ``thumbnails``: RGB (or grayscale) uint8 pictures, e.g. from :func:`thumbnail_from_dataset` on each
    series' middle slice, with optional ``thumbnail_captions``. The sections' key images are shown first.
    ``content_datetime``: pass it for a reproducible object (None means now).
    """
    ordered = check_sources(sources)
    check_new_object(
        ordered,
        series_instance_uid=series_instance_uid,
        sop_instance_uid=sop_instance_uid,
        series_number=series_number,
        instance_number=instance_number,
    )
    check_long_string("series_description", series_description)
    when = check_datetime("content_datetime", content_datetime)
    pixels = summary_card_pixels(
        ordered,
        sections,
        thumbnails,
        algorithm_name=algorithm_name,
        algorithm_version=algorithm_version,
        content_datetime=when,
        thumbnail_captions=thumbnail_captions,
        size=size,
        findings=findings,
        hidden_lines=hidden_lines,
        charts=charts,
    )
    card = hd.sc.SCImage.from_ref_dataset(
        ref_dataset=header_source(ordered[0]),
        pixel_array=pixels,
        photometric_interpretation="RGB",
        bits_allocated=8,
        coordinate_system="PATIENT",
        series_instance_uid=series_instance_uid,
        series_number=series_number,
        sop_instance_uid=sop_instance_uid,
        instance_number=instance_number,
        manufacturer=MANUFACTURER,
        patient_orientation=("L", "F"),
        contributing_equipment=[algorithm_equipment(algorithm_name, algorithm_version, when)],
        series_description=series_description,
        manufacturer_model_name=algorithm_name,
        software_versions=algorithm_version,
        content_date=when.date(),
        content_time=when.time(),
        series_date=when.date(),
        series_time=when.time(),
        specific_character_set=SPECIFIC_CHARACTER_SET,
        transfer_syntax_uid="1.2.840.10008.1.2.1",
    )
    # A report page has no anatomical orientation: Patient Orientation is Type 2C, present and empty.
    card.PatientOrientation = []
    # Type 2C (paired body parts): a summary covers the whole study, so laterality is present and empty.
    card.Laterality = ""
    card.BurnedInAnnotation = "YES"
    card.RecognizableVisualFeatures = "NO"
    card.ConversionType = "SYN"
    card.ImageComments = "spinenode summary card (automated pre-read)"
    card.DateOfSecondaryCapture = DA(when.date())
    card.TimeOfSecondaryCapture = TM(when.time())
    pin_creation_datetimes(card, when)
    return card
