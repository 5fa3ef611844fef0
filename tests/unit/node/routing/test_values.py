from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from node.routing.values import Range, ValueTest, parse_date


def test_shorthand_scalar_means_equals_and_list_means_one_of() -> None:
    assert ValueTest.model_validate("MR").equals == "MR"
    assert ValueTest.model_validate(["MR", "CT"]).one_of == ["MR", "CT"]


def test_equals_normalises_numbers_dates_and_booleans() -> None:
    assert ValueTest(equals=1.5).holds("1.5")
    assert not ValueTest(equals=1.5).holds("1.50001")
    assert ValueTest(equals=date(2024, 3, 5)).holds("20240305")
    assert ValueTest(equals=True).holds(True)
    assert not ValueTest(equals=True).holds(1)
    assert not ValueTest(equals=1).holds(True)
    assert ValueTest(equals="SSFP").holds(" SSFP ")


def test_list_values_match_when_any_element_does() -> None:
    image_type = ["ORIGINAL", "PRIMARY", "M", "ND"]
    assert ValueTest(equals="PRIMARY").holds(image_type)
    assert not ValueTest(equals="DERIVED").holds(image_type)
    assert ValueTest(regex="^M$").holds(image_type)


def test_contains_is_membership_for_lists_and_substring_for_text() -> None:
    assert ValueTest(contains=800).holds([0, 800])
    assert not ValueTest(contains=1000).holds([0, 800])
    assert ValueTest(contains="FIESTA").holds("Ax FIESTA C7-T3")
    assert not ValueTest(contains="CISS").holds("Ax FIESTA C7-T3")


def test_range_numbers_and_dates() -> None:
    thin = ValueTest(range=Range(max=1.5))
    assert thin.holds(1.0) and thin.holds("1.5")
    assert not thin.holds(3.0)
    high_b = ValueTest(range={"min": 600})
    assert high_b.holds([0, 800]) and not high_b.holds([0, 50])
    year = ValueTest.model_validate({"range": {"min": "2024-01-01", "max": "20241231"}})
    assert year.holds("20240612")
    assert not year.holds("20230612")
    assert not year.holds("not a date")


def test_regex_is_a_search() -> None:
    assert ValueTest(regex="(?i)spine").holds("CSPINE")
    assert not ValueTest(regex="^SPINE$").holds("CSPINE")


def test_present_and_absent() -> None:
    assert ValueTest(present=True).holds("x")
    assert not ValueTest(present=True).holds(None)
    assert not ValueTest(present=True).holds([])
    assert ValueTest(present=False).holds("")
    assert not ValueTest(present=False).holds("x")


def test_absent_value_fails_other_operators() -> None:
    assert not ValueTest(equals="MR").holds(None)
    assert not ValueTest(range=Range(min=0)).holds(None)


def test_every_operator_must_hold() -> None:
    test = ValueTest(regex="^Ax", contains="FIESTA")
    assert test.holds("Ax FIESTA")
    assert not test.holds("Sag FIESTA")


def test_parse_date_forms() -> None:
    assert parse_date("20240102") == date(2024, 1, 2)
    assert parse_date("2024-01-02") == date(2024, 1, 2)
    assert parse_date("2024.01.02") == date(2024, 1, 2)
    assert parse_date("yesterday") is None
    assert parse_date(3) is None


def test_empty_test_is_rejected() -> None:
    with pytest.raises(ValidationError, match="needs one of equals"):
        ValueTest()


def test_empty_one_of_is_rejected() -> None:
    with pytest.raises(ValidationError, match="one_of must not be empty"):
        ValueTest(one_of=[])


def test_bad_regex_is_rejected_at_load() -> None:
    with pytest.raises(ValidationError, match="regex '\\[' does not compile"):
        ValueTest(regex="[")


def test_unknown_operator_is_rejected() -> None:
    with pytest.raises(ValidationError, match="startswith"):
        ValueTest.model_validate({"startswith": "Ax"})


def test_range_validation() -> None:
    with pytest.raises(ValidationError, match="range needs min or max"):
        Range()
    with pytest.raises(ValidationError, match="min 3.0 is greater than max 1.0"):
        Range(min=3, max=1)
    with pytest.raises(ValidationError, match="must both be numbers or dates"):
        Range.model_validate({"min": 1, "max": "2024-01-01"})
    with pytest.raises(ValidationError, match="'soon' is neither a number nor a date"):
        Range.model_validate({"max": "soon"})
