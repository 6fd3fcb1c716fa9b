"""Live soak: a Soundscape on a real `rtc.AudioSource`, its state changed every 200 ms.

Runs for ``--minutes`` (default 10) and samples, every ``--every`` seconds: RSS, the number
of asyncio tasks, live FFI handles, the voices playing, underruns, rewinds, and the drift
between the track's clock and wall time. The drift is what was *heard* (samples sent minus
what is still queued) against the wall time since start minus the time the source ran
dry: a driver that pushes too much or too little shows up as a growing drift.

The engine clock is the deck's render position (what has been rendered for the track, in
samples); it leads wall time by the render-ahead queue. ``lead_ms`` is that lead (engine
seconds minus wall seconds since start, less the seconds the source ran dry); it must stay
between ``ahead - frame`` and ``ahead`` (where in that range depends on when in the push
cycle it is sampled). ``drift_ms`` is the sample being heard (the driver's model of the
source's 10 ms ticks) against the same wall time, relative to its first value: it moves
only if time is lost or gained somewhere (a stall shorter than the underrun tolerance, a
splice placed wrong). (``metrics.seconds_sent`` counts re-rendered audio after rewinds
too, so it is work done, not the clock.)

    .venv/bin/python -m bench soak                       # 10 minutes, writes bench/out/soak.json
    .venv/bin/python -m bench soak --quick               # 30 s, a quick look
    .venv/bin/python -m bench.parts.soak --minutes 2 --interval 0.1 --every 5

`run_soak()` is also what tests/faults/test_soak.py runs for ~20 s.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.lib import common
from bench.lib.common import rss_mb

ROOT = Path(__file__).resolve().parents[2]
RATE = 48000
STATES = ("listening", "thinking", "speaking")


def write_scene(d: Path) -> Path:
    """The scene the suite listens to (tests/support/tone_scene.py: a ducked bed, a looping
    thinking cue, a chime trigger) in ``d``: one scene, so the soak plays what the tests do."""
    tests = str(ROOT / "tests")
    if tests not in sys.path:  # under pytest it is there already (rootdir conftest)
        sys.path.append(tests)
    from support.tone_scene import write_tone_scene

    return write_tone_scene(d)


def live_ffi_handles() -> int:
    from livekit.rtc import _ffi_client

    gc.collect()
    return sum(1 for h in list(_ffi_client._live_handles) if not h.disposed)


async def run_soak(
    seconds: float, *, interval: float = 0.2, every: float = 10.0, scene_dir: Path | None = None
) -> dict[str, Any]:
    """Play the soak scene for ``seconds`` with a state change every ``interval``; sample
    the figures every ``every`` seconds. Returns the samples and a summary."""
    from soundscape.runtime import Soundscape, make_audio_source
    from soundscape.runtime.clock import TICK
    from soundscape.runtime.driver import PREROLL

    with tempfile.TemporaryDirectory() as tmp:
        d = scene_dir or Path(tmp)
        scape = Soundscape(write_scene(d), seed=7)
        loop = asyncio.get_running_loop()
        tasks0 = len(asyncio.all_tasks())
        ffi0 = live_ffi_handles()
        state_events = 0
        changes: list[str] = []
        scape.on("state_changed", lambda ev: ev.event and changes.append(ev.new_state))
        source = make_audio_source(RATE, 1, 1000)
        await scape.start(audio_source=source)
        t0, cpu0 = loop.time(), time.process_time()
        samples: list[dict[str, Any]] = []
        played0: list[float] = []
        n = 0
        next_sample = 0.0

        def sample(elapsed: float) -> None:
            m = scape.metrics
            d = scape._driver  # the deck position is the engine clock; no public accessor
            # The engine's sample 0 plays after the session's lead-in of PREROLL silent ticks.
            wall = elapsed - m.underrun_seconds - PREROLL * TICK
            lead = (d.deck.position / RATE if d else 0.0) - wall
            played = (d.now_playing() / RATE if d else 0.0) - wall
            samples.append(
                {
                    "t": round(elapsed, 3),
                    "rss_mb": round(rss_mb(), 2),
                    "tasks": len(asyncio.all_tasks()),
                    "voices": m.active_voices,
                    "underruns": m.underruns,
                    "underrun_s": round(m.underrun_seconds, 4),
                    "rewinds": m.rewinds,
                    "render_errors": m.render_errors,
                    "lead_ms": round(lead * 1000, 2),
                    "played_ms": round(played * 1000, 2),
                    "drift_ms": round((played - played0[0]) * 1000, 2) if played0 else 0.0,
                    "cpu_s": round(time.process_time() - cpu0, 3),
                }
            )

        try:
            while (elapsed := loop.time() - t0) < seconds:
                if elapsed >= next_sample:
                    sample(elapsed)
                    if not played0 and elapsed > 0.5:  # after the queue first filled
                        played0.append(samples[-1]["played_ms"] / 1000)
                    next_sample += every
                scape.post(f"agent.{STATES[n % len(STATES)]}")
                state_events += 1
                if n % 25 == 0:
                    scape.trigger("order_confirmed", order=str(n))
                n += 1
                # On a fixed grid, so a late wake-up does not stretch the schedule.
                await asyncio.sleep(max(t0 + n * interval - loop.time(), 0.0))
            sample(loop.time() - t0)
            final_state = scape.state
        finally:
            await scape.aclose()
            await source.aclose()
        await asyncio.sleep(0.1)
        tasks_after = len(asyncio.all_tasks())
        ffi_after = live_ffi_handles()
    first, last = samples[0], samples[-1]
    drifts = [abs(s["drift_ms"]) for s in samples[1:]]
    summary = {
        "seconds": round(last["t"], 1),
        "state_events": state_events,
        "final_state": final_state,
        "expected_state": STATES[(n - 1) % len(STATES)],
        "state_changes_heard": len(changes),
        "rss_mb_start": samples[min(1, len(samples) - 1)]["rss_mb"],
        "rss_mb_end": last["rss_mb"],
        "tasks_before": tasks0,
        "tasks_running_max": max(s["tasks"] for s in samples),
        "tasks_running_min": min(s["tasks"] for s in samples),
        "tasks_after": tasks_after,
        "ffi_handles_before": ffi0,
        "ffi_handles_after": ffi_after,
        "ahead_ms": scape.options.ahead * 1000,
        "frame_ms": scape.options.frame * 1000,
        "lead_ms_min": min(s["lead_ms"] for s in samples[1:]) if len(samples) > 1 else 0.0,
        "lead_ms_max": max(s["lead_ms"] for s in samples[1:]) if len(samples) > 1 else 0.0,
        "lead_ms_median": (
            sorted(s["lead_ms"] for s in samples[1:])[(len(samples) - 1) // 2]
            if len(samples) > 1
            else 0.0
        ),
        "drift_ms_max": max(drifts, default=0.0),
        "drift_ms_end": last["drift_ms"],
        "underruns": last["underruns"],
        "rewinds": last["rewinds"],
        "render_errors": last["render_errors"],
        "voices_max": max(s["voices"] for s in samples),
        "cpu_percent": round(100 * last["cpu_s"] / max(last["t"], 1e-9), 2),
        "rss_first_sample_mb": first["rss_mb"],
    }
    return {"summary": summary, "samples": samples}


def run(
    quick: bool = False, *, minutes: float | None = None, interval: float = 0.2, every: float = 10.0
) -> dict[str, Any]:
    """``python -m bench soak``: 10 minutes (``quick``: 30 s), printed and saved as
    bench/out/soak.json."""
    seconds = 60 * (minutes if minutes is not None else 0.5 if quick else 10.0)
    res = asyncio.run(run_soak(seconds, interval=interval, every=every))
    for s in res["samples"]:
        print(
            f"soak t={s['t']:7.1f}s rss={s['rss_mb']:7.1f}MB tasks={s['tasks']:3d} "
            f"voices={s['voices']:3d} lead={s['lead_ms']:6.1f}ms drift={s['drift_ms']:+7.2f}ms underruns={s['underruns']} "
            f"rewinds={s['rewinds']} cpu={s['cpu_s']:.1f}s",
            flush=True,
        )
    print(json.dumps(res["summary"], indent=1))
    print(f"wrote {common.save('soak', {'machine': common.machine(), 'quick': quick, **res})}")
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.parts.soak", description=__doc__)
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--interval", type=float, default=0.2, help="seconds between state changes")
    ap.add_argument("--every", type=float, default=10.0, help="seconds between samples")
    args = ap.parse_args(argv)
    with common.private_cache():
        run(minutes=args.minutes, interval=args.interval, every=args.every)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
