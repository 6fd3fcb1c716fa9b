"""``python -m bench all|cpu|latency|play|memory|render|lint|cli|capacity|cluster|job|report [--quick]``."""

from __future__ import annotations

import argparse
import time

from . import (
    capacity,
    cli_start,
    cluster,
    common,
    cpu,
    job_start,
    latency,
    lint_speed,
    memory,
    play_latency,
    render_speed,
    report,
)

PARTS = {
    "cpu": cpu.run,
    "latency": latency.run,
    "play": play_latency.run,
    "memory": memory.run,
    "render": render_speed.run,
    "lint": lint_speed.run,
    "cli": cli_start.run,
    "capacity": capacity.run,
    "cluster": cluster.run,
    "job": job_start.run,
}


def main() -> None:
    ap = argparse.ArgumentParser(
        prog="python -m bench",
        description="soundscape vs livekit-agents' BackgroundAudioPlayer, same run, same machine."
        " Results: bench/out/*.json; `all` and `report` write docs/performance.md.",
    )
    ap.add_argument("part", choices=("all", *PARTS, "report"), help="what to measure")
    ap.add_argument(
        "--quick", action="store_true", help="small configurations (about six minutes for all)"
    )
    ap.add_argument("--no-docs", action="store_true", help="do not rewrite docs/performance.md")
    a = ap.parse_args()
    t0 = time.monotonic()
    print(f"machine: {common.machine()}", flush=True)
    parts = list(PARTS) if a.part == "all" else [] if a.part == "report" else [a.part]
    with common.private_cache():
        for name in parts:
            PARTS[name](a.quick)
    print(report.table(), flush=True)
    if a.part in ("all", "report") and not a.no_docs:
        path = report.write()
        print(f"wrote {path}")
    print(f"took {time.monotonic() - t0:.0f} s")


if __name__ == "__main__":
    main()
