"""CLI cold start: wall time of ``soundscape --help`` and ``soundscape lint scenes/office.yaml``.

Each command runs ``runs`` times as a fresh subprocess (the installed console script, as a
user types it); best and median wall time are reported. The first run also warms the
OS file cache, so best is the steady cold-process start.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.lib import common

COMMANDS = {
    "help": ["--help"],
    "lint_one": ["lint", "scenes/office.yaml"],
    "lint_one_no_assets": ["lint", "--no-assets", "scenes/office.yaml"],
}


def run(quick: bool = False) -> dict[str, Any]:
    exe = str(Path(sys.executable).with_name("soundscape"))
    runs = 3 if quick else 9
    results: dict[str, Any] = {}
    for name, args in COMMANDS.items():
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            p = subprocess.run([exe, *args], cwd=common.ROOT, capture_output=True)
            times.append(time.perf_counter() - t0)
        results[name] = {
            "command": "soundscape " + " ".join(args),
            "exit": p.returncode,
            "best_ms": round(1000 * min(times), 1),
            "median_ms": round(1000 * statistics.median(times), 1),
            "runs": runs,
        }
        r = results[name]
        print(
            f"cli    {r['command']:<45} best {r['best_ms']:6.0f} ms, median {r['median_ms']:6.0f} ms",
            flush=True,
        )
    data = {
        "machine": common.machine(),
        "quick": quick,
        "results": results,
        "python_bare_ms": _bare(runs),
    }
    common.save("cli", data)
    return data


def _bare(runs: int) -> float:
    """`python -c pass`: the interpreter's own share of every start."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"])
        times.append(time.perf_counter() - t0)
    return round(1000 * min(times), 1)


def main() -> None:
    common.main(__doc__, lambda cfg: None, run)


if __name__ == "__main__":
    main()
