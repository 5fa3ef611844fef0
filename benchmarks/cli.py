"""Command-line start-up: wall time of ``spinenode --help``, ``studies`` and ``criteria FILE``, each beside
``python -c pass`` (the interpreter's own start-up) measured in the same run, rounds interleaved.

    python benchmarks/cli.py [--rounds 7] [--compare OTHER_CHECKOUT]

Prints the median wall time and CPU seconds (user + system, of the command's process) of each command, the
reference, and what the command adds over it; with
``--compare`` the same commands of another checkout (e.g. the code before a change) run in the same rounds. The registry
read by ``studies`` is an empty one made here (migrated once, before timing); the findings document is a
small one of the criteria contract. Bytecode is cached (in a folder of the run, ``PYTHONPYCACHEPREFIX``) as
for an installed node, even where the shell sets ``PYTHONDONTWRITEBYTECODE``: otherwise every start would
compile the node's sources again and that, not the imports, would be measured. Commands run in a temporary
folder (``python -m`` puts the current folder first on the path). Not a test: nothing here asserts; read the
figures.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

FINDINGS = {
    "clinical": {"orthostatic_headache": True, "opening_pressure_mmh2o": 55},
    "findings": [
        {"exam": "spinal_mri", "kind": "epidural_fluid", "levels": ["C7", "T2"], "source": "radiologist"},
    ],
}


def wall(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Wall seconds of one run, and the CPU seconds (user + system) the command itself used: on a shared
    machine the wall time also holds the waits for a core, the CPU time does not."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--compare", type=Path, help="another checkout whose commands run in the same rounds")
    opts = parser.parse_args()
    roots = {"": ROOT, **({f" [{opts.compare.name}]": opts.compare.resolve()} if opts.compare else {})}
    with tempfile.TemporaryDirectory(prefix="spinenode-cli-") as tmp:
        folder = Path(tmp)
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONPYCACHEPREFIX": str(folder / "pycache")}
        for name in ("SPINENODE_CONFIG", "PYTHONDONTWRITEBYTECODE"):
            env.pop(name, None)
        config = folder / "node.toml"
        config.write_text(f'[node]\ndata_dir = "{folder / "var"}"\n')
        findings = folder / "findings.json"
        findings.write_text(json.dumps(FINDINGS))
        subprocess.run(  # the registry, migrated before timing
            [
                sys.executable,
                "-c",
                f"from node.registry.db import Registry; Registry('sqlite:///{folder}/var/spinenode.sqlite')",
            ],
            env=env,
            cwd=folder,
            check=True,
        )
        commands: dict[str, tuple[list[str], dict[str, str]]] = {
            "python -c pass": ([sys.executable, "-c", "pass"], env)
        }
        for tag, root in roots.items():
            node = [sys.executable, "-m", "node"]
            here = {**env, "PYTHONPATH": str(root)}
            commands[f"spinenode --help{tag}"] = ([*node, "--help"], here)
            commands[f"spinenode studies{tag}"] = ([*node, "studies", "--config", str(config)], here)
            commands[f"spinenode criteria FILE{tag}"] = ([*node, "criteria", str(findings)], here)
        for argv, here in commands.values():  # warm the page cache and the bytecode
            wall(argv, here, folder)
        load_before = os.getloadavg()
        times: dict[str, list[float]] = {name: [] for name in commands}
        cpu: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(opts.rounds):
            for name, (argv, here) in commands.items():
                seconds, used = wall(argv, here, folder)
                times[name].append(seconds)
                cpu[name].append(used)
    reference = statistics.median(times["python -c pass"])
    cpu_reference = statistics.median(cpu["python -c pass"])
    print(
        f"load average {' '.join(f'{x:.2f}' for x in load_before)} at the start, "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} at the end; median of {opts.rounds} rounds"
    )
    print(f"{'command':<34} {'wall s':>7} {'over pass':>9} {'ratio':>6} {'CPU s':>7} {'over pass':>9} {'ratio':>6}")
    for name, values in times.items():
        median, used = statistics.median(values), statistics.median(cpu[name])
        print(
            f"{name:<34} {median:7.3f} {median - reference:9.3f} {median / reference:6.2f} "
            f"{used:7.3f} {used - cpu_reference:9.3f} {used / cpu_reference:6.2f}"
        )


if __name__ == "__main__":
    main()
