"""Whether two runs of the pipeline's steps wrote the same results: ``python benchmarks/same_outputs.py A B``.

A and B are two output folders of the results step (e.g. ``latency_cpu.run`` on one prebuilt study with the
code before and after a change). Every file is compared byte for byte; a DICOM file that differs is compared
element by element, leaving out only what highdicom sets anew on every build of a Segmentation (instance
creation date and time, contribution date-time, dimension organisation UID). Prints one line per differing
file and a summary; exit code 1 when something differs. Not a test: a tool for before/after comparisons.
"""

from __future__ import annotations

import sys
from pathlib import Path

from pydicom import dcmread
from pydicom.dataset import Dataset

VOLATILE = {"InstanceCreationDate", "InstanceCreationTime", "ContributionDateTime", "DimensionOrganizationUID"}


def differences(x: Dataset, y: Dataset, path: str = "") -> list[str]:
    """Element paths whose values differ (sequences item by item), volatile elements left out."""
    out = []
    if set(x.keys()) != set(y.keys()):
        out.append(f"{path or 'dataset'}: elements {sorted(set(x.keys()) ^ set(y.keys()))}")
    for ex in x:
        ey = y.get(ex.tag)
        if ey is None or ex.keyword in VOLATILE:
            continue
        if ex.VR == "SQ":
            if len(ex.value) != len(ey.value):
                out.append(f"{path}{ex.keyword}: {len(ex.value)} vs {len(ey.value)} items")
            for i, (ix, iy) in enumerate(zip(ex.value, ey.value, strict=False)):
                out += differences(ix, iy, f"{path}{ex.keyword}[{i}].")
        elif ex.value != ey.value:
            out.append(f"{path}{ex.keyword}")
    return out


def main(a: Path, b: Path) -> int:
    names = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    other = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    if names != other:
        print(f"different files: {sorted(set(map(str, names)) ^ set(map(str, other)))}")
        return 1
    same_bytes = same_content = 0
    for name in names:
        if (a / name).read_bytes() == (b / name).read_bytes():
            same_bytes += 1
            continue
        found = differences(dcmread(a / name), dcmread(b / name)) if name.suffix == ".dcm" else ["bytes"]
        if found:
            print(f"DIFFER {name}: {'; '.join(found[:5])}")
        else:
            same_content += 1
    differ = len(names) - same_bytes - same_content
    print(
        f"{len(names)} files: {same_bytes} byte-identical, {same_content} identical but for highdicom's build "
        f"time and UIDs, {differ} differ"
    )
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main(Path(sys.argv[1]), Path(sys.argv[2])))
