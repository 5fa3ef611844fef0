"""Shared identity helpers: series summaries, deterministic UIDs, value checks."""

from __future__ import annotations

from datetime import datetime

import pytest
from pydicom.uid import UID

from workers.results.header import (
    check_datetime,
    check_long_string,
    deterministic_uid,
    header_source,
    summarize_series,
)


def test_summaries_count_frames_and_keep_order(make_slice) -> None:
    sources = [make_slice(5, 1, description="Ax DWI"), make_slice(2, 1), make_slice(2, 2)]
    sources[0].NumberOfFrames = 40
    summaries = summarize_series(sources)
    assert [(s.series_number, s.description, s.images) for s in summaries] == [
        (5, "Ax DWI", 40),
        (2, "Sag T2 TSE", 2),
    ]
    assert summaries[0].modality == "MR"


def test_summary_without_series_number(make_slice) -> None:
    ds = make_slice(2, 1)
    del ds.SeriesNumber
    del ds.SeriesDescription
    (summary,) = summarize_series([ds])
    assert summary.series_number is None and summary.description == ""


def test_deterministic_uid_is_valid_and_stable() -> None:
    one = deterministic_uid("study", "summary")
    assert UID(one).is_valid
    assert one == deterministic_uid("study", "summary")
    assert one != deterministic_uid("study", "other")


def test_header_source_fills_type2_without_touching_the_source(make_slice) -> None:
    ds = make_slice(2, 1)
    del ds.PatientBirthDate
    header = header_source(ds)
    assert "PatientBirthDate" in header and header.PatientBirthDate in ("", None)
    assert "PatientBirthDate" not in ds


def test_check_long_string() -> None:
    assert check_long_string("name", "algo") == "algo"
    with pytest.raises(TypeError, match="name: expected a str"):
        check_long_string("name", None)  # type: ignore[arg-type]
    for bad in ("", "   ", "x" * 65, "a\\b", "line\nbreak"):
        with pytest.raises(ValueError, match="name: "):
            check_long_string("name", bad)


def test_check_datetime() -> None:
    when = datetime(2024, 1, 2, 3, 4, 5)
    assert check_datetime("when", when) is when
    assert isinstance(check_datetime("when", None), datetime)
    with pytest.raises(TypeError, match="when: expected a datetime"):
        check_datetime("when", "2024")  # type: ignore[arg-type]
