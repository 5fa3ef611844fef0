"""Summary card Secondary Capture: IOD validity, header, determinism, what the picture shows."""

from __future__ import annotations

import copy
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.dataset import Dataset

from workers.results.card import CONFIRM_FILL, FLAG_FILL, KEY_FRAME, MARGIN, tiles_height
from workers.results.sc import (
    build_summary_card,
    summary_card_pixels,
    thumbnail_from_dataset,
)
from workers.results.section import KeyImage, ReportSection
from workers.results.validate import dciodvfy_errors

ALGORITHM = "spinenode-csf-leak"
VERSION = "1.4.2"


@pytest.fixture
def pixel_sources(make_slice) -> list[Dataset]:
    return [
        *(make_slice(2, i, description="Sag T2 TSE", with_pixels=True) for i in (1, 2, 3)),
        *(
            make_slice(3, i, description="Ax T2 C5-C7", orientation=(1, 0, 0, 0, 1, 0), with_pixels=True)
            for i in (1, 2)
        ),
    ]


def _sections(key_pixels: np.ndarray | None = None) -> list[ReportSection]:
    keys = [KeyImage(pixels=key_pixels, caption="Epidural fluid C7–T2")] if key_pixels is not None else []
    return [
        ReportSection(
            title="CSF leak",
            lines=["CSF leak: DEFINITE (CSF-LEAK-MR-4)", "Epidural fluid C7–T2, not enhancing"],
            flags=["CSF leak DEFINITE"],
            key_images=keys,
            needs_confirmation=True,
        ),
        ReportSection(title="Protocol", lines=["2 series, 5 images"]),
    ]


def _card(
    sources: list[Dataset],
    sections: list[ReportSection],
    thumbnails: list[np.ndarray],
    uids: dict[str, str],
    when: datetime,
    **kwargs: Any,
) -> Dataset:
    return build_summary_card(
        sources,
        sections,
        thumbnails,
        series_number=902,
        instance_number=1,
        algorithm_name=ALGORITHM,
        algorithm_version=VERSION,
        content_datetime=when,
        **{**uids, **kwargs},
    )


def _count(pixels: np.ndarray, color: tuple[int, int, int]) -> int:
    return int(np.all(pixels == np.array(color, dtype=np.uint8), axis=2).sum())


def test_card_is_valid_and_joins_the_study(pixel_sources, new_uids, when, write, reread, tmp_path: Path) -> None:
    thumbnails = [thumbnail_from_dataset(pixel_sources[1]), thumbnail_from_dataset(pixel_sources[4])]
    card = _card(
        pixel_sources,
        _sections(thumbnails[0]),
        thumbnails,
        new_uids,
        when,
        thumbnail_captions=["Sag T2 TSE", "Ax T2 C5-C7"],
    )
    assert dciodvfy_errors(write(card, "card.dcm")) == []
    ds = reread(card)
    first = pixel_sources[0]
    assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.7"
    assert (ds.PatientID, ds.StudyInstanceUID, ds.AccessionNumber) == (
        first.PatientID,
        first.StudyInstanceUID,
        first.AccessionNumber,
    )
    assert str(ds.PatientName) == "Müller^Jörg"
    assert ds.SeriesInstanceUID == new_uids["series_instance_uid"]
    assert ds.SeriesInstanceUID not in {s.SeriesInstanceUID for s in pixel_sources}
    assert ds.BurnedInAnnotation == "YES"
    assert (ds.Rows, ds.Columns, ds.SamplesPerPixel, ds.BitsAllocated) == (960, 1280, 3, 8)
    assert ds.PhotometricInterpretation == "RGB"
    assert ds.DateOfSecondaryCapture == "20240506" and ds.InstanceCreationDate == "20240506"
    algorithm = [e for e in ds.ContributingEquipmentSequence if e.Manufacturer == "spinenode"]
    assert algorithm[0].SoftwareVersions == VERSION and algorithm[0].ManufacturerModelName == ALGORITHM
    Image.fromarray(ds.pixel_array).save(tmp_path / "card.png")


def test_same_inputs_give_the_same_bytes(pixel_sources, new_uids, when, to_bytes) -> None:
    thumbnails = [thumbnail_from_dataset(pixel_sources[0])]
    one = to_bytes(_card(pixel_sources, _sections(), thumbnails, new_uids, when))
    two = to_bytes(_card(list(reversed(pixel_sources)), _sections(), thumbnails, new_uids, when))
    assert one == two
    assert to_bytes(_card(pixel_sources, _sections(), thumbnails, new_uids, when.replace(year=2025))) != one


def test_flags_confirmation_and_key_images_are_coloured(mr_sources, when) -> None:
    def render(sections: list[ReportSection]) -> np.ndarray:
        return summary_card_pixels(
            mr_sources,
            sections,
            [],
            algorithm_name=ALGORITHM,
            algorithm_version=VERSION,
            content_datetime=when,
        )

    key = np.full((40, 40, 3), 128, dtype=np.uint8)
    alarming = render(_sections(key))
    quiet = render([ReportSection(title="Protocol", lines=["2 series, 5 images"])])
    assert _count(alarming, FLAG_FILL) > 500
    assert _count(alarming, CONFIRM_FILL) > 500
    assert _count(quiet, FLAG_FILL) == 0
    assert _count(quiet, CONFIRM_FILL) == 0
    assert _count(quiet, KEY_FRAME) == 0
    assert not np.array_equal(alarming, quiet)


