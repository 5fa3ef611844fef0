"""Naming levels from the disc chain, and the agreement of the two ways of finding the bodies.

The bodies between the discs found along the canal (:mod:`.discs`) are named by the same anchors and second
cues as the bodies of the marrow profile (:func:`.naming.name_bodies`): C2 is the bone above the first disc
when it is much taller than the bodies below it and its top (the dens tip) lies inside the field; the
sacrum likewise at the bottom. When both ways name levels they must agree (every body of one within half a
body of the body of the same name in the other); otherwise no level is named and the verdict says so.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from workers.analysis.base import QcStatus
from workers.analysis.levels.canal import find_canal
from workers.analysis.levels.discs import DiscChain, find_discs, to_z
from workers.analysis.levels.naming import STEP_MM, Naming, name_bodies
from workers.analysis.volume import Volume


@dataclass(frozen=True)
class DiscNaming:
    """The bodies (patient z, top to bottom) between the discs found, their naming, and the disc count."""

    bodies: list[tuple[float, float]]
    naming: Naming
    discs: int


DensRatio = Callable[[np.ndarray, tuple[float, float]], "float | None"]


def name_from_discs(t2: Volume, description: str, dens_of: DensRatio | None = None) -> DiscNaming:
    """Find the canal and discs on the sagittal T2 and name the bodies between them (or say why not).
    ``dens_of(canal line, top bone)`` gives the dens ratio of the top bone (:func:`..dens_ratio`)."""
    try:
        canal = find_canal(t2)
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
    naming = name_bodies(bodies, (z_low, z_high), description, dens)
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


def median_pitch(bodies: Sequence[tuple[float, float]]) -> float:
    tops = [t for t, _ in bodies]
    return float(np.median(-np.diff(tops))) if len(tops) > 1 else 0.0
