"""Measure the live driver on this machine: CPU per session-second, reaction, splices.

Run: .venv/bin/python -m tests.support.measure_runtime [seconds]
The figures in docs/runtime.md come from this script (bench/ runs the big comparisons).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from livekit import rtc

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from soundscape.runtime import LiveOptions, Soundscape, make_audio_source
from support.audio_checks import clicks, step_bound, tone_level
from support.tap import AudioTap, close_all
from support.tone_scene import AMP, BED, BED_GAIN, THINK, write_tone_scene

ROOT = Path(__file__).resolve().parents[2]
RATE = 48000
SETTINGS: dict[str, LiveOptions] = {
    "low-cpu, the default (400 ms frames, rewind)": LiveOptions.preset("low-cpu"),
    "balanced (100 ms frames, rewind)": LiveOptions.preset("balanced"),
    "low-latency (20 ms frames, rewind)": LiveOptions.preset("low-latency"),
    "no rewind (100 ms frames)": LiveOptions(frame=0.1, ahead=0.25, rewind=False),
}


async def floor(frame_ms: int, seconds: float) -> float:
    """CPU ms per second of a bare AudioSource fed silence in ``frame_ms`` frames."""
    src = rtc.AudioSource(RATE, 1, queue_size_ms=3 * frame_ms)
    n = RATE * frame_ms // 1000
    f = rtc.AudioFrame(bytes(2 * n), RATE, 1, n)
    c0, t0 = time.process_time(), time.monotonic()
    while time.monotonic() - t0 < seconds:
        await src.capture_frame(f)
    cpu = time.process_time() - c0
    await src.aclose()
    return 1000 * cpu / (time.monotonic() - t0)


async def cpu(opts: LiveOptions, seconds: float) -> tuple[float, int]:
    """CPU ms per session-second for the office scene with a state change every second."""
    scape = Soundscape(ROOT / "scenes/office.yaml", seed=1, latency=opts)
    await scape.start()
    await asyncio.sleep(0.5)
    c0, t0 = time.process_time(), time.monotonic()
    states = ["agent.thinking", "agent.speaking", "agent.listening"]
    i = 0
    while time.monotonic() - t0 < seconds:
        scape.post(states[i % 3])
        i += 1
        await asyncio.sleep(1.0)
    used = time.process_time() - c0
    wall = time.monotonic() - t0
    under = scape.metrics.underruns
    await scape.aclose(fade=0)
    return 1000 * used / wall, under


async def reaction(opts: LiveOptions, changes: int, *, exact: bool = True) -> dict[str, object]:
    """State event → cue audible (and → cue gone) at the source's output, over ``changes``."""
    d = Path(tempfile.mkdtemp())
    scape = Soundscape(write_tone_scene(d), seed=1, latency=opts)
    src = make_audio_source(RATE, 1, 1500) if exact else rtc.AudioSource(RATE, 1, 1500)
    tap = AudioTap(src)
    await scape.start(audio_source=src)
    await asyncio.sleep(0.5)
    posts: list[tuple[float, str]] = []
    rng = np.random.default_rng(0)
    for _ in range(changes):
        for ev in ("agent.thinking", "agent.listening"):
            await asyncio.sleep(float(rng.uniform(0.6, 0.9)))
            posts.append((time.monotonic(), ev))
            scape.post(ev)
    await asyncio.sleep(0.5)
    rewinds = scape.metrics.rewinds
    stop = tap.index(time.monotonic())  # the closing 5 ms fade is not a splice: leave it out
    await scape.aclose(fade=0)
    y = tap.heard()[:, 0]
    idx = [(tap.index(t), ev) for t, ev in posts]  # the sample playing at t
    await close_all()
    w = 48  # 1 ms hops of a 5 ms window: the level reading lags its true onset by ~2.5 ms
    track = np.array([tone_level(y[j : j + 240], THINK) for j in range(0, y.size - 240, w)])
    on_lat, off_lat = [], []
    for i, ev in idx:
        k = i // w
        seg = track[k : k + 600]
        if ev == "agent.thinking":
            hit = np.flatnonzero(seg > 0.5 * 0.25)  # cue at half its level (-6 dB)
            on_lat.append(hit[0] if hit.size else np.nan)
        else:
            hit = np.flatnonzero(seg < 0.1 * 0.25)  # cue 20 dB down (its 50 ms fade included)
            off_lat.append(hit[0] if hit.size else np.nan)
    # Clicks at splices: the bed alone between cues must be click-free.
    bed_only = y[:stop].copy()
    bound = step_bound([(BED_GAIN * AMP, BED), (0.25, THINK)])
    found = clicks(bed_only[RATE // 5 :], material_step=bound)
    n_clicks = len(found)
    if found:
        print("   clicks at", [round((c + RATE // 5) / RATE, 3) for c in found][:10])
    return {
        "on": np.array(on_lat, dtype=float),
        "off": np.array(off_lat, dtype=float),
        "rewinds": rewinds,
        "clicks": n_clicks,
    }


def stats(ms: np.ndarray) -> str:
    ms = ms[~np.isnan(ms)]
    return (
        f"min {ms.min():.0f} / median {np.median(ms):.0f} / p95 {np.percentile(ms, 95):.0f} ms"
        if ms.size
        else "n/a"
    )


async def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    for ms in (20, 100, 200, 400):
        print(
            f"floor: bare AudioSource, {ms} ms frames: {await floor(ms, seconds / 2):.1f} ms CPU/s"
        )
    for name, opts in SETTINGS.items():
        c, under = await cpu(opts, seconds)
        r = await reaction(opts, 25)
        print(
            f"{name}: {c:.1f} ms CPU per session-second (underruns {under});"
            f" cue on {stats(r['on'])}; cue off {stats(r['off'])};"
            f" rewinds {r['rewinds']}, clicks {r['clicks']}"
        )
    r = await reaction(LiveOptions.preset("balanced"), 25, exact=False)
    print(
        f"balanced with a caller-made rtc.AudioSource (grid found by listening): cue on {stats(r['on'])};"
        f" clicks {r['clicks']}"
    )


if __name__ == "__main__":
    asyncio.run(main())
