"""The real cord MRI volumes the cord benchmark runs on, and where their files come from.

``shared/data/sct_testing_data`` is read in place. Volumes of the public repositories
spinalcordtoolbox/sct_example_data and spinalcordtoolbox/sct_tutorial_data are read from their git mirrors
(any commit that holds real pixels, not an annex/LFS pointer) and extracted to a cache directory outside the
repository (``$SPINENODE_BENCH_CACHE`` or the system temporary directory). Missing volumes are skipped.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "sct_testing_data"
MIRRORS = Path(os.environ.get("SPINENODE_MIRRORS", "/work/.mirror"))
CACHE = Path(os.environ.get("SPINENODE_BENCH_CACHE", Path(tempfile.gettempdir()) / "spinenode-bench"))
EXAMPLE = "spinalcordtoolbox+sct_example_data"
TUTORIAL = "spinalcordtoolbox+sct_tutorial_data"
MULTI = "multi_subject/data"


@dataclass(frozen=True)
class CordCase:
    """One volume: a name, its contrast, the image, the expert mask (if any), the plane and sequence class."""

    name: str
    contrast: str
    image: str
    mask: str | None
    plane: str
    sequence: str


@dataclass(frozen=True)
class MtCase:
    """One MT pair; ``mask_on``/``mask_off`` are expert masks on the MT-on / MT-off grids, ``reference`` an
    MTR map on the MT-on grid."""

    name: str
    off: str
    on: str
    mask_off: str | None = None
    mask_on: str | None = None
    reference: str | None = None


def _blob(repo: str, path: str) -> Path | None:
    """The newest version of ``path`` in the mirror ``repo`` that is a real file (not a pointer), cached."""
    git_dir = MIRRORS / repo / "repo"
    if not git_dir.exists():
        return None
    target = CACHE / repo / path
    if target.exists():
        return target
    revs = subprocess.run(
        ["git", f"--git-dir={git_dir}", "log", "--all", "--format=%H", "--", path],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    for rev in revs:
        out = subprocess.run(["git", f"--git-dir={git_dir}", "show", f"{rev}:{path}"], capture_output=True, check=False)
        data = out.stdout
        pointer = data.startswith(b"version https://git-lfs") or b".git/annex/objects" in data[:200]
        real = data[:2] == b"\x1f\x8b" if path.endswith(".gz") else bool(data) and not pointer
        if out.returncode == 0 and real:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            return target
    return None


def resolve(ref: str | None) -> Path | None:
    """``shared:PATH`` (sct_testing_data), ``example:PATH`` or ``tutorial:PATH`` -> a local file, or None."""
    if ref is None:
        return None
    where, path = ref.split(":", 1)
    if where == "shared":
        p = SHARED / path
        return p if p.exists() else None
    return _blob(EXAMPLE if where == "example" else TUTORIAL, path)


CORD_CASES = (
    CordCase("sct_testing t2", "T2 (sag)", "shared:t2/t2.nii.gz", "shared:t2/t2_seg-manual.nii.gz", "sagittal", "T2"),
    CordCase(
        "sct_testing t2 as axial", "T2 (ax)", "shared:t2/t2.nii.gz", "shared:t2/t2_seg-manual.nii.gz", "axial", "T2"
    ),
    CordCase("sct_testing t2s", "T2* GRE", "shared:t2s/t2s.nii.gz", "shared:t2s/t2s_seg.nii.gz", "axial", "T2STAR"),
    CordCase("sct_testing t1", "T1", "shared:t1/t1w.nii.gz", "shared:t1/t1w_seg-manual.nii.gz", "sagittal", "T1"),
    CordCase("sct_testing mt0", "MT-off", "shared:mt/mt0.nii.gz", "shared:mt/mt0_seg.nii.gz", "axial", "MT"),
    CordCase("sct_testing mt1", "MT-on", "shared:mt/mt1.nii.gz", "shared:mt/mt1_seg.nii.gz", "axial", "MT"),
    CordCase(
        "tutorial sub-05 MT-on",
        "MT-on",
        f"tutorial:{MULTI}/sub-05/anat/sub-05_acq-MTon_MTS.nii.gz",
        f"tutorial:{MULTI}/sub-05/anat/sub-05_acq-MTon_MTS_seg.nii.gz",
        "axial",
        "MT",
    ),
    CordCase("example t2 full field", "T2 (sag)", "example:t2/t2.nii.gz", None, "sagittal", "T2"),
    CordCase("example mt0", "MT-off", "example:mt/mt0.nii.gz", None, "axial", "MT"),
    CordCase("tutorial t2_ms", "T2 (ax)", "tutorial:single_subject/data/t2_ms/t2.nii.gz", None, "axial", "T2"),
    CordCase(
        "tutorial t2_lumbar",
        "T2 (sag)",
        "tutorial:single_subject/data/t2_lumbar/t2_lumbar.nii.gz",
        None,
        "sagittal",
        "T2",
    ),
    CordCase(
        "tutorial sub-01 MT-off",
        "MT-off",
        f"tutorial:{MULTI}/sub-01/anat/sub-01_acq-MToff_MTS.nii.gz",
        None,
        "axial",
        "MT",
    ),
    CordCase(
        "tutorial sub-03 MT-off",
        "MT-off",
        f"tutorial:{MULTI}/sub-03/anat/sub-03_acq-MToff_MTS.nii.gz",
        None,
        "axial",
        "MT",
    ),
)

MT_CASES = (
    MtCase(
        "sct_testing mt",
        "shared:mt/mt0.nii.gz",
        "shared:mt/mt1.nii.gz",
        "shared:mt/mt0_seg.nii.gz",
        "shared:mt/mt1_seg.nii.gz",
        "shared:mt/mtr.nii.gz",
    ),
    MtCase("example mt", "example:mt/mt0.nii.gz", "example:mt/mt1.nii.gz"),
    *(
        MtCase(
            f"tutorial sub-{n}",
            f"tutorial:{MULTI}/sub-{n}/anat/sub-{n}_acq-MToff_MTS.nii.gz",
            f"tutorial:{MULTI}/sub-{n}/anat/sub-{n}_acq-MTon_MTS.nii.gz",
            mask_on=f"tutorial:{MULTI}/sub-05/anat/sub-05_acq-MTon_MTS_seg.nii.gz" if n == "05" else None,
        )
        for n in ("01", "03", "05")
    ),
)

DTI_CASES = (
    ("sct_testing dmri", "shared:dmri/dmri.nii.gz", "shared:dmri/bvals.txt", "shared:dmri/bvecs.txt"),
    ("example dmri", "example:dmri/dmri.nii.gz", "example:dmri/bvals.txt", "example:dmri/bvecs.txt"),
)
