"""Spinal level names, disc levels and ranges."""

from __future__ import annotations

import pytest

from workers.criteria.levels import VERTEBRAE, LevelRange, parse_level, vertebra_index


@pytest.mark.parametrize(
    ("token", "name"),
    [
        ("C1", "C1"),
        ("C7", "C7"),
        ("T1", "T1"),
        ("Th1", "T1"),
        ("TH12", "T12"),
        ("th5", "T5"),
        ("L5", "L5"),
        ("S1", "S1"),
        (" T3 ", "T3"),
    ],
)
def test_vertebra_names_map_to_one_index(token: str, name: str) -> None:
    assert VERTEBRAE[vertebra_index(token)] == name


@pytest.mark.parametrize("token", ["T13", "C8", "L6", "S2", "T0", "X1", "T01", "", "Th", "12"])
def test_unknown_vertebra_is_rejected_naming_it(token: str) -> None:
    with pytest.raises(ValueError, match="unknown level"):
        vertebra_index(token)


@pytest.mark.parametrize(
    ("token", "upper", "lower"),
    [
        ("C7/T1", "C7", "T1"),
        ("C7/Th1", "C7", "T1"),
        ("Th12/L1", "T12", "L1"),
        ("Th1/2", "T1", "T2"),
        ("T2/T1", "T1", "T2"),
        ("L5/S1", "L5", "S1"),
        ("T4", "T4", "T4"),
    ],
)
def test_disc_levels_mean_the_two_vertebrae_around_them(token: str, upper: str, lower: str) -> None:
    u, low = parse_level(token)
    assert (VERTEBRAE[u], VERTEBRAE[low]) == (upper, lower)


@pytest.mark.parametrize("token", ["C7/T2", "T1/T1", "C6/8", "T1/", "/T2", "C7/T1/T2", "T12/1"])
def test_bad_disc_levels_are_rejected(token: str) -> None:
    with pytest.raises(ValueError, match=token.replace("/", "/")):
        parse_level(token)


def test_parse_level_needs_a_string() -> None:
    with pytest.raises(ValueError, match="must be a string"):
        parse_level(7)


def test_range_is_ordered_upper_first_and_spans_disc_levels() -> None:
    r = LevelRange.parse("Th2", "C7/Th1")
    assert r.names == ("C7", "T2")
    assert str(r) == "C7-T2"
    assert str(LevelRange.parse("T4")) == "T4"


def test_overlap_intersection_and_containment() -> None:
    a, b, c = LevelRange.parse("C7", "T2"), LevelRange.parse("T2", "T4"), LevelRange.parse("T3", "T5")
    assert a.overlaps(b) and b.overlaps(a)
    assert not a.overlaps(c) and not c.overlaps(a)
    assert a.intersection(b) == LevelRange.parse("T2")
    assert a.intersection(c) is None
    assert LevelRange.parse("C7", "T3").contains(a)
    assert not a.contains(b)


@pytest.mark.parametrize(("upper", "lower", "field"), [(-1, 3, "upper"), (3, 99, "lower"), (True, 3, "upper")])
def test_range_constructor_validates_indices(upper: int, lower: int, field: str) -> None:
    with pytest.raises(ValueError, match=f"LevelRange.{field}"):
        LevelRange(upper, lower)


def test_range_constructor_rejects_reversed_range() -> None:
    with pytest.raises(ValueError, match="below lower"):
        LevelRange(5, 2)
