"""Accuracy and time of the RI cisternography and CT myelography analysers on every phantom scenario.

For each scenario and seed: write the phantom, read it (pydicom, pixels decoded: the I/O reference printed
beside the analysis time), run the analyser, and compare with truth.json: the QC verdict expected, the candidates
(kind, pattern, continuity fields) and whether their level range overlaps the truth. The CT time target is 10 s
per study of >= 300 slices on 2 cores. Run: ``python benchmarks/accuracy_ri_ctm.py [--seeds 3]``.

The phantoms are the project's own (workers/phantom); the analysers' thresholds come from counting statistics
and HU ranges, not from these scenarios, but the scenarios were used during development: read the figures as
a consistency check, not as an independent accuracy estimate.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pydicom

from workers.analysis.base import SeriesInput
from workers.analysis.ctm import CtMyelographyAnalyser
from workers.analysis.ri import RiCisternographyAnalyser
from workers.criteria.levels import LevelRange, parse_level
from workers.inventory import SeriesInventory, classify_series
from workers.phantom import write_phantom
from workers.phantom.exams import EXAM_SCENARIOS

CT_TARGET_S = 10.0
CONTINUITY = ("continuous_with_puncture_site", "continuous_with_subarachnoid", "dural_defect")


def _span(levels: list[str]) -> LevelRange:
    return LevelRange(parse_level(levels[0])[0], parse_level(levels[-1])[1])


def _read(folder: Path) -> tuple[list[tuple[SeriesInventory, list[pydicom.Dataset]]], float, int]:
    start = time.perf_counter()
    groups: dict[str, list[pydicom.Dataset]] = {}
    count = 0
    for f in sorted(folder.rglob("*.dcm")):
        ds = pydicom.dcmread(f)
        _ = ds.pixel_array
        groups.setdefault(str(ds.SeriesInstanceUID), []).append(ds)
        count += 1
    series = [(classify_series(g), g) for g in groups.values()]
    return series, time.perf_counter() - start, count


def _judge(truth: dict[str, Any], result: Any) -> tuple[bool, str]:
    statuses = {v.status.value for v in result.qc}
    expected_qc = truth["expected_qc"]
    found = [f.finding for f in result.findings if f.finding]
    want = truth["findings"]
    if statuses != {expected_qc}:
        return False, f"QC {sorted(statuses)} (expected {expected_qc})"
    if expected_qc != "ok" or not want:
        return (not found), ("no candidate" if not found else f"unexpected {found}")
    if len(found) != len(want):
        return False, f"{len(found)} candidates (expected {len(want)}): {found}"
    notes = []
    ok = True
    for w, f in zip(want, found, strict=True):
        if f["kind"] != w["kind"] or f.get("pattern") != w.get("pattern"):
            return False, f"{f['kind']}/{f.get('pattern')} (expected {w['kind']}/{w.get('pattern')})"
        if "levels" in w:
            if "levels" not in f:
                ok = False
                notes.append("levels not named")
            else:
                overlap = _span(f["levels"]).overlaps(_span(w["levels"]))
                ok &= overlap
                notes.append(f"{'-'.join(f['levels'])} vs {'-'.join(w['levels'])}{'' if overlap else ' NO OVERLAP'}")
        for key in CONTINUITY:
            if key in w and f.get(key) != w[key]:
                ok = False
                notes.append(f"{key} {f.get(key)} (expected {w[key]})")
        if (
            w.get("cisternal_filling_seen") is not None
            and f.get("cisternal_filling_seen") != w["cisternal_filling_seen"]
        ):
            ok = False
            notes.append("cisternal filling wrong")
    return ok, "; ".join(notes) or "right"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=2, help="seeds per scenario (default: %(default)s)")
    parser.add_argument("--only", default="", help="comma-separated scenario names")
    args = parser.parse_args()
    names = [n for n in EXAM_SCENARIOS if not args.only or n in args.only.split(",")]
    rows: list[tuple[str, int, bool, str, float, float, int, str]] = []
    ct_times: list[tuple[int, float, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            for seed in range(1, args.seeds + 1):
                study = write_phantom(Path(tmp) / f"{name}-{seed}", name, seed=seed)
                truth = json.loads(study.truth_path.read_text())
                series, read_s, images = _read(study.outdir)
                analyser = RiCisternographyAnalyser() if name.startswith("ri_") else CtMyelographyAnalyser()
                inputs = tuple(SeriesInput(inv, dss) for inv, dss in series)
                start = time.perf_counter()
                result = analyser.run(inputs, {})
                run_s = time.perf_counter() - start
                ok, note = _judge(truth, result)
                extra = ""
                residual = next((m.value for m in result.measurements if m.name == "ri_residual_24h"), None)
                if residual is not None and truth.get("residual_24h_decay_corrected"):
                    first = min(s["hours"] for s in truth["series"])
                    expected = 100.0 * truth["residual_24h_decay_corrected"] ** ((24.0 - first) / 24.0)
                    extra = f"residual {residual:.0f} % (truth {expected:.0f} %)"
                if name.startswith("ctm_"):
                    ct_times.append((images, read_s, run_s))
                rows.append((name, seed, ok, note, read_s, run_s, images, extra))
                print(f"{name:30s} seed {seed}  {'OK ' if ok else 'BAD'}  read {read_s:5.2f} s  analyse {run_s:5.2f} s"
                      f"  ({images} images)  {note}  {extra}", flush=True)  # fmt: skip
    right = sum(r[2] for r in rows)
    print(f"\n{right}/{len(rows)} scenario runs right")
    big = [t for t in ct_times if t[0] >= 300]
    if big:
        fastest, worst, reading = min(t[2] for t in big), max(t[2] for t in big), max(t[1] for t in big)
        print(
            f"CT studies of >= 300 slices: analysis {fastest:.2f}-{worst:.2f} s (target {CT_TARGET_S:.0f} s), "
            f"reading the files with pydicom {reading:.2f} s"
        )
    return 0 if right == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
