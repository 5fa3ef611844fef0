"""Text fitting for the summary card: truncation, wrapping, font fallback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PIL import ImageFont

from workers.results import card_text
from workers.results.card_text import ELLIPSIS, load_font, text_width, truncate, wrap


def test_truncate_keeps_short_text_and_cuts_long_text() -> None:
    font = load_font(20)
    assert truncate("L2 ADC 1.10", font, 500) == "L2 ADC 1.10"
    cut = truncate("epidural fluid " * 20, font, 200)
    assert cut.endswith(ELLIPSIS) and text_width(cut, font) <= 200
    assert cut.startswith("epidural fluid")
    assert truncate("abc", font, 1) == ELLIPSIS


def test_wrap_fits_every_line_and_keeps_every_word() -> None:
    font = load_font(20)
    text = "Epidural fluid from C7 to T2, not enhancing, continuous with the subarachnoid space"
    lines = wrap(text, font, 300)
    assert len(lines) > 1
    assert all(text_width(line, font) <= 300 for line in lines)
    assert " ".join(lines).split() == text.split()


def test_wrap_splits_words_longer_than_a_line() -> None:
    font = load_font(20)
    lines = wrap("x" * 200, font, 100)
    assert len(lines) > 2 and "".join(lines) == "x" * 200
    assert all(text_width(line, font) <= 100 for line in lines)


def test_wrap_limits_lines_with_an_ellipsis() -> None:
    font = load_font(20)
    lines = wrap("word " * 200, font, 200, max_lines=2)
    assert len(lines) == 2 and lines[-1].endswith(ELLIPSIS)
    assert all(text_width(line, font) <= 200 for line in lines)
    assert wrap("two words", font, 500, max_lines=2) == ["two words"]


def test_font_falls_back_to_pillow_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    load_font.cache_clear()
    # Pillow also searches the system font folders by file name, so the name must be missing too.
    monkeypatch.setattr(card_text, "FONT_DIRECTORY", tmp_path / "no-fonts-here")
    monkeypatch.setattr(card_text, "REGULAR_FONT", "NoSuchFont-Regular.ttf")
    try:
        font = load_font(18)
        assert not str(getattr(font, "path", "")).endswith("DejaVuSans.ttf")
        assert text_width("abc", font) > 0
    finally:
        monkeypatch.undo()
        load_font.cache_clear()
    assert isinstance(load_font(18), ImageFont.FreeTypeFont)
    assert str(load_font(18).path).endswith("DejaVuSans.ttf")
    assert str(load_font(18, bold=True).path).endswith("DejaVuSans-Bold.ttf")


def test_font_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="size: 0"):
        load_font(0)


def test_the_findings_block_never_says_plainly_normal_when_an_output_was_not_assessed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from workers.results import card
    from workers.results.findings import FindingsReport, NotAssessable

    said = _said_paragraphs(monkeypatch)
    low = NotAssessable("RI cisternography", "counts too low")
    card.findings_rows(FindingsReport(not_assessable=(low,) * 4), 1200)
    assert said == [
        "No abnormal finding in the outputs that could be assessed",
        "⚠ RI cisternography: not assessable: counts too low (4 series)",
    ]
    said.clear()
    card.findings_rows(FindingsReport(), 1200)
    assert said == ["No abnormal finding from the automated analysis"]


def test_tile_captions_write_units_as_people_do(monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np
    from PIL import Image, ImageDraw

    from workers.results import card

    captions: list[str] = []
    original = card.wrap

    def recording(text: str, *args: Any, **kwargs: Any) -> list[str]:
        captions.append(text)
        return original(text, *args, **kwargs)

    monkeypatch.setattr(card, "wrap", recording)
    canvas = Image.new("RGB", (1280, 960))
    tile = card.Tile(np.zeros((32, 32, 3), dtype=np.uint8), "cord contour, CSA 82.8 mm2, AP 7.9 mm", key_image=True)
    card._draw_tiles(canvas, ImageDraw.Draw(canvas), [tile], 700)
    assert captions == ["cord contour, CSA 82.8 mm², AP 7.9 mm"]


def test_the_findings_block_says_when_nothing_could_be_assessed(monkeypatch: pytest.MonkeyPatch) -> None:
    from workers.results import card
    from workers.results.findings import NotAssessable
    from workers.results.findings_build import build_findings

    said = _said_paragraphs(monkeypatch)
    card.findings_rows(build_findings(None, None), 1200)  # no analysis ran
    assert said == ["Nothing could be assessed automatically: no automated analysis applies to these series"]
    said.clear()
    report = build_findings(None, None, errors=["analysis failed: ValueError: no pixels"])
    assert report.not_assessable == (NotAssessable("Analysis failed", "ValueError: no pixels"),)
    card.findings_rows(report, 1200)
    assert said[0] == "Nothing could be assessed automatically: the analysis could not be completed"
    assert not any("No abnormal finding" in s for s in said)


def _said_paragraphs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The texts the card lays out as paragraphs, recorded as :func:`card.paragraph_rows` is called."""
    from workers.results import card

    said: list[str] = []
    original = card.paragraph_rows

    def recording(text: str, *args: Any, **kwargs: Any) -> list[card.Row]:
        said.append(text)
        return original(text, *args, **kwargs)

    monkeypatch.setattr(card, "paragraph_rows", recording)
    return said


def test_the_card_says_ich_not_graded_on_a_study_without_a_brain_mri(monkeypatch: pytest.MonkeyPatch) -> None:
    from workers.criteria import StudyContext, evaluate, parse_findings
    from workers.criteria.sections import criteria_sections
    from workers.results import card

    said = _said_paragraphs(monkeypatch)
    result = evaluate(parse_findings({"findings": []}), StudyContext(exams_performed=frozenset({"spinal_mri"})))
    ich = next(s for s in criteria_sections(result) if s.title.startswith("Intracranial hypotension"))
    card._section_rows(ich, 1200, compact=True)
    assert said[0] == "Intracranial hypotension on imaging: not graded: no brain MRI in the study"
    assert not any(": none" in line.lower() for line in said), said
