"""An analytic spine for CT myelography phantoms: axial slices in Hounsfield units.

LPS patient coordinates (mm): x to the patient's left, y posterior, z superior (0 at the top of C1). Vertebral
bodies (cortex ~1400 HU, cancellous ~230 HU) with discs (~80 HU), the posterior arch around the canal, ribs
on T1-T12, the fused sacrum with its alae, C2 with the dens; in the canal epidural fat (-100 HU), the dura
(1.2 mm with the arachnoid, 50 HU) and the dural sac filled with iodinated contrast (denser caudally, where it
was injected), the
cord (35 HU) down to L1. Leaks put contrast where it does not belong: the ventral epidural space and the
root sleeves, a gap in the dura, a needle track at the puncture level, or a subdural crescent behind a thin
arachnoid line.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

SEGMENTS: tuple[tuple[str, float, float], ...] = (
    # name, body height, disc below (mm); C1 has no body (ring), S1 stands for the fused sacrum.
    ("C1", 10.0, 2.0), ("C2", 22.0, 5.0), ("C3", 13.0, 5.0), ("C4", 13.0, 5.0), ("C5", 13.0, 5.0),
    ("C6", 13.5, 5.0), ("C7", 14.5, 5.5), ("T1", 16.0, 5.0), ("T2", 17.0, 5.0), ("T3", 17.5, 5.0),
    ("T4", 18.0, 5.0), ("T5", 18.5, 5.0), ("T6", 19.0, 5.5), ("T7", 19.5, 5.5), ("T8", 20.0, 5.5),
    ("T9", 20.5, 6.0), ("T10", 21.0, 6.5), ("T11", 22.0, 7.0), ("T12", 23.0, 8.0), ("L1", 25.0, 9.0),
    ("L2", 26.0, 10.0), ("L3", 27.0, 10.5), ("L4", 27.0, 11.0), ("L5", 26.0, 11.0), ("S1", 80.0, 0.0),
)  # fmt: skip
HU = {"air": -1000.0, "lung": -850.0, "fat": -100.0, "muscle": 50.0, "cortex": 1400.0, "marrow": 230.0,
      "disc": 80.0, "dura": 50.0, "cord": 35.0, "csf": 5.0}  # fmt: skip


@dataclass(frozen=True)
class Leak:
    """Contrast outside the sac: kind, levels and contrast HU."""

    kind: str  # "epidural", "dural_defect", "puncture", "subdural"
    upper: str
    lower: str
    hu: float = 450.0

    def __post_init__(self) -> None:
        if self.kind not in ("epidural", "dural_defect", "puncture", "subdural"):
            raise ValueError(f"kind must be epidural, dural_defect, puncture or subdural, got {self.kind!r}")


@dataclass
class CtSpine:
    """The patient: levels, the contrast in the sac, a leak and technical problems."""

    sac_hu_top: float = 480.0
    sac_hu_bottom: float = 820.0
    leak: Leak | None = None
    metal_level: str | None = None

    def __post_init__(self) -> None:
        z = 0.0
        self.bodies: dict[str, tuple[float, float]] = {}
        self.levels: dict[str, tuple[float, float]] = {}
        for name, body, disc in SEGMENTS:
            self.bodies[name] = (z, z - body)
            self.levels[name] = (z, z - body - disc)
            z -= body + disc

    def region(self, z: float) -> str:
        if z > self.levels["C7"][1]:
            return "C"
        if z > self.levels["T12"][1]:
            return "T"
        if z > self.levels["L5"][1]:
            return "L"
        return "S"

    def segment_at(self, z: float) -> tuple[str, bool]:
        """The segment containing z and whether z lies in its body (False: in the disc below)."""
        for name, (top, bottom) in self.levels.items():
            if bottom < z <= top:
                return name, z > self.bodies[name][1]
        return "S1", True

    def sac_hu(self, z: float) -> float:
        bottom = self.levels["S1"][0]
        f = min(1.0, max(0.0, z / bottom))  # 0 at the top, 1 at the sacrum
        return self.sac_hu_top + f * (self.sac_hu_bottom - self.sac_hu_top)


def _ellipse(xx: np.ndarray, yy: np.ndarray, cx: float, cy: float, rx: float, ry: float) -> np.ndarray:
    return ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= 1.0


def render_slice(spine: CtSpine, z: float, xx: np.ndarray, yy: np.ndarray, contrast: bool = True) -> np.ndarray:
    """HU of the axial slice at height z on the pixel grid (xx, yy) (mm), before blur and noise."""
    region = spine.region(z)
    name, in_body = spine.segment_at(z)
    canal_y = 0.0
    crx, cry = {"C": (12.0, 8.0), "T": (9.5, 9.0), "L": (11.0, 9.0), "S": (9.0, 5.0)}[region]
    brx, bry = {"C": (9.0, 8.0), "T": (14.0, 13.0), "L": (22.0, 16.0), "S": (24.0, 14.0)}[region]
    body_cy = canal_y - cry - bry - 1.0
    out = np.full(xx.shape, HU["air"])
    # soft tissue: neck / trunk outline, subcutaneous fat, lungs
    orx, ory, ocy = {"C": (60.0, 55.0, -20.0), "T": (160.0, 105.0, -55.0), "L": (150.0, 105.0, -50.0),
                     "S": (170.0, 100.0, -40.0)}[region]  # fmt: skip
    out[_ellipse(xx, yy, 0.0, ocy, orx, ory)] = HU["fat"]
    out[_ellipse(xx, yy, 0.0, ocy, orx - 12.0, ory - 12.0)] = HU["muscle"]
    if region == "T":
        for s in (-1.0, 1.0):
            out[_ellipse(xx, yy, s * 80.0, ocy - 15.0, 45.0, 60.0)] = HU["lung"]
    # vertebra
    shell = _ellipse(xx, yy, 0.0, body_cy, brx, bry)
    core = _ellipse(xx, yy, 0.0, body_cy, brx - 1.5, bry - 1.5)
    if name == "C1":
        ring = _ellipse(xx, yy, 0.0, canal_y - 2.0, crx + 9.0, cry + 12.0) & ~_ellipse(
            xx, yy, 0.0, canal_y - 2.0, crx + 4.0, cry + 7.0
        )
        out[ring] = HU["cortex"]
        dens = _ellipse(xx, yy, 0.0, body_cy + 2.0, 5.0, 5.0)
        if z < spine.bodies["C1"][0] - 2.0:
            out[dens] = HU["marrow"]
            out[dens & ~_ellipse(xx, yy, 0.0, body_cy + 2.0, 4.0, 4.0)] = HU["cortex"]
    elif in_body or name == "S1":
        out[shell] = HU["cortex"]
        out[core] = HU["marrow"]
        # posterior arch: pedicles, laminae, spinous process
        arch = _ellipse(xx, yy, 0.0, canal_y, crx + 6.0, cry + 6.0) & (yy > body_cy)
        out[arch] = HU["cortex"]
        out[arch & _ellipse(xx, yy, 0.0, canal_y, crx + 4.5, cry + 4.5)] = HU["marrow"]
        spinous = (
            (np.abs(xx) < 3.5)
            & (yy > canal_y + cry)
            & (yy < canal_y + cry + {"C": 25, "T": 35, "L": 32, "S": 15}[region])
        )
        out[spinous] = HU["cortex"]
        if name == "S1":
            alae = (np.abs(xx) < 75.0) & (np.abs(yy - body_cy) < 12.0)
            out[alae] = HU["marrow"]
            out[alae & ~((np.abs(xx) < 73.5) & (np.abs(yy - body_cy) < 10.5))] = HU["cortex"]
        if region == "T":
            bt, bb = spine.bodies[name]
            if abs(z - 0.5 * (bt + bb)) < 5.0:  # ribs at the costovertebral joints
                r = np.hypot(xx / (orx - 25.0), (yy - ocy) / (ory - 25.0))
                rib = (np.abs(r - 1.0) < 4.0 / (ory - 25.0)) & (yy > ocy) & (np.abs(xx) > crx + 8.0)
                neck = (np.abs(yy - canal_y) < 3.5) & (np.abs(xx) > crx + 4.0) & (np.abs(xx) < orx - 25.0)
                out[rib | (neck & (yy > ocy))] = HU["cortex"]
    else:
        out[shell] = HU["disc"]
    # the canal: epidural fat, dura, sac, cord
    canal = _ellipse(xx, yy, 0.0, canal_y, crx, cry)
    out[canal] = HU["fat"]
    sac_cy, srx, sry = canal_y - 0.8, crx - 2.5, cry - 2.5
    if region == "S" and z < spine.levels["S1"][0] - 25.0:
        return out  # the sac ends at S2
    leak = spine.leak
    in_leak = leak is not None and spine.levels[leak.upper][0] >= z >= spine.levels[leak.lower][1]
    if leak is not None and in_leak and leak.kind in ("epidural", "dural_defect"):
        sac_cy, sry = sac_cy + 2.0, sry - 0.5  # a ventral collection pushes the sac back
    dura = _ellipse(xx, yy, 0.0, sac_cy, srx + 1.2, sry + 1.2)
    sac = _ellipse(xx, yy, 0.0, sac_cy, srx, sry)
    out[dura] = HU["dura"]
    fill = spine.sac_hu(z) if contrast else HU["csf"]
    out[sac] = fill
    if leak is not None and in_leak and leak.kind == "subdural":
        # arachnoid pushed forward: a posterior crescent of contrast between the arachnoid and the dura
        arach_cy = sac_cy - 1.5
        arach = _ellipse(xx, yy, 0.0, arach_cy, srx - 1.0, sry - 2.5)
        out[sac] = leak.hu
        out[sac & _ellipse(xx, yy, 0.0, arach_cy, srx, sry - 1.0)] = HU["dura"]  # the arachnoid line, 1.5 mm
        out[arach] = fill
    if z > spine.levels["L1"][1]:
        cord_r = {"C": (6.5, 4.0), "T": (4.5, 3.5), "L": (4.0, 3.5), "S": (0.1, 0.1)}[region]
        cord_cy = sac_cy - (1.5 if leak is not None and in_leak and leak.kind == "subdural" else 0.5)
        out[_ellipse(xx, yy, 0.0, cord_cy, *cord_r)] = HU["cord"]
    if leak is not None and in_leak and leak.kind in ("epidural", "dural_defect"):
        ventral = canal & ~dura & (yy < sac_cy)
        out[ventral] = leak.hu
        for s in (-1.0, 1.0) if not in_body else ():  # along the root sleeves, through the foramina (disc height)
            sleeve = (np.abs(yy - canal_y) < 2.5) & (s * xx > crx - 1.0) & (s * xx < crx + 28.0)
            out[sleeve] = leak.hu
        if leak.kind == "dural_defect" and spine.levels[leak.upper][0] - 12.0 <= z <= spine.levels[leak.upper][0] - 4.0:
            gap = dura & ~sac & (yy < sac_cy) & (xx > 0) & (np.abs(xx) < srx * 0.8)
            out[gap] = 0.5 * (fill + leak.hu)
    if leak is not None and in_leak and leak.kind == "puncture":
        dorsal = canal & ~dura & (yy > sac_cy)
        out[dorsal] = leak.hu
        disc_z = spine.bodies[leak.lower][0] + 0.5 * (spine.levels[leak.upper][1] - spine.bodies[leak.upper][1])
        if abs(z - disc_z) < 6.0:  # the needle track through the interlaminar space into the back
            track = (np.abs(xx - 3.0) < 2.5) & (yy > canal_y) & (yy < canal_y + 60.0)
            out[track] = leak.hu
    if spine.metal_level is not None:
        top, bottom = spine.bodies[spine.metal_level]
        if top >= z >= bottom:
            for s in (-1.0, 1.0):
                screw = (np.abs(xx - s * 10.0) < 2.5) & (yy > body_cy) & (yy < canal_y + 25.0)
                out[screw] = 8000.0
    return out


def acquire(hu: np.ndarray, pixel_mm: float, rng: np.random.Generator, noise_hu: float = 12.0) -> np.ndarray:
    """Scanner blur (PSF sigma 0.4 mm), metal streaks, quantum noise; stored values HU + 1024 (uint16)."""
    metal = hu > 3000.0
    image = ndimage.gaussian_filter(np.minimum(hu, 3071.0), 0.4 / pixel_mm)
    if metal.any():
        ys, xs = np.nonzero(metal)
        cy, cx = ys.mean(), xs.mean()
        yy, xx = np.mgrid[0 : hu.shape[0], 0 : hu.shape[1]]
        angle = np.arctan2(yy - cy, xx - cx)
        image += 400.0 * np.cos(8 * angle) * np.exp(-np.hypot(yy - cy, xx - cx) * pixel_mm / 60.0)
    image += rng.normal(0.0, noise_hu, hu.shape)
    return np.clip(np.rint(image + 1024.0), 0, 4095).astype(np.uint16)
