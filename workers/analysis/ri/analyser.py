"""RI (In-111 DTPA) cisternography pre-read: CSF-LEAK-RI-1..4, RI-CIRC, RI-BLADDER, with a QC verdict per series.

Only a study that passes every check gives candidates. Checks: an In-111 cisternography (not a bone scan or a
renogram), more than one view, every view labelled, anterior and posterior views at an early (<= 3.5 h), a
middle (3.5-12 h) and a 24-h (18-30 h) time point, enough counts (a median of 100 counts per 10-mm band over
the middle half of the followed column: 10 % Poisson noise; judged first, as too few counts is what the
acquisition gave and may itself hide the column's ends), no patient motion between the two views of a time
point (more than 10 mm, about the collimator's resolution at the spine; measured between the column's ends or,
where they are not found, on the whole rows along the lit column), the column's ends found, no scoliosis (Cobb
angle >= 10 degrees, the definition of scoliosis) or oblique positioning (column tilted >= 10 degrees), both
judged on the column between its ends.

Every decision is a counting-statistics test at 5 standard deviations (the Rose criterion for what a reader
can see in a noisy image), with the study's own band-to-band scatter added as systematic error:

- **Accumulation** (posterior view, where the spine lies nearest the camera, time points up to 12 h): in every
  10-mm band the paraspinal counts 14-40 mm from the column centre on each side are compared with what the
  column's own spill gives elsewhere in the study (the median paraspinal/column ratio). Bands whose counts
  rise further out (45-85 mm) are renal, not epidural. Neighbouring positive bands form a region; one side
  only: ``unilateral_localized``; both sides with a significant difference: ``asymmetric``; both equal:
  ``symmetric_cervicothoracic`` or, below T12, ``symmetric_lumbar``.
- **Cisternal filling** (anterior view, up to 12 h): the basal-cistern ROI (35 mm above the foramen magnum)
  above the temporal background. **Circulation failure** (24 h): the brightest fifth of the convexity ROI
  (95-160 mm above the foramen magnum; the adult basion-bregma height is about 135 mm) below the brightest
  fifth of the cistern ROI; judged only with filling
  seen earlier.
- **Early bladder** (up to 2.5 h, with 30 min tolerance): the bladder ROI 50-130 mm below the end of the sac
  above the pelvic background.
- **24-h residual** (RI残存率): counts over the neuraxis (column and head), geometric mean of the anterior and
  posterior views, per second, decay-corrected for In-111 (half-life 2.80 days), against the first time point.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy import ndimage

from workers.analysis.base import AnalyserResult, CandidateFinding, Measurement, QcStatus, QcVerdict, SeriesInput
from workers.analysis.exam_codes import NEURAXIS, RI_CONVEXITY_RATIO, RI_LR_RATIO, RI_RESIDUAL
from workers.analysis.ri.reading import PROPORTIONS, Column, read_column, roi_mean
from workers.analysis.ri.views import IN111_HALF_LIFE_H, NotCisternography, View, tracer_check, view_of

VERSION = "1.0"
NAME = "ri_cisternography"
ROSE = 5.0
MOTION_MM = 10.0
COBB_DEG = 10.0
MIN_BAND_COUNTS = 100.0
APPROXIMATE = "levels on planar RI images are approximate"
CISTERNA_MAGNA_MM = 32.0  # foramen magnum to the C2/C3 disc (adult)
MU_PER_MM = 0.0115  # In-111 in soft tissue, narrow beam (mean of 171 and 245 keV)
#: Adult antero-posterior thickness (mm): head, neck (C), chest (T), abdomen and pelvis (L, S).
THICKNESS_MM = {"head": 190.0, "C": 125.0, "T": 220.0, "L": 230.0, "S": 230.0}


def _time_slot(hours: float) -> str | None:
    if hours <= 3.5:
        return "early (up to 3.5 h)"
    if hours <= 12.0:
        return "middle (3.5-12 h)"
    if 18.0 <= hours <= 30.0:
        return "24 h"
    return None


class RiCisternographyAnalyser:
    """In-111 cisternography on planar NM views."""

    name = NAME
    version = VERSION

    def select(self, series: Sequence[SeriesInput]) -> tuple[SeriesInput, ...] | None:
        nm = tuple(s for s in series if s.inventory.modality.upper() == "NM")
        return nm or None

    def run(self, inputs: tuple[SeriesInput, ...], context: Mapping[str, Any]) -> AnalyserResult:
        result = AnalyserResult(self.name, self.version)
        uids = [s.series_uid for s in inputs]

        def verdict(status: QcStatus, reasons: list[str]) -> AnalyserResult:
            for uid in uids:
                result.qc.append(QcVerdict(self.name, uid, status, "; ".join(reasons)))
            return result

        try:
            for s in inputs:
                tracer_check(s.datasets[0])
        except NotCisternography as exc:
            return verdict(QcStatus.FAILED, [str(exc)])
        views = [view_of(ds, s.series_uid) for s in inputs for ds in s.datasets if "PixelData" in ds]
        if len(views) <= 1:
            return verdict(QcStatus.FAILED, [
                f"{len(views)} view: a cisternography needs anterior and posterior views at several time points"
            ])  # fmt: skip
        unlabelled = [v for v in views if v.projection is None]
        if unlabelled:
            return verdict(QcStatus.FAILED, [f"{len(unlabelled)} of {len(views)} views unlabelled (no view code, "
                                             "orientation or description)"])  # fmt: skip
        untimed = [v for v in views if v.hours is None]
        if untimed:
            n = len(untimed)
            return verdict(QcStatus.FAILED, [f"{n} view{'s' * (n != 1)} without a time after the injection"])
        problems, reading = self._check(views)
        if reading is None or problems:
            return verdict(QcStatus.UNRELIABLE, problems or ["the column could not be followed"])
        verdict(QcStatus.OK, [])
        self._read(reading, result)
        return result

    # --- QC ---------------------------------------------------------------------------------------------
    def _check(self, views: list[View]) -> tuple[list[str], dict[str, Any] | None]:
        problems: list[str] = []
        slots: dict[str, dict[str, View]] = {}
        for v in views:
            slot = _time_slot(float(v.hours or 0.0))
            if slot is not None and v.frontal:
                slots.setdefault(slot, {}).setdefault(str(v.projection), v)
        for slot in ("early (up to 3.5 h)", "middle (3.5-12 h)", "24 h"):
            have = slots.get(slot, {})
            if not have:
                problems.append(f"time point missing: no {slot} views")
            else:
                for p in ("anterior", "posterior"):
                    if p not in have:
                        problems.append(f"{p} view missing at the {slot} time point")
        posterior = sorted((v for v in views if v.projection == "posterior"), key=lambda v: float(v.hours or 0))
        if not posterior:
            return problems, None
        columns = {id(v): read_column(v) for v in views if v.frontal}
        # the foramen magnum is read on the posterior view of the middle time point, when the cisterns are full;
        # every other view takes the column length from it and its own end of the sac
        middle = [v for v in posterior if _time_slot(float(v.hours or 0)) == "middle (3.5-12 h)"]
        first = (middle + posterior)[0]
        # counts first: they are a property of the acquisition (dose, time per view), judged on the middle of
        # the spine without the ends, which a view this poor may not show; motion and the column's line would
        # only measure its noise, so the one cause is said alone
        band_counts = _mid_spine_counts(columns[id(first)])
        if band_counts < MIN_BAND_COUNTS:
            problems.append(f"counts too low: {band_counts:.0f} per 10-mm band of the column (noise over 10 %)")
            return problems, None
        ref = next((v for v in middle + posterior if (c := columns[id(v)]).top_row is not None
                    and c.end_row is not None), None)  # fmt: skip
        if ref is not None:
            rc = columns[id(ref)]
            assert rc.top_row is not None and rc.end_row is not None
            length = rc.end_row - rc.top_row
            for v in views:
                other = columns[id(v)] if v.frontal else None
                if other is not None and other.end_row is not None and other is not rc:
                    other.top_row = other.end_row - length * ref.pixel_mm / v.pixel_mm
        pairs: dict[tuple[str, int], dict[str, View]] = {}
        for v in views:  # the two frontal views of each time point: same series, within an hour
            if v.frontal:
                key = (v.series_uid, int(float(v.hours or 0.0) // 1.0))
                pairs.setdefault(key, {}).setdefault(str(v.projection), v)
        for have in pairs.values():
            ant, post = have.get("anterior"), have.get("posterior")
            if ant is None or post is None:
                continue
            hours = float(ant.hours or 0.0)
            shift = _view_shift_mm(ant, columns[id(ant)], post, columns[id(post)])
            if shift is not None and shift > MOTION_MM:
                problems.append(f"patient motion between the views at {hours:g} h ({shift:.0f} mm)")
        if ref is None:
            # the column's line is judged only between its ends: without them the followed peak may be no CSF
            # column at all (on a bone scan it runs from sternum to spine to sacrum), and its tilt would mislead
            return problems + ["the column's ends (foramen magnum, end of the sac) were not found"], None
        assert rc.top_row is not None and rc.end_row is not None
        spine = (rc.rows > rc.top_row) & (rc.rows < rc.end_row)
        x, z = rc.centre[spine] * ref.pixel_mm, rc.rows[spine] * ref.pixel_mm
        if x.size >= 5:
            slope, intercept = np.polyfit(z, x, 1)
            sagitta = float(np.max(np.abs(x - (slope * z + intercept))))
            cobb = math.degrees(4.0 * math.atan(2.0 * sagitta / max(float(z.max() - z.min()), 1.0)))
            tilt = math.degrees(math.atan(abs(slope)))
            if cobb >= COBB_DEG:
                problems.append(f"scoliosis: the column bows {sagitta:.0f} mm (about {cobb:.0f} degrees)")
            if tilt >= COBB_DEG:
                problems.append(f"oblique positioning: the column is tilted {tilt:.0f} degrees")
        return problems, {"views": views, "columns": columns, "slots": slots, "reference": ref}

    # --- reading ----------------------------------------------------------------------------------------
    def _read(self, reading: dict[str, Any], result: AnalyserResult) -> None:
        views: list[View] = reading["views"]
        columns: dict[int, Column] = reading["columns"]
        self._accumulations(views, columns, result)
        self._head(views, columns, result)
        self._bladder(views, columns, result)
        self._residual(reading["slots"], columns, result)

    def _accumulations(self, views: list[View], columns: dict[int, Column], result: AnalyserResult) -> None:
        bands: dict[str, dict[str, Any]] = {}
        for v in views:
            if v.projection != "posterior" or float(v.hours or 0) > 12.0:
                continue
            for level, rec in _band_tests(v, columns[id(v)]).items():
                merged = bands.setdefault(level, {"L": False, "R": False, "xl": 0.0, "xr": 0.0, "pl": 0.0,
                                                  "pr": 0.0, "var": 0.0, "views": set()})  # fmt: skip
                for key in ("L", "R"):
                    merged[key] = merged[key] or rec[key]
                if rec["L"] or rec["R"]:
                    for key in ("xl", "xr", "pl", "pr", "var"):
                        merged[key] += rec[key]
                    merged["views"].add((v.series_uid, v.sop_uid, float(v.hours or 0)))
        for region in _group(bands):
            self._accumulation_finding(region, result)

    def _accumulation_finding(self, r: dict[str, Any], result: AnalyserResult) -> None:
        upper, lower = r["upper"], r["lower"]
        span = f"{upper} to {lower}"
        side = {"L": "left", "R": "right"}
        if r["pattern"] == "unilateral_localized":
            what = f"unilateral ({side[r['sides'][0]]}) localised paraspinal RI accumulation"
            rules: tuple[str, ...] = ("CSF-LEAK-RI-1",)
        elif r["pattern"] == "asymmetric":
            what = "asymmetric bilateral paraspinal RI accumulation"
            rules = ("CSF-LEAK-RI-2",)
        elif r["pattern"] == "symmetric_cervicothoracic":
            what = "symmetric cervicothoracic paraspinal RI accumulation"
            rules = ("CSF-LEAK-RI-3",)
        else:
            what = "symmetric lumbar RI accumulation (Christmas-tree; reference only)"
            rules = ("CSF-LEAK-RI-4",)
        views = sorted(r["views"], key=lambda item: item[2])
        hours = ", ".join(f"{h:.1f}" for _, _, h in views)
        text = f"{what} ({span}; {APPROXIMATE}), posterior views at {hours} h, left/right counts {r['ratio']:.2f}"
        finding = {"exam": "ri_cisternography", "kind": "epidural_accumulation", "pattern": r["pattern"],
                   "levels": [upper, lower], "source": "automated"}  # fmt: skip
        result.findings.append(CandidateFinding(text, 0.5, finding, rules, level=upper,
                                                series_instance_uid=views[0][0],
                                                sop_instance_uids=tuple(sop for _, sop, _ in views)))  # fmt: skip
        result.measurements.append(Measurement("ri_paraspinal_lr_ratio", RI_LR_RATIO, round(r["ratio"], 3), "1",
                                               NEURAXIS, level=upper, roi="paraspinal",
                                               series_instance_uid=views[0][0]))  # fmt: skip

    def _head(self, views: list[View], columns: dict[int, Column], result: AnalyserResult) -> None:
        frontal = sorted((v for v in views if v.projection == "anterior"), key=lambda v: float(v.hours or 0))
        filled_at: float | None = None
        for v in frontal:
            c = columns[id(v)]
            if c.top_row is None or float(v.hours or 0) > 12.0:
                continue
            px, col = v.pixel_mm, float(np.nanmedian(c.centre[: max(1, len(c.centre) // 4)]))
            row = c.top_row - 35.0 / px
            cist, n = roi_mean(v.counts, row, col, 18.0 / px, 22.0 / px)
            back, nb = roi_mean(v.counts, row, col + 55.0 / px, 18.0 / px, 12.0 / px)
            if n and nb and (cist - back) * n >= ROSE * math.sqrt(max(back, 1e-9) * n):
                filled_at = float(v.hours or 0)
                break
        late = [v for v in frontal if 18.0 <= float(v.hours or 0) <= 30.0]
        if not late:
            return
        v = late[0]
        c = columns[id(v)]
        if c.top_row is None:
            return
        px, col = v.pixel_mm, float(np.nanmedian(c.centre[: max(1, len(c.centre) // 4)]))
        cist, n = roi_mean(v.counts, c.top_row - 35.0 / px, col, 18.0 / px, 22.0 / px, top_fraction=0.2)
        conv, m = roi_mean(v.counts, c.top_row - 128.0 / px, col, 33.0 / px, 60.0 / px, top_fraction=0.2)
        if cist <= 0:
            return
        ratio = conv / cist
        result.measurements.append(Measurement("ri_convexity_cistern_ratio", RI_CONVEXITY_RATIO, round(ratio, 3), "1",
                                               NEURAXIS, roi="head", series_instance_uid=v.series_uid))  # fmt: skip
        sigma = math.sqrt(cist / n + conv / m)
        if (cist - conv) >= ROSE * sigma:
            seen = filled_at is not None
            when = f"filling of the cisterns seen at {filled_at:.1f} h" if seen else "cisternal filling not seen"
            result.findings.append(CandidateFinding(
                f"CSF circulation failure: at {v.hours:.0f} h the convexity holds less RI than the basal cisterns "
                f"(ratio {ratio:.2f}; {when})",
                0.5,
                {"exam": "ri_cisternography", "kind": "circulation_failure", "cisternal_filling_seen": seen,
                 "source": "automated"},
                ("CSF-LEAK-RI-CIRC",), series_instance_uid=v.series_uid, sop_instance_uids=(v.sop_uid,),
            ))  # fmt: skip

    def _bladder(self, views: list[View], columns: dict[int, Column], result: AnalyserResult) -> None:
        for v in sorted((v for v in views if v.projection == "anterior"), key=lambda v: float(v.hours or 0)):
            c = columns[id(v)]
            if float(v.hours or 0) > 3.0 or c.end_row is None:
                continue
            # the end of the sac is sharper on the posterior view of the same time point (less blur)
            twin = next((w for w in views if w.projection == "posterior" and w.series_uid == v.series_uid
                         and w.pixel_mm == v.pixel_mm and columns[id(w)].end_row is not None), None)  # fmt: skip
            end_row = columns[id(twin)].end_row if twin is not None else c.end_row
            assert end_row is not None
            px, col = v.pixel_mm, float(np.nanmedian(c.centre[-max(1, len(c.centre) // 4) :]))
            row = end_row + 90.0 / px
            blad, n = roi_mean(v.counts, row, col, 40.0 / px, 45.0 / px)
            back, nb = roi_mean(v.counts, row, col + 110.0 / px, 40.0 / px, 20.0 / px)
            if n and nb and (blad - back) * n >= ROSE * math.sqrt(max(back, 1.0 / n) * n):
                result.findings.append(CandidateFinding(
                    f"early bladder activity at {v.hours:.1f} h (reference only)", 0.5,
                    {"exam": "ri_cisternography", "kind": "early_bladder", "source": "automated"},
                    ("CSF-LEAK-RI-BLADDER",), series_instance_uid=v.series_uid, sop_instance_uids=(v.sop_uid,),
                ))  # fmt: skip
                return

    def _residual(self, slots: dict[str, dict[str, View]], columns: dict[int, Column], result: AnalyserResult) -> None:
        rates: dict[str, float] = {}
        for slot, have in slots.items():
            a, p = have.get("anterior"), have.get("posterior")
            if a is None or p is None:
                continue
            rates[slot] = math.sqrt(_neuraxis_rate(a, columns[id(a)]) * _neuraxis_rate(p, columns[id(p)]))
        first, last = rates.get("early (up to 3.5 h)"), rates.get("24 h")
        if not first or last is None:
            return
        percent = 100.0 * last / first
        late = slots["24 h"]["posterior"]
        result.measurements.append(Measurement("ri_residual_24h", RI_RESIDUAL, round(percent, 1), "%", NEURAXIS,
                                               roi="neuraxis", series_instance_uid=late.series_uid,
                                               method="geometric mean, decay-corrected"))  # fmt: skip
        result.notes.append(f"24-h residual activity of the neuraxis {percent:.0f} % of the first time point")


def _corridor_profile(v: View, c: Column) -> np.ndarray:
    """Counts per row within 15 mm of the column centre (rows between bands take the nearer band's centre)."""
    img = v.counts
    band = (c.rows[1] - c.rows[0]) if len(c.rows) > 1 else 1.0
    half = 15.0 / v.pixel_mm
    out = np.zeros(img.shape[0])
    for r in range(img.shape[0]):
        b = min(len(c.centre) - 1, int(r // band))
        lo, hi = int(max(0, c.centre[b] - half)), int(min(img.shape[1], c.centre[b] + half + 1))
        out[r] = img[r, lo:hi].sum()
    return out


def _mid_spine_counts(c: Column) -> float:
    """The median counts per band over the middle half of the followed column: the spine, away from the head
    and the bladder, wherever its ends are."""
    n = len(c.counts)
    middle = c.counts[n // 4 : 3 * n // 4]
    return float(np.median(middle)) if middle.size else 0.0


def _lit_rows(c: Column) -> tuple[float, float] | None:
    """The first and last row of the followed column's lit stretch through mid-spine (bands holding at least a
    quarter of the mid-spine counts): the whole column and what lies on its line, ends found or not."""
    level = _mid_spine_counts(c)
    if level <= 0 or len(c.rows) < 2:
        return None
    lit = c.counts >= 0.25 * level
    b0 = b1 = len(c.counts) // 2
    if not lit[b0]:
        return None
    while b0 > 0 and lit[b0 - 1]:
        b0 -= 1
    while b1 + 1 < len(lit) and lit[b1 + 1]:
        b1 += 1
    half = 0.5 * (c.rows[1] - c.rows[0])
    return float(c.rows[b0] - half), float(c.rows[b1] + half)


def _view_shift_mm(a: View, ca: Column, p: View, cp: Column) -> float | None:
    """Craniocaudal shift between the anterior and posterior views of one time point: the lag that best
    aligns the edges (gradients) of their column profiles between the foramen magnum and the end of the sac.
    Where those are not found: the whole rows (the body outline and all it holds) along the posterior view's
    lit column, head to pelvis. A patient who moves on a parallel-hole collimator carries every edge on those
    rows with them, while a corridor along the followed centre would cut the head, shoulders and pelvis at
    places that differ between the two views."""
    if a.pixel_mm != p.pixel_mm:
        return None
    if cp.top_row is not None and cp.end_row is not None:
        span: tuple[float, float] | None = (cp.top_row, cp.end_row)
        pa, pp = _corridor_profile(a, ca), _corridor_profile(p, cp)
    else:
        span = _lit_rows(cp)
        pa, pp = a.counts.sum(axis=1), p.counts.sum(axis=1)
    if span is None or pa.shape != pp.shape:
        return None
    sigma = 4.0 / p.pixel_mm  # smooth away the Poisson noise of faint late views
    pa, pp = ndimage.gaussian_filter1d(pa, sigma), ndimage.gaussian_filter1d(pp, sigma)
    r0, r1 = max(0, int(span[0] - 20.0 / p.pixel_mm)), min(len(pp), int(span[1] + 20.0 / p.pixel_mm))
    if r1 - r0 < 20:
        return None
    ga, gp = np.gradient(pa / max(pa[r0:r1].mean(), 1e-9)), np.gradient(pp / max(pp[r0:r1].mean(), 1e-9))
    reach = int(40.0 / p.pixel_mm)
    best, lag = -np.inf, 0
    for d in range(-reach, reach + 1):
        lo, hi = max(r0, r0 + d), min(r1, r1 + d)
        if hi - lo < 20 or lo - d < 0 or hi - d > len(gp):
            continue
        score = float(np.dot(ga[lo:hi], gp[lo - d : hi - d]))
        if score > best:
            best, lag = score, d
    return abs(lag) * p.pixel_mm


def _neuraxis_rate(v: View, c: Column) -> float:
    """Counts per second over the column (+/-30 mm) and the head, decay-corrected to the injection, each part
    divided by the square root of its transmission through the adult thickness (so that the geometric mean of
    the two views does not depend on whether the tracer is in the spine or in the head)."""
    if c.end_row is None or c.top_row is None:
        return 0.0
    px = v.pixel_mm
    img = v.counts
    total = 0.0
    for b, row in enumerate(c.rows):
        if c.top_row <= row <= c.end_row + 10.0 / px:
            lo, hi = int(max(0, c.centre[b] - 30.0 / px)), int(min(img.shape[1], c.centre[b] + 30.0 / px + 1))
            half = (c.rows[1] - c.rows[0]) / 2.0 if len(c.rows) > 1 else 1.0
            region = (c.level_of_row(float(row), px) or "S")[0]
            counts = float(img[int(row - half) : int(row + half), lo:hi].sum())
            total += counts * math.exp(MU_PER_MM * THICKNESS_MM[region] / 2.0)
    col = float(np.nanmedian(c.centre[: max(1, len(c.centre) // 4)]))
    top = int(max(0, c.top_row - 230.0 / px))
    lo, hi = int(max(0, col - 90.0 / px)), int(min(img.shape[1], col + 90.0 / px + 1))
    total += float(img[top : int(c.top_row), lo:hi].sum()) * math.exp(MU_PER_MM * THICKNESS_MM["head"] / 2.0)
    return total / v.duration_s * 2.0 ** (float(v.hours or 0.0) / IN111_HALF_LIFE_H)


def _band_tests(v: View, c: Column) -> dict[str, dict[str, Any]]:
    """Per vertebral level (bands merged): is the paraspinal excess significant on each side (posterior view)."""
    if c.top_row is None or c.end_row is None:
        return {}
    # below C2: at the skull base the cisterna magna spreads sideways beyond the column
    below_c2 = c.top_row + CISTERNA_MAGNA_MM / v.pixel_mm
    valid = (c.rows > below_c2) & (c.rows < c.end_row) & (c.counts > 0.2 * np.median(c.counts[c.counts > 0]))
    idx = np.nonzero(valid)[0]
    if idx.size < 8:
        return {}
    cnt = c.counts[idx]
    sides = {"L": c.left[idx], "R": c.right[idx]}
    far = {"L": c.far_left[idx], "R": c.far_right[idx]}
    ratios = np.concatenate([sides["L"] / cnt, sides["R"] / cnt])
    r0 = float(np.median(ratios))
    sys = 1.4826 * float(np.median(np.abs(ratios / r0 - 1.0))) if r0 > 0 else 0.0
    out: dict[str, dict[str, Any]] = {}
    for j, k in enumerate(idx):
        level = c.level_of_row(float(c.rows[k]), 1.0)
        if level is None:
            continue
        rec = out.setdefault(level, {"L": False, "R": False, "xl": 0.0, "xr": 0.0, "pl": 0.0, "pr": 0.0, "var": 0.0})
        expected = r0 * cnt[j]
        for s, x_key, p_key in (("L", "xl", "pl"), ("R", "xr", "pr")):
            x = float(sides[s][j] - expected)
            sigma = math.sqrt(float(sides[s][j]) + (sys * expected) ** 2)
            renal = far[s][j] > sides[s][j]  # activity rising outwards is the kidney
            rec[s] = rec[s] or (x >= ROSE * sigma and not renal)
            rec[x_key] += max(x, 0.0)
            rec[p_key] += float(sides[s][j])
        rec["var"] += float(sides["L"][j] + sides["R"][j]) + 2.0 * (sys * expected) ** 2
    return out


def _group(bands: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Neighbouring positive levels (one level's gap bridged) as regions with their pattern."""
    order = [name for name, _ in PROPORTIONS]
    positive = [i for i, name in enumerate(order) if name in bands and (bands[name]["L"] or bands[name]["R"])]
    regions: list[dict[str, Any]] = []
    groups: list[list[int]] = []
    for i in positive:
        if groups and i - groups[-1][-1] <= 2:
            groups[-1].append(i)
        else:
            groups.append([i])
    for g in groups:
        recs = [bands[order[i]] for i in g]
        seen = [s for s in ("L", "R") if any(r[s] for r in recs)]
        xl, xr = sum(r["xl"] for r in recs), sum(r["xr"] for r in recs)
        var = sum(r["var"] for r in recs)
        pl, pr = sum(r["pl"] for r in recs), sum(r["pr"] for r in recs)
        upper, lower = order[g[0]], order[g[-1]]
        if len(seen) == 1:
            pattern = "unilateral_localized"
        elif abs(xl - xr) >= ROSE * math.sqrt(var):
            pattern = "asymmetric"
        else:
            lumbar = sum(1 for i in g if order[i][0] in "LS")
            pattern = "symmetric_lumbar" if 2 * lumbar > len(g) else "symmetric_cervicothoracic"
        views = set().union(*(r["views"] for r in recs))
        regions.append({"pattern": pattern, "sides": seen, "upper": upper, "lower": lower,
                        "ratio": pl / pr if pr > 0 else float("inf"), "views": views})  # fmt: skip
    return regions
