"""Whether the tallest bone at the bottom of a sagittal T2 continues as a sacrum: two cues of sacral anatomy.

A tall bone at the bottom of the field is only a sacrum when the image shows the sacrum's own anatomy; a
lumbar body made tall by shading, or by a disc taken for marrow, is not. Both cues must hold, and each must
be seen inside the field (a cue that cannot be measured does not count as agreeing):

1. **Fused below its first body.** S1 and S2 are one bone: under the S1 body there is no disc of the height
   and signal of the discs above it (at most a thin remnant of the S1-S2 disc). The disc signal along the
   canal (:func:`.discs.disc_signal`, the band through the bodies) is read from just below the S1 body
   (:data:`FUSED_FROM` of the body above) to one body height further down; its strongest peak there must stay
   under :data:`NO_DISC` of the median disc between the bodies above it.
2. **The column turns backwards.** The sacrum tilts back from the lumbar column at the lumbosacral junction
   (sacral slope 30-50 degrees in adults, the lower lumbar bodies 0-20 degrees): the canal over the bottom
   bone runs at least :data:`TURN_DEG` further backwards (head to foot) than over the two bodies above it.

The canal is the one followed on its own on the sagittal T2 (:mod:`.sagittal_canal`); heights are patient z.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from workers.analysis.levels.discs import band_profile, disc_signal, straightened
from workers.analysis.levels.sagittal_canal import SagittalCanal
from workers.analysis.volume import Volume

#: The fused part is read from this fraction of the body above below the top of the bottom bone ...
FUSED_FROM = 0.6
#: ... over one body height (the S2 segment under the S1 body).
FUSED_OVER = 1.0
#: The strongest disc-like signal there, over the median disc between the bodies above: a normal disc reaches
#: about 1, a remnant S1-S2 disc (thin, 1-3 mm) or none stays well below.
NO_DISC = 0.5
#: How much further backwards (degrees, head to foot) the canal runs over the bottom bone than over the two
#: bodies above it: the lumbosacral angle is 20-40 degrees in adults; two lumbar segments differ by 10 at most.
TURN_DEG = 15.0
#: Least length (mm) of canal over which a direction is fitted.
FIT_MM = 10.0


@dataclass(frozen=True)
class SacrumCheck:
    """``found`` when both cues of sacral anatomy hold; ``why``: what they showed, in words."""

    found: bool
    why: str


def check_sacrum(volume: Volume, canal: SagittalCanal, bodies: Sequence[tuple[float, float]]) -> SacrumCheck:
    """Whether the bottom bone of ``bodies`` (patient z (top, bottom), top to bottom) continues as a sacrum."""
    if len(bodies) < 3:
        return SacrumCheck(False, "too few bodies above the lowest bone to compare it with")
    fused = _fused(volume, canal, bodies)
    turn = _turn(canal, bodies)
    doubts = [why for ok, why in (fused, turn) if not ok]
    agree = [why for ok, why in (fused, turn) if ok]
    if doubts:
        but = f" (while {agree[0]})" if agree else ""
        return SacrumCheck(False, "the lowest bone does not continue as a sacrum: " + "; ".join(doubts) + but)
    return SacrumCheck(True, f"{fused[1]}; {turn[1]}")


def _arc(canal: SagittalCanal, z: float) -> float:
    """Arc length (mm from the canal's top) where the canal crosses height ``z`` (z falls along the canal)."""
    zs = canal.points[:, 2]
    return float(np.interp(-z, -zs, np.arange(len(zs), dtype=float)))


def _fused(volume: Volume, canal: SagittalCanal, bodies: Sequence[tuple[float, float]]) -> tuple[bool, str]:
    offsets = np.arange(-5.0, 40.0, 1.0)
    try:
        profile = band_profile(straightened(volume, canal, offsets), offsets)
    except ValueError as exc:
        return False, f"the band through the bodies is not seen ({exc})"
    signal = disc_signal(profile)
    inside = np.nonzero(np.isfinite(profile))[0]
    above = list(bodies[:-1])
    height = float(np.median([top - bottom for top, bottom in above[-3:]]))
    # The discs between the bodies above: the peak of the disc signal in each gap (and 2 mm either side);
    # their median over the whole column (one disc bright with fluid, or dark, does not set the scale).
    discs = []
    for (_, upper_bottom), (lower_top, _) in zip(above, above[1:], strict=False):
        a, b = _arc(canal, upper_bottom) - 2.0, _arc(canal, lower_top) + 2.0
        window = signal[max(0, int(a)) : int(np.ceil(b)) + 1]
        if window.size:
            discs.append(float(np.max(window)))
    typical = float(np.median(discs)) if discs else 0.0
    if typical <= 0:
        return False, "no disc is seen between the bodies above it"
    top = bodies[-1][0]
    start, stop = _arc(canal, top - FUSED_FROM * height), _arc(canal, top - (FUSED_FROM + FUSED_OVER) * height)
    if inside.size == 0 or stop > float(inside[-1]):
        left = top - float(canal.points[int(inside[-1]), 2]) if inside.size else 0.0
        return False, f"the field ends {left:.0f} mm below its top, too close to see whether it is fused below"
    lo = int(start)
    part = signal[lo : int(np.ceil(stop)) + 1]
    at = lo + int(np.argmax(part))
    peak = float(part[at - lo]) / typical
    depth = top - float(canal.points[at, 2])
    if peak >= NO_DISC:
        return False, (
            f"a disc ({peak:.1f} of the discs above it) lies {depth:.0f} mm below its top, under a body of "
            f"{height:.0f} mm: it is not fused as S1 and S2 are"
        )
    return True, f"no disc under its first body (at most {peak:.1f} of the discs above it)"


def _direction(canal: SagittalCanal, z_top: float, z_bottom: float) -> float | None:
    """Degrees backwards from straight down of the canal between two heights (line fit), None if too short."""
    z, y = canal.points[:, 2], canal.points[:, 1]
    keep = (z <= z_top) & (z >= z_bottom)
    if int(keep.sum()) < FIT_MM or float(np.ptp(z[keep])) < FIT_MM:
        return None
    slope = float(np.polyfit(z[keep], y[keep], 1)[0])  # dy/dz; y (patient) runs to the back
    return float(np.degrees(np.arctan(-slope)))  # going down (-z): +y is backwards


def _turn(canal: SagittalCanal, bodies: Sequence[tuple[float, float]]) -> tuple[bool, str]:
    top, bottom = bodies[-1]
    z_low = float(canal.points[:, 2].min())
    lumbar = _direction(canal, bodies[-3][0], top)
    sacral = _direction(canal, top, max(bottom, z_low))
    if lumbar is None or sacral is None:
        return False, "the canal is not followed far enough over it to see the column turn"
    turn = sacral - lumbar
    if turn < TURN_DEG:
        return False, (
            f"the canal over it turns {turn:.0f} degrees backwards from the two bodies above it "
            f"(a sacrum turns at least {TURN_DEG:.0f})"
        )
    return True, f"the canal turns {turn:.0f} degrees backwards over it"
