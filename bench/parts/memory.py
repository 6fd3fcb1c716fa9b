"""Memory: RSS per added session in one process, and worker processes sharing the clip cache.

1. One process per system adds sessions in steps (1, 10, 25, 50; the staggered
   conversation playing), and reads its own RSS/PSS from /proc/self/smaps_rollup after
   each step has played for a second. Per added session = (RSS at the last step − RSS
   with one session) / (sessions added); the first session's cost (clips decoded, code
   paths touched) is reported apart.
2. ``workers`` processes each play ``sessions`` showcase sessions at once, with the
   decoded-clip cache on (a fresh cache directory, filled beforehand) and off
   (``SOUNDSCAPE_CACHE_DIR=off``); while all of them run, the parent reads each one's
   /proc/PID/smaps_rollup. PSS charges each shared page to its sharers in equal parts, so
   the sum of PSS is what the workers really cost together. BackgroundAudioPlayer is
   measured the same way (it decodes while playing; nothing to share).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Any

from bench.lib import common
from bench.lib.schedule import schedule
from bench.lib.standin import AgentSession, Room
from bench.lib.systems import make

STEPS = (1, 10, 25, 50)
QUICK_STEPS = (1, 5)


async def per_session(cfg: dict[str, Any], *, close: bool = True) -> dict[str, Any]:
    room = Room()
    loop = asyncio.get_running_loop()
    players: list[Any] = []
    sessions: list[AgentSession] = []
    rows = [{"sessions": 0, **common.memory()}]
    for step in cfg["steps"]:
        while len(players) < step:
            s = AgentSession()
            p = make(cfg["system"], len(players))
            await p.start(room, s)
            players.append(p)
            sessions.append(s)
            t = loop.time()
            schedule([s], t + 0.1, t + 600)
        await asyncio.sleep(cfg["settle"])
        rows.append({"sessions": step, **common.memory()})
    if close:  # in-process (the smoke tests): left to the GC, the SDK's handles crash later
        for p in players:
            await p.aclose()
    first, last = rows[1], rows[-1]
    added = last["sessions"] - first["sessions"]
    return {
        **cfg,
        "rows": [{k: round(v, 2) for k, v in r.items()} for r in rows],
        "first_session_mb": round(first["rss"] - rows[0]["rss"], 2),
        "rss_per_added_session_mb": round((last["rss"] - first["rss"]) / added, 3),
        "pss_per_added_session_mb": round((last["pss"] - first["pss"]) / added, 3),
    }


async def serve(cfg: dict[str, Any]) -> None:
    """A worker for part 2: play, say 'ready', keep playing until stdin closes."""
    room = Room()
    loop = asyncio.get_running_loop()
    sessions = [AgentSession() for _ in range(cfg["sessions"])]
    for i, s in enumerate(sessions):
        await make(cfg["system"], i).start(room, s)
    t = loop.time()
    schedule(sessions, t + 0.1, t + 600)
    await asyncio.sleep(cfg["settle"])
    print("ready", flush=True)
    await loop.run_in_executor(None, sys.stdin.read)
    os._exit(0)


def shared(system: str, workers: int, sessions: int, cache: str, settle: float) -> dict[str, Any]:
    env = {**os.environ, "SOUNDSCAPE_CACHE_DIR": cache}
    cfg = {"system": system, "sessions": sessions, "settle": settle, "serve": True}
    cmd = [sys.executable, "-m", "bench.parts.memory", "--worker", json.dumps(cfg)]
    procs = [
        subprocess.Popen(
            cmd,
            cwd=common.ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        for _ in range(workers)
    ]
    try:
        for p in procs:
            assert p.stdout is not None
            if p.stdout.readline().strip() != "ready":
                return {"system": system, "cache": cache, "error": "a worker did not start"}
        time.sleep(0.5)
        rows = [{k: round(v, 1) for k, v in common.memory(p.pid).items()} for p in procs]
    finally:
        for p in procs:
            if p.stdin:
                p.stdin.close()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
    return {
        "system": system,
        "cache": "off" if cache == "off" else "on",
        "workers": workers,
        "sessions_per_worker": sessions,
        "per_process": rows,
        "rss_mean_mb": round(sum(r["rss"] for r in rows) / workers, 1),
        "pss_mean_mb": round(sum(r["pss"] for r in rows) / workers, 1),
        "pss_total_mb": round(sum(r["pss"] for r in rows), 1),
    }


def run(quick: bool = False) -> dict[str, Any]:
    steps = list(QUICK_STEPS if quick else STEPS)
    settle = 0.3 if quick else 1.0
    growth = []
    for system in ("floor", "bap", "office", "showcase"):
        cfg = {"system": system, "steps": steps, "settle": settle}
        r = common.run_worker("bench.parts.memory", cfg, 120)
        growth.append(r)
        if "error" in r:
            print(f"memory {system:<9} ERROR {r['error']}", flush=True)
        else:
            print(
                f"memory {system:<9} first session {r['first_session_mb']:6.2f} MB, "
                f"per added session RSS {r['rss_per_added_session_mb']:6.3f} MB "
                f"PSS {r['pss_per_added_session_mb']:6.3f} MB",
                flush=True,
            )
    workers, sessions = (2, 2) if quick else (4, 5)
    sharing = []
    with tempfile.TemporaryDirectory(prefix="bench-cache-") as cache:
        shared("showcase", 1, 1, cache, 0.2)  # fill the cache: later workers map its entries
        for system, c in (("showcase", cache), ("showcase", "off"), ("bap", "off")):
            r = shared(system, workers, sessions, c, settle)
            sharing.append(r)
            if "error" in r:
                print(f"memory {system} cache {c}: ERROR {r['error']}", flush=True)
            else:
                print(
                    f"memory {system:<9} {workers} workers × {sessions} sessions, cache "
                    f"{r['cache']:<3}: RSS/process {r['rss_mean_mb']:6.1f} MB, PSS/process "
                    f"{r['pss_mean_mb']:6.1f} MB, PSS total {r['pss_total_mb']:6.1f} MB",
                    flush=True,
                )
    data = {"machine": common.machine(), "quick": quick, "growth": growth, "sharing": sharing}
    common.save("memory", data)
    return data


def _worker(cfg: dict[str, Any]) -> None:
    if cfg.get("serve"):
        asyncio.run(serve(cfg))
    else:
        common.emit(asyncio.run(per_session(cfg, close=False)))


def main() -> None:
    common.main(__doc__, _worker, run)


if __name__ == "__main__":
    main()
