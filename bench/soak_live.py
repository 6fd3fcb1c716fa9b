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

    .venv/bin/python -m bench.soak_live                 # 10 minutes, writes bench/out/soak_live.json
    .venv/bin/python -m bench.soak_live --minutes 0.5   # a quick look

`run_soak()` is also what tests/faults/test_soak.py runs for ~20 s.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import resource
import tempfile
import time
import wave
from pathlib import Path
from typing import Any

import numpy as np

RATE = 48000
STATES = ("listening", "thinking", "speaking")

SCENE = """\
version: 1
name: soak
sounds:
  bed: bed.wav
  think: think.wav
  chime: chime.wav
layers:
  bed:
    sound: bed
    gain: 0.3
    fade_in: 20ms
    fade_out: 100ms
    duck: {depth: 0.25, attack: 50ms, release: 100ms}
states:
  idle:
  listening:
  thinking:
    cues:
      - {sound: think, gain: 0.5, loop: true, fade_in: 10ms, fade_out: 50ms}
  speaking:
transitions:
  - on: trigger.ding
    play: chime
triggers:
  ding: A chime.
"""


def _write_wav(path: Path, freq: float, seconds: float) -> None:
    t = np.arange(int(seconds * RATE)) / RATE
    pcm = (0.5 * np.sin(2 * np.pi * freq * t) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm.tobytes())


def write_scene(d: Path) -> Path:
    """The soak scene (a ducked bed, a looping thinking cue, a chime trigger) in ``d``."""
    for name, freq, secs in (("bed", 220.0, 2.0), ("think", 660.0, 1.0), ("chime", 1320.0, 0.3)):
        _write_wav(d / f"{name}.wav", freq, secs)
    path = d / "scene.yaml"
    path.write_text(SCENE)
    return path


def rss_mb() -> float:
    """Resident set size now (Linux /proc; falls back to the peak from getrusage)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


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
            wall = elapsed - m.underrun_seconds
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
                    scape.trigger("ding")
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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.soak_live", description=__doc__)
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--interval", type=float, default=0.2, help="seconds between state changes")
    ap.add_argument("--every", type=float, default=10.0, help="seconds between samples")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "out" / "soak_live.json")
    args = ap.parse_args(argv)
    from bench.common import private_cache

    with private_cache():
        res = asyncio.run(run_soak(args.minutes * 60, interval=args.interval, every=args.every))
    for s in res["samples"]:
        print(
            f"t={s['t']:7.1f}s rss={s['rss_mb']:7.1f}MB tasks={s['tasks']:3d} "
            f"voices={s['voices']:3d} lead={s['lead_ms']:6.1f}ms drift={s['drift_ms']:+7.2f}ms underruns={s['underruns']} "
            f"rewinds={s['rewinds']} cpu={s['cpu_s']:.1f}s"
        )
    print(json.dumps(res["summary"], indent=1))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=1))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
