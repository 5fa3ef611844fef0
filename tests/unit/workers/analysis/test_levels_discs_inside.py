"""A bone the marrow profile names is not several vertebrae: the discs along the canal must not fall inside it.

The bodies below were measured (patient z, mm, top to bottom) on a real sagittal T2 of the thoraco-lumbar
spine with its intensities inverted (the public sct_tutorial_data ``t2_lumbar``, benchmark only: fetched data
cannot be used here). The marrow profile found three bones, the lowest 110 mm tall, and took it for the
sacrum: L4, L5 and S1 were named with an ``ok`` verdict on a field that holds no sacrum (about T11-L3). The
disc chain found on the same series had eight discs, four of them inside that "sacrum" and two inside "L5".
The rule (:func:`discs_inside`) is checked on these positions, on the bodies of the uninverted scan (each
body of the chain against the marrow profile of the same scan: no disc inside) and on a sacrum that holds one
transitional S1-S2 disc, which is anatomy, not a merge.
"""

from __future__ import annotations

from workers.analysis.levels.from_discs import MAX_DISCS_INSIDE, discs_inside

MARROW_INVERTED = [(-312.3, -349.3), (-356.3, -392.3), (-396.8, -506.3)]
CHAIN_INVERTED = [
    (-313.3, -334.3), (-340.3, -358.2), (-364.2, -380.6), (-386.4, -401.4), (-404.8, -419.2),
    (-425.4, -439.5), (-443.8, -462.2), (-468.1, -487.9), (-494.0, -510.8),
]  # fmt: skip
MARROW_PLAIN = [(-312.3, -320.8), (-329.3, -346.8), (-356.3, -374.3), (-384.3, -406.3), (-412.8, -419.8)]
CHAIN_PLAIN = [
    (-312.3, -319.3), (-327.3, -351.1), (-359.1, -378.9), (-386.9, -413.4), (-420.4, -442.2),
    (-450.0, -475.7), (-483.6, -510.4),
]  # fmt: skip


def test_merged_vertebrae_taken_for_one_bone_are_named_with_the_discs_inside() -> None:
    why = discs_inside(CHAIN_INVERTED, MARROW_INVERTED, ["L4", "L5", "S1"])
    assert "discs inside the bone taken for" in why
    assert "L5" in why or "S1" in why


def test_bodies_that_match_the_disc_chain_pass() -> None:
    assert discs_inside(CHAIN_PLAIN, MARROW_PLAIN, ["T11", "T12", "L1", "L2", "L3"]) == ""


def test_a_sacrum_with_one_transitional_disc_passes_and_two_do_not() -> None:
    lumbar = [(-300.0, -327.0), (-335.0, -362.0), (-370.0, -396.0)]
    sacrum = (-404.0, -500.0)
    bodies = [*lumbar, sacrum]
    one = [*lumbar, (-404.0, -430.0), (-436.0, -500.0)]  # the S1-S2 disc at -433 mm
    two = [*lumbar, (-404.0, -430.0), (-436.0, -460.0), (-466.0, -500.0)]
    names = ["L3", "L4", "L5", "S1"]
    assert MAX_DISCS_INSIDE == 1
    assert discs_inside(one, bodies, names) == ""
    assert "2 discs inside the bone taken for S1 (96 mm)" in discs_inside(two, bodies, names)


def test_a_disc_at_the_edge_of_a_body_is_not_inside_it() -> None:
    # The chain's disc centres lie between bodies; one 2 mm inside the marrow body's end is the same disc.
    bodies = [(-300.0, -327.0), (-333.0, -360.0), (-366.0, -393.0)]
    chain = [(-300.0, -325.0), (-329.0, -358.0), (-362.0, -393.0)]
    assert discs_inside(chain, bodies, ["L1", "L2", "L3"]) == ""
