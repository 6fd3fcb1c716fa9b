"""Jobs that start fast: a call's first second through a real livekit-agents worker.

A local livekit-server on loopback; for each configuration one worker
(`bench.agents.job_start_agent`: `AgentServer`, a process per job, a pool of one idle
process set up by ``setup_fnc`` before the call arrives, as under `start`), and K calls one
after another, each a fresh room joined by soundscape's `Caller`, each served by a fresh
job process. Configurations:

- ``none``: no background (the voice alone, for reference);
- ``bap``: livekit-agents' BackgroundAudioPlayer;
- ``soundscape-cold``: no prewarm, and an empty clip cache for every call;
- ``soundscape-prewarmed``: ``soundscape.prewarm(proc, scene)`` in setup_fnc.

The background is the built-in office ambience at gain 1.0 (decoding it is the real cost);
the thinking cue is a 1 kHz tone (amplitude 0.5 at gain 0.6) written by the bench, the same
file and level for BackgroundAudioPlayer, so its onset is found by a Goertzel detector.

Per call (wall clock, ``time.time()``, in the callers process and the job alike):

1. caller joined (``connect()`` returned) → the job's entrypoint started: LiveKit's
   dispatch and the pool's handoff; negative when the job starts before ``connect()``
   returns (the room exists, and is dispatched, as soon as the caller's join reaches it);
2. entrypoint → the background's ``start()`` returned (after ``session.start()``, the order
   of docs/runtime.md), and ``start()`` alone (perf_counter in the job);
3. caller joined → the first 10 ms block of the background track, at the caller, above
   -80 dBFS RMS (for ``none``: the voice track's subscription);
4. in the job, at the source: for each of the scripted turns (a `ScriptedLLM` reply that
   thinks 0.6 s), the ``thinking`` event (``loop.time()``) → the first 10 ms frame of the
   background's `rtc.AudioSource` output (a local track on the source, read back with an
   `rtc.AudioStream`) in which the cue is at least half its level; the call's first turn
   and the later ones apart;
5. "event loop blocked" warnings that livekit-agents' loop monitor logged from the job
   processes (the worker's log carries each record with its process id).

A call ends with the caller leaving and the room deleted (as a phone call's end does; the
server would take ~2 s to report a caller who merely left); the job's
``session.on("close", lambda _: ctx.shutdown())`` then ends it, and its process must have
exited before the next call joins.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.lib import calls, common
from bench.lib.tone import TONE_AMP, TONE_HZ, write_tone

CONFIGS = ("none", "bap", "soundscape-cold", "soundscape-prewarmed")
AGENT = "bench.agents.job_start_agent"
BACKGROUND = {"none": None, "bap": "background_audio", "soundscape-cold": "soundscape",
              "soundscape-prewarmed": "soundscape"}  # fmt: skip
CUE_GAIN = 0.6
BED_DBFS = -80.0
SETTLE_S = 0.3  # after the pool's idle process is ready, before the caller joins
GOALS = {
    "start_ms": 50.0,  # start() alone, prewarmed
    "bed_ms": 300.0,  # caller joined → bed audible, prewarmed
    "first_thinking_ms": 30.0,  # the first state change at the source
    "first_vs_later_ms": 10.0,  # … no more than one 10 ms frame behind the later ones
}
SCENE = """\
version: 1
name: job-start
description: Office ambience at 1.0; a 1 kHz tone while the agent thinks (bench/parts/job.py).
levels: file  # the tone is heard at its own level: the caller's check measures it
layers:
  ambience: {{source: builtin:office-ambience, gain: 1.0}}
states:
  idle:
  listening:
  thinking:
    cues:
      - {{source: tone.wav, gain: {gain}, loop: true, fade_out: 0}}
  speaking:
