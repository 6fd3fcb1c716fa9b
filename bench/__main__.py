"""``python -m bench all|<part>|report [--quick]``: one module per part, bench/parts/<part>.py
(``one-track``: bench/parts/one_track.py)."""

from __future__ import annotations

import argparse
import time

from .lib import common, report
from .parts import (
    capacity,
    cli,
    cluster,
    cpu,
    e2e,
    engine,
    job,
    latency,
    lint,
    memory,
    one_track,
    play,
    render,
    soak,
    voice_duck,
)

# What `all` runs: the comparison with BackgroundAudioPlayer that docs/performance.md reports.
PARTS = {
    "cpu": cpu.run,
    "latency": latency.run,
    "play": play.run,
    "memory": memory.run,
    "render": render.run,
    "lint": lint.run,
    "cli": cli.run,
    "capacity": capacity.run,
    "cluster": cluster.run,
    "job": job.run,
    "one-track": one_track.run,
}
# soundscape alone, for the figures other docs quote (engine.md, demo.md, reliability.md).
OTHER_PARTS = {
    "engine": engine.run,
    "e2e": e2e.run,
    "soak": soak.run,
    "voice_duck": voice_duck.run,
}


def main() -> None:
    ap = argparse.ArgumentParser(
        prog="python -m bench",
        description="soundscape vs livekit-agents' BackgroundAudioPlayer, same run, same machine."
        " Results: bench/out/*.json; `all` and `report` write docs/performance.md."
        " engine, e2e, soak and voice_duck measure soundscape alone (not part of `all`).",
    )
    ap.add_argument("part", choices=("all", *PARTS, *OTHER_PARTS, "report"), help="what to measure")
    ap.add_argument(
        "--quick", action="store_true", help="small configurations (about nine minutes for all)"
    )
    ap.add_argument("--no-docs", action="store_true", help="do not rewrite docs/performance.md")
    a = ap.parse_args()
    t0 = time.monotonic()
    print(f"machine: {common.machine()}", flush=True)
    parts = list(PARTS) if a.part == "all" else [] if a.part == "report" else [a.part]
    with common.private_cache():
        for name in parts:
            {**PARTS, **OTHER_PARTS}[name](a.quick)
    if a.part not in OTHER_PARTS:
        print(report.table(), flush=True)
    if a.part in ("all", "report") and not a.no_docs:
        path = report.write()
        print(f"wrote {path}")
    print(f"took {time.monotonic() - t0:.0f} s")


if __name__ == "__main__":
    main()
