"""Naming levels from the disc chain, and the agreement of the two ways of finding the bodies.

The bodies between the discs found along the canal (:mod:`.discs`) are named by the same anchors and second
cues as the bodies of the marrow profile (:func:`.naming.name_bodies`): C2 is the bone above the first disc
when it is much taller than the bodies below it and its top (the dens tip) lies inside the field; the
sacrum likewise at the bottom, when it shows sacral anatomy (:func:`.sacrum.check_sacrum`). A C2 cut by the
top edge (:func:`c2_column`) must be tall but no taller than C2 with its dens, free of disc-like signal, above
cervical spacing and marrow-like over at least half its height. When both ways name levels
they must agree (every body of one within half a body of the body of the same name in the other); otherwise
no level is named and the verdict says so.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from workers.analysis.base import QcStatus
from workers.analysis.levels.discs import EDGE_MM, DiscChain, find_discs, to_z
from workers.analysis.levels.line_check import breaks, describe
from workers.analysis.levels.naming import SPINE, STEP_MM, Naming, confirm, name_bodies, region_of
from workers.analysis.levels.sacrum import check_sacrum
from workers.analysis.levels.sagittal_canal import SagittalCanal, find_canal
from workers.analysis.volume import Volume


@dataclass(frozen=True)
class DiscNaming:
    """The bodies (patient z, top to bottom) between the discs found, their naming, and the disc count."""

    bodies: list[tuple[float, float]]
    naming: Naming
    discs: int


DensRatio = Callable[[np.ndarray, tuple[float, float]], "float | None"]


def name_from_discs(
    t2: Volume, description: str, dens_of: DensRatio | None = None, canal: SagittalCanal | None = None
) -> DiscNaming:
    """Find the canal (unless given) and discs on the sagittal T2 and name the bodies between them (or say
    why not). ``dens_of(canal line, top bone)`` gives the dens ratio of the top bone (:func:`..dens_ratio`)."""
    try:
        canal = canal or find_canal(t2)
        jumps = breaks(canal.as_line())
        if jumps:
            raise ValueError(describe(jumps))
        chain: DiscChain = find_discs(t2, canal)
    except (ValueError, IndexError, ArithmeticError) as exc:
        return DiscNaming([], Naming(None, f"canal not followed: {exc}", QcStatus.FAILED), 0)
    arcs = chain.bodies()
    bodies = [(to_z(canal, top), to_z(canal, bottom)) for top, bottom in arcs]
    if len(chain.discs) < 3:
        why = f"only {len(chain.discs)} discs found along the canal"
        return DiscNaming(bodies, Naming(None, why, QcStatus.FAILED), len(chain.discs))
    # The field as name_bodies reads it: a complete end bone has signal unlike marrow beyond it.
    z_high = bodies[0][0] + (2 * STEP_MM if chain.top_complete else 0.0)
    z_low = bodies[-1][1] - (2 * STEP_MM if chain.bottom_complete else 0.0)
    dens = dens_of(canal.as_line(), bodies[0]) if dens_of is not None and chain.top_complete else None
    followed = canal
    naming = name_bodies(bodies, (z_low, z_high), description, dens, lambda b: check_sacrum(t2, followed, b))
    if naming.names is None and naming.status is QcStatus.FAILED:
        column = c2_column(chain)
        if column.found:
            top = (to_z(canal, chain.field_top), bodies[0][1])
            named = [top, *bodies[1:]]
            naming = confirm(named, _from_c2(len(named)), C2_COLUMN_ANCHOR, "cervical", description)
            if naming.names is not None:
                return DiscNaming(named, naming, len(chain.discs))
            return DiscNaming(bodies, naming, len(chain.discs))
        if column.why and region_of(description) != "lumbar":
            naming = Naming(None, f"{naming.anchor}; {column.why}", QcStatus.FAILED)
    if naming.names is None and naming.status is QcStatus.FAILED:
        cut = [
            end for end, complete in (("top", chain.top_complete), ("bottom", chain.bottom_complete)) if not complete
        ]
        where = {
            0: "",
            1: f"; the {''.join(cut)} bone runs to the edge of the field",
            2: "; the top and bottom bones run to the edges of the field",
        }[len(cut)]
        naming = Naming(
            None,
            f"{len(chain.discs)} discs found along the canal, but {naming.anchor}{where}",
            QcStatus.FAILED,
        )
    return DiscNaming(bodies, naming, len(chain.discs))


C2_COLUMN_ANCHOR = "C2 (the tall bone without a disc above the first disc, up to the top of the field)"
#: The bone above the first disc, cut by the top edge, is C2 (body and dens) when it is taller than any
#: vertebra below C2 could be inside the field: at least COLUMN_BODIES times the bodies below it and at
#: least one pitch (body + disc; a cut subaxial bone is at most one body, about 0.8 pitch), with no disc in it.
COLUMN_BODIES = 1.3
COLUMN_PITCHES = 1.0
#: ... and the spacing of the discs below it is cervical: C3-C7 bodies are 12-16 mm with 4-6 mm discs in
#: adults (upper thoracic 20-24 mm, lumbar 30-40 mm).
CERVICAL_PITCH_MM = 21.0
#: ... but no taller than C2 itself: body and dens together are about 35-40 mm in adults against 13-15 mm for
#: the C3-C5 bodies (at most about 2.9 times); a taller column holds more than C2 (the skull base, the clivus,
#: or bodies whose discs were not seen).
COLUMN_MAX_BODIES = 3.0
NO_DISC = 0.5  # the strongest disc-like signal in the bone, over the median disc of the chain
#: ... and it is bone: the band in front of the canal looks like the marrow of the bodies below over at least
#: this fraction of the column (the C2 body; the dens above it is narrower, the band there holds soft tissue).
#: The skull base and brainstem above a spurious disc (a field cut through the skull base) are not.
COLUMN_MARROW = 0.5


@dataclass(frozen=True)
class C2Column:
    found: bool
    why: str  # why the top bone is not taken for C2 (empty when found, or when there is nothing to say)


def c2_column(chain: DiscChain) -> C2Column:
    """Whether the bone above the first disc, up to the top edge of the field, can only be C2."""
    if len(chain.discs) < 4:
        return C2Column(False, "")
    spacings = np.diff(chain.discs[:5])
    pitch = float(np.median(spacings))
    below = [b - a for a, b in chain.bodies()[1:5]]
    column = chain.top_bone[1] - (chain.field_top + EDGE_MM)  # the part where a disc would have been seen
    if column < COLUMN_BODIES * float(np.median(below)) or column < COLUMN_PITCHES * pitch:
        if pitch > CERVICAL_PITCH_MM:
            return C2Column(False, "")  # not a cervical spacing: nothing to say about C2
        why = (
            f"the bone above the first disc runs {column:.0f} mm to the top edge of the field, "
            f"no taller than a vertebra below C2 could be ({pitch:.0f} mm apart below it)"
            if column >= 1.0
            else "the first disc lies at the top edge of the field"
        )
        return C2Column(False, why)
    if column > COLUMN_MAX_BODIES * float(np.median(below)):
        return C2Column(
            False,
            f"the bone above the first disc runs {column:.0f} mm to the top edge of the field, taller than C2 "
            f"with its dens could be ({COLUMN_MAX_BODIES:.0f} times the {np.median(below):.0f} mm bodies below it)",
        )
    if chain.signal_above >= NO_DISC:
        return C2Column(False, "the tall bone at the top of the field may hold a disc that was not found")
    if pitch > CERVICAL_PITCH_MM:
        return C2Column(False, f"the discs below the tall top bone are {pitch:.0f} mm apart, not cervical")
    marrow = chain.top_bone[1] - chain.top_bone[0]  # marrow-like from the first disc up
    if marrow < COLUMN_MARROW * column:
        return C2Column(
            False,
            f"the tall region above the first disc looks like vertebral marrow over only {marrow:.0f} of its "
            f"{column:.0f} mm: it may be the skull base, not C2",
        )
    return C2Column(True, "")


def _from_c2(n: int) -> list[str] | None:
    return list(SPINE[1 : 1 + n]) if 1 + n <= len(SPINE) else None


def disagreement(
    first: Sequence[tuple[float, float]],
    first_names: Sequence[str],
    second: Sequence[tuple[float, float]],
    second_names: Sequence[str],
) -> str:
    """Empty when the bodies named alike by the two ways lie within half a body of each other; else why."""
    centres = {n: 0.5 * (t + b) for (t, b), n in zip(second, second_names, strict=True)}
    for (top, bottom), name in zip(first, first_names, strict=True):
        if name not in centres:
            continue
        if abs(0.5 * (top + bottom) - centres[name]) > 0.5 * (top - bottom):
            return (
                f"the discs along the canal and the marrow profile put {name} "
                f"{abs(0.5 * (top + bottom) - centres[name]):.0f} mm apart"
            )
    shared = set(first_names) & set(second_names)
    return "" if shared else "the discs along the canal and the marrow profile name no level in common"


#: A disc of the chain counts as inside a named body when it lies this far (mm) from both of its ends.
INSIDE_MARGIN_MM = 3.0
#: A named bone may hold one disc of the chain (a transitional S1-S2 disc in the sacrum); two or more are
#: bodies the marrow profile merged into one.
MAX_DISCS_INSIDE = 1


def discs_inside(
    chain: Sequence[tuple[float, float]], bodies: Sequence[tuple[float, float]], names: Sequence[str]
) -> str:
    """Empty unless the discs along the canal (between the bodies ``chain`` of the disc chain) fall inside one
    body the marrow profile named: several vertebrae taken for one bone (an anchor that is not one)."""
    discs = [0.5 * (chain[i][1] + chain[i + 1][0]) for i in range(len(chain) - 1)]
    for (top, bottom), name in zip(bodies, names, strict=True):
        inside = [d for d in discs if bottom + INSIDE_MARGIN_MM < d < top - INSIDE_MARGIN_MM]
        if len(inside) > MAX_DISCS_INSIDE:
            return (
                f"the discs along the canal find {len(inside)} discs inside the bone taken for {name} "
                f"({top - bottom:.0f} mm): the two ways do not see the same vertebrae"
            )
    return ""