def test_long_text_stays_out_of_the_thumbnail_row(mr_sources, when) -> None:
    thumbnails = [np.full((50, 80, 3), 90, dtype=np.uint8)]
    many = [ReportSection(title=f"Section {i}", lines=["x " * 300] * 5, flags=["flag " * 40]) for i in range(20)]
    few = [ReportSection(title="Section", lines=["short"])]

    def render(sections: list[ReportSection]) -> np.ndarray:
        return summary_card_pixels(
            mr_sources,
            sections,
            thumbnails,
            thumbnail_captions=["caption " * 30],
            algorithm_name=ALGORITHM,
            algorithm_version=VERSION,
            content_datetime=when,
        )

    crowded, sparse = render(many), render(few)
    row_top = crowded.shape[0] - tiles_height([object()], crowded.shape[1])  # type: ignore[list-item]
    assert np.array_equal(crowded[row_top - 10 :], sparse[row_top - 10 :])
    body = crowded[200 : row_top - 10, MARGIN:-MARGIN]
    assert (body.max(axis=2) > 100).any()  # text was drawn above the row


def test_no_sections_no_thumbnails(mr_sources, new_uids, when, write) -> None:
    card = _card(mr_sources, [], [], new_uids, when)
    assert dciodvfy_errors(write(card, "empty.dcm")) == []


def test_real_mr_source(real_mr_path: Path, new_uids, when, write, reread) -> None:
    full = pydicom.dcmread(real_mr_path)
    header = pydicom.dcmread(real_mr_path, stop_before_pixels=True)
    card = _card([header], _sections(), [thumbnail_from_dataset(full)], new_uids, when)
    assert dciodvfy_errors(write(card, "real.dcm")) == []
    ds = reread(card)
    assert ds.PatientID == header.PatientID and ds.StudyInstanceUID == header.StudyInstanceUID


def test_grayscale_thumbnails_are_accepted(mr_sources, when) -> None:
    gray = np.full((30, 30), 200, dtype=np.uint8)
    pixels = summary_card_pixels(
        mr_sources, [], [gray], algorithm_name=ALGORITHM, algorithm_version=VERSION, content_datetime=when
    )
    assert _count(pixels, (200, 200, 200)) > 100


@pytest.mark.parametrize(
    ("thumbnails", "kwargs", "error", "message"),
    [
        (["not an array"], {}, TypeError, r"thumbnails\[0\]: expected a numpy array"),
        ([np.zeros((4, 4, 3), dtype=np.uint16)], {}, ValueError, r"thumbnails\[0\]: dtype uint16"),
        ([np.zeros((4, 4, 4), dtype=np.uint8)], {}, ValueError, r"thumbnails\[0\]: shape"),
        ([np.zeros((0, 4, 3), dtype=np.uint8)], {}, ValueError, r"thumbnails\[0\]: shape"),
        ([np.zeros((4, 4, 3), dtype=np.uint8)], {"thumbnail_captions": []}, ValueError, "thumbnail_captions"),
        ([], {"size": (320, 200)}, ValueError, "size"),
        ([], {"algorithm_name": ""}, ValueError, "algorithm_name"),
        ([], {"series_description": "x" * 65}, ValueError, "series_description"),
        ([], {"series_number": 0}, ValueError, "series_number"),
        ([], {"content_datetime": "now"}, TypeError, "content_datetime"),
    ],
)
def test_invalid_arguments(
    mr_sources,
    new_uids,
    when,
    thumbnails: list[Any],
    kwargs: dict[str, Any],
    error: type[Exception],
    message: str,
) -> None:
    arguments = {
        "series_number": 902,
        "instance_number": 1,
        "algorithm_name": ALGORITHM,
        "algorithm_version": VERSION,
        "content_datetime": when,
        **new_uids,
        **kwargs,
    }
    with pytest.raises(error, match=message):
        build_summary_card(mr_sources, [], thumbnails, **arguments)


def test_invalid_key_image_and_sources(mr_sources, new_uids, when) -> None:
    bad = [ReportSection(title="x", key_images=[KeyImage(pixels=np.zeros((4, 4), dtype=float), caption="c")])]
    with pytest.raises(ValueError, match=r"sections\[0\].key_images\[0\].pixels: dtype"):
        _card(mr_sources, bad, [], new_uids, when)
    other_study = copy.deepcopy(mr_sources)
    other_study[1].StudyInstanceUID = "1.2.3.4"
    with pytest.raises(ValueError, match="one study"):
        _card(other_study, [], [], new_uids, when)
    with pytest.raises(ValueError, match="source series"):
        _card(mr_sources, [], [], {**new_uids, "series_instance_uid": mr_sources[0].SeriesInstanceUID}, when)


def test_card_header_text(mr_sources, when) -> None:
    from workers.results.sc import card_header

    header = card_header(mr_sources, algorithm_name=ALGORITHM, algorithm_version=VERSION, when=when)
    assert header.study_description == "MR C-spine"
    assert header.study_line == "MR  ·  2024-05-06 07:00  ·  Acc ACC-42"
    assert header.patient_line == "Müller, Jörg  ·  ID SN-000123  ·  born 1970-01-01  ·  M"
    assert header.algorithm_line == f"{ALGORITHM} {VERSION}"
    bare = [copy.deepcopy(mr_sources[0])]
    for keyword in ("StudyDescription", "PatientName", "PatientBirthDate", "PatientSex", "AccessionNumber"):
        delattr(bare[0], keyword)
    sparse = card_header(bare, algorithm_name=ALGORITHM, algorithm_version=VERSION, when=when)
    assert sparse.study_description == "(no study description)"
    assert sparse.patient_line.startswith("(no name)  ·  ID SN-000123")