"""


def plan(quick: bool) -> dict[str, Any]:
    return {"configs": CONFIGS, "calls": 2 if quick else 4, "turns": 2 if quick else 4}


def write_assets(folder: Path) -> tuple[Path, Path]:
    """The tone cue and the scene that plays it over the office ambience."""
    tone = folder / "tone.wav"
    write_tone(tone, seconds=3.0)
    scene = folder / "job-start.yaml"
    scene.write_text(SCENE.format(gain=CUE_GAIN))
    return scene, tone


# ------------------------------------------------------------------ the callers process


def _read(path: Path) -> dict[str, Any]:
    with contextlib.suppress(OSError, ValueError):
        return dict(json.loads(path.read_text()))
    return {}


async def _idle_process(jobs: Path, used: set[int], timeout: float) -> int:
    """The pid of a pooled process that is set up and has served no call yet."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for f in jobs.glob("proc-*.json"):
            pid = int(_read(f).get("pid", 0))
            if pid and pid not in used and calls.alive(pid):
                return pid
        await asyncio.sleep(0.1)
    raise TimeoutError(f"no idle job process was set up within {timeout:.0f} s")


async def _job_record(path: Path, key: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if key in (job := _read(path)):
            return job
        await asyncio.sleep(0.1)
    raise TimeoutError(f"the job never wrote {key!r} ({path.name}) within {timeout:.0f} s")


def audible_at(frames: list[tuple[float, np.ndarray]], dbfs: float) -> float | None:
    """Arrival time (monotonic) of the first 10 ms block louder than ``dbfs`` RMS."""
    floor = 10 ** (dbfs / 20)
    for t, x in frames:
        n = x.size // calls.BLOCK
        for j in range(n):
            b = x[j * calls.BLOCK : (j + 1) * calls.BLOCK].astype(np.float64)
            if np.sqrt(np.mean(b * b)) > floor:
                return t - (x.size - (j + 1) * calls.BLOCK) / calls.RATE
    return None


async def _delete_room(cfg: dict[str, Any], room: str) -> None:
    from livekit import api

    url = cfg["url"].replace("ws://", "http://", 1)
    async with api.LiveKitAPI(url, cfg["key"], cfg["secret"]) as lk:
        await lk.room.delete_room(api.DeleteRoomRequest(room=room))


async def one_call(cfg: dict[str, Any], room: str, used: set[int]) -> dict[str, Any]:
    from soundscape.demo.caller import Caller
    from soundscape.demo.livekit_local import make_token

    jobs = Path(cfg["jobs_dir"])
    bg: str | None = cfg.get("background")
    row: dict[str, Any] = {"room": room}
    t_wait = time.monotonic()
    row["idle_pid"] = await _idle_process(jobs, used, 60.0)
    row["idle_wait_s"] = round(time.monotonic() - t_wait, 2)
    await asyncio.sleep(SETTLE_S)
    caller = Caller(identity=f"caller-{room}")
    subs: dict[str, float] = {}
    caller.room.on("track_subscribed", lambda t, pub, p: subs.setdefault(pub.name, time.time()))
    wall = time.time() - time.monotonic()
    job: dict[str, Any] = {}
    try:
        t0 = time.time()
        await caller.join(cfg["url"], make_token(cfg["key"], cfg["secret"], caller.identity, room))
        joined = time.time()
        row["connect_ms"] = round((joined - t0) * 1e3, 1)
        await caller.wait_track(bg or "roomio_audio", timeout=20)
        job = await _job_record(jobs / f"{room}.json", "done", 30 + 3 * cfg["turns"])
        row["join_to_entry_ms"] = round((job["entry"] - joined) * 1e3, 1)
        row["entry_to_started_ms"] = round((job["started"] - job["entry"]) * 1e3, 1)
        row["start_ms"] = None if job["start_ms"] is None else round(job["start_ms"], 1)
        row["subscribed_ms"] = {k: round((v - joined) * 1e3, 1) for k, v in subs.items()}
        if bg:
            rec = caller.tracks(bg)[-1]
            t = audible_at(rec.frames, BED_DBFS)
            row["bed_ms"] = None if t is None else round((t + wall - joined) * 1e3, 1)
            if t is not None and bg in subs:
                # What of it the track's own start took: 0 if it carries the bed from frame one.
                row["bed_after_subscribed_ms"] = round((t + wall - subs[bg]) * 1e3, 1)
        row["thinking_ms"] = job.get("thinking_ms")
        row["states"] = [s for _, s in job.get("states", [])]
    except (TimeoutError, KeyError) as e:
        row["error"] = str(e) or repr(e)
    finally:
        t_leave, left = time.monotonic(), time.time()
        await caller.aclose()
        # Hang up for good: the server takes ~2 s to tell the job that a caller who left is
        # gone; a deleted room disconnects the job at once (a phone call's end does this).
        with contextlib.suppress(Exception):
            await _delete_room(cfg, room)
        row["leave_s"] = round(time.monotonic() - t_leave, 2)
    pid = int(job.get("pid") or _read(jobs / f"{room}.json").get("pid") or 0)
    row["pid"] = pid or None
    if pid:
        used.add(pid)
        deadline = time.monotonic() + 15
        while calls.alive(pid) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        row["exited"] = not calls.alive(pid)
        row["exit_s"] = round(time.monotonic() - t_leave, 2)
        # Of which: the session closing, the shutdown callbacks done (then the process exits).
        end = _read(jobs / f"{room}.json")
        for k in ("closed", "ended"):
            row[f"{k}_s"] = round(end[k] - left, 2) if k in end else None
    return row


async def measure(cfg: dict[str, Any]) -> dict[str, Any]:
    used: set[int] = set()
    rows = []
    for i in range(int(cfg["calls"])):
        rows.append(await one_call(cfg, f"js-{cfg['system']}-{i}", used))
        if "error" in rows[-1] and "idle" in rows[-1]["error"]:
            break  # the pool is not refilling: later calls would only wait as long again
    return {"system": cfg["system"], "calls": rows, "loadavg": common.loadavg()}


def worker(cfg: dict[str, Any]) -> None:
    common.emit(asyncio.run(measure(cfg)))


# ------------------------------------------------------------------------- the part

_LOG_LINE = re.compile(r"^\S+ \S+ (\d+) \S+ WARNING (.*)$")


def blocked_warnings(log: str, job_pids: set[int]) -> dict[str, Any]:
    """ "event loop blocked" warnings in a worker's log: from the calls' job processes, and
    from its other processes (the worker itself, idle pooled processes)."""
    jobs: list[str] = []
    other = 0
    for line in log.splitlines():
        m = _LOG_LINE.match(line)
        if not m or "event loop blocked" not in m.group(2):
            continue
        if int(m.group(1)) in job_pids:
            jobs.append(m.group(2)[:160])
        else:
            other += 1
    return {"in_jobs": len(jobs), "elsewhere": other, "examples": jobs[:3]}


def _ms(values: list[Any]) -> dict[str, float]:
    s = common.stats([float(v) for v in values if v is not None])
    return {k: (round(v, 1) if k != "n" else v) for k, v in s.items()}


def summarize(system: str, rows: list[dict[str, Any]], blocked: dict[str, Any]) -> dict[str, Any]:
    ok = [r for r in rows if "error" not in r]
    thinking = [r.get("thinking_ms") or [] for r in ok]
    return {
        "system": system,
        "calls": len(rows),
        "calls_ok": len(ok),
        "join_to_entry_ms": _ms([r["join_to_entry_ms"] for r in ok]),
        "entry_to_started_ms": _ms([r["entry_to_started_ms"] for r in ok]),
        "start_ms": _ms([r["start_ms"] for r in ok]),
        "bed_ms": _ms([r.get("bed_ms") for r in ok]),
        "bed_after_subscribed_ms": _ms([r.get("bed_after_subscribed_ms") for r in ok]),
        "voice_subscribed_ms": _ms([r["subscribed_ms"].get("roomio_audio") for r in ok]),
        "first_thinking_ms": _ms([t[0] for t in thinking if t]),
        "later_thinking_ms": _ms([v for t in thinking for v in t[1:]]),
        "onsets_missed": sum(v is None for t in thinking for v in t),
        "exited": sum(bool(r.get("exited")) for r in rows),
        "blocked": blocked,
    }


def run_config(
    server: Any, system: str, folder: Path, *, n_calls: int, turns: int, scene: Path, tone: Path
) -> dict[str, Any]:
    """One worker for ``system`` and its calls, one after another; the worker is stopped
    (its whole process group) whatever happens."""
    jobs = folder / system
    jobs.mkdir()
    cache = folder / f"cache-{system}"  # empty: the worker's first process decodes
    cache.mkdir()
    env = {
        "BENCH_SCENE": str(scene),
        "BENCH_TONE": str(tone),
        "BENCH_CUE_GAIN": str(CUE_GAIN),
        "BENCH_CUE_LEVEL": str(TONE_AMP * CUE_GAIN),
        "BENCH_CUE_HZ": str(TONE_HZ),
        "BENCH_TURNS": str(turns),
        common.CACHE_ENV: str(cache),
    }
    w = calls.AgentWorker(
        system=system, url=server.url, key=server.api_key, secret=server.api_secret,
        jobs_dir=jobs, label=system, idle=1, env=env, agent=AGENT,
    )  # fmt: skip
    t0 = time.monotonic()
    try:
        w.start()
    except RuntimeError as e:
        return {"system": system, "error": f"worker did not start: {str(e)[-300:]}"}
    worker_s = round(time.monotonic() - t0, 1)
    try:
        cfg = {
            "system": system,
            "calls": n_calls,
            "turns": turns,
            "url": server.url,
            "key": server.api_key,
            "secret": server.api_secret,
            "background": BACKGROUND[system],
            "jobs_dir": str(jobs),
        }
        r = common.run_worker("bench.parts.job", cfg, 40.0 + n_calls * (40.0 + 3 * turns))
    finally:
        w.stop()
    if "error" in r and "calls" not in r:
        return {"system": system, "error": r["error"], "worker_log": w.log_tail(10)}
    pids = {int(c["pid"]) for c in r["calls"] if c.get("pid")}
    log = w.log_path.read_text(errors="replace") if w.log_path.exists() else ""
    out = summarize(system, r["calls"], blocked_warnings(log, pids))
    out["rows"] = r["calls"]
    out["setup_ms"] = _ms([_read(f).get("setup_ms") for f in jobs.glob("proc-*.json")])
    out["loadavg"] = r.get("loadavg")
    out["worker_start_s"] = worker_s
    out["config_s"] = round(time.monotonic() - t0, 1)
    return out


def run(
    quick: bool = False,
    *,
    configs: tuple[str, ...] | None = None,
    n_calls: int | None = None,
    turns: int | None = None,
    server: Any = None,
) -> dict[str, Any]:
    from soundscape.demo.livekit_local import LocalServer

    p = plan(quick)
    configs = configs or p["configs"]
    n_calls = n_calls or p["calls"]
    turns = turns or p["turns"]
    t_start = time.monotonic()
    results = []
    with contextlib.ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-jobstart-")))
        scene, tone = write_assets(folder)
        if server is None:
            server = stack.enter_context(LocalServer())
        for system in configs:
            r = run_config(
                server, system, folder, n_calls=n_calls, turns=turns, scene=scene, tone=tone
            )
            results.append(r)
            print(line(r), flush=True)
    data = {
        "machine": common.machine(),
        "quick": quick,
        "calls_per_config": n_calls,
        "turns": turns,
        "goals": GOALS,
        "results": results,
        "part_s": round(time.monotonic() - t_start, 1),
    }
    common.save("job", data)
    return data


def line(r: dict[str, Any]) -> str:
    if "error" in r:
        return f"job {r['system']:<21} ERROR {r['error']}"
    bed = r["bed_ms"] if r["system"] != "none" else r["voice_subscribed_ms"]
    return (
        f"job {r['system']:<21} calls {r['calls_ok']}/{r['calls']}  join→entry "
        f"{common.median_range(r['join_to_entry_ms'])}  entry→started {common.median_range(r['entry_to_started_ms'])}  "
        f"start() {common.median_range(r['start_ms'])}  join→bed {common.median_range(bed)}  thinking first "
        f"{common.median_range(r['first_thinking_ms'])} later {common.median_range(r['later_thinking_ms'])} ms  "
        f"missed {r['onsets_missed']}  blocked {r['blocked']['in_jobs']}  "
        f"exited {r['exited']}/{r['calls']}"
    )


def main() -> None:
    common.main(__doc__, worker, run)


if __name__ == "__main__":
    main()
