"""State change → audible at the *caller*, through a real LiveKit server (SFU, Opus, jitter buffer).

    .venv/bin/python -m bench e2e [--quick]
    .venv/bin/python -m bench.parts.e2e [--cycles 8] [--presets balanced low-cpu low-latency]

A local livekit-server on loopback (soundscape.demo.livekit_local); an agent participant plays a
tone scene (220 Hz bed, a 1 kHz cue while thinking, no fades so onsets are crisp); a caller
subscribes and records. Each cycle posts ``agent.thinking``, waits, posts ``agent.speaking``.

Times of samples: every received 10 ms frame is stamped when it reaches the caller's event
loop, and each sample within it gets that time minus what follows it in the frame. The same
is done with a local tap on the agent's AudioSource (what it hands to WebRTC), which splits
the total into the engine's reaction (event → source output) and the transport (source →
caller: Opus, the SFU, the receiver's jitter buffer). The cue level is followed over 4 ms
(4 ms: whole periods of both tones, trailing); onset = first sample after the event above 10 % of the plateau,
stop = first sample after the end event below it. Not included: a real client's audio
output device (typically another 10-40 ms).

Writes bench/out/e2e.json and prints a table. Not a test: numbers depend on load.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import tempfile
import time
import uuid
import wave
from pathlib import Path
from typing import Any

import numpy as np

from bench.lib import common
from soundscape.demo.caller import Caller, Recording, record_source
from soundscape.demo.livekit_local import VERSION, LocalServer

RATE = 48000
BED, CUE = 250.0, 1000.0
WINDOW = RATE // 250  # 4 ms: whole periods of both tones, so the bed cancels exactly
AMP = 0.5
THINK_SECONDS, REST_SECONDS = 1.2, 1.0

SCENE = """\
version: 1
name: e2e-latency
sounds:
  bed: bed.wav
  cue: cue.wav
layers:
  bed: {sound: bed, gain: 0.3}
states:
  listening:
  thinking:
    cues:
      - {sound: cue, gain: 0.6, loop: true, fade_in: 0ms, fade_out: 0ms}
  speaking:
"""


def _write_tone(path: Path, freq: float, seconds: float) -> None:
    t = np.arange(int(seconds * RATE)) / RATE
    pcm = (AMP * np.sin(2 * np.pi * freq * t) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm.tobytes())


def scene_file(d: Path) -> Path:
    _write_tone(d / "bed.wav", BED, 2.0)
    _write_tone(d / "cue.wav", CUE, 1.0)  # whole periods: loops without a seam
    (d / "scene.yaml").write_text(SCENE)
    return d / "scene.yaml"


def sample_times(rec: Recording) -> tuple[np.ndarray, np.ndarray]:
    """All samples and the time each one arrived."""
    xs, ts = [], []
    for t, f in rec.frames:
        xs.append(f)
        ts.append(t - (len(f) - 1 - np.arange(len(f))) / RATE)
    if not xs:
        return np.zeros(0, np.float32), np.zeros(0)
    return np.concatenate(xs), np.concatenate(ts)


def cue_level(x: np.ndarray) -> np.ndarray:
    """1 kHz amplitude over the 4 ms up to each sample (trailing, so never early)."""
    ph = np.exp(-2j * np.pi * CUE * np.arange(len(x)) / RATE)
    z = np.convolve(x * ph, np.ones(WINDOW) / WINDOW, mode="full")[: len(x)]
    return 2 * np.abs(z)


def crossings(
    x: np.ndarray, ts: np.ndarray, events: list[tuple[float, float]], plateau: float
) -> list[dict[str, float | None]]:
    lvl = cue_level(x)
    on = lvl > 0.1 * plateau
    out: list[dict[str, float | None]] = []
    for t_on, t_off in events:
        after = np.flatnonzero(on & (ts >= t_on) & (ts < t_off))
        gone = np.flatnonzero(~on & (ts >= t_off))
        out.append(
            {
                "onset": float(ts[after[0]] - t_on) if after.size else None,
                "stop": float(ts[gone[0]] - t_off) if gone.size else None,
            }
        )
    return out


async def measure(server: LocalServer, scene: Path, preset: str, cycles: int) -> dict[str, Any]:
    from livekit import rtc

    from soundscape.runtime import Soundscape
    from soundscape.runtime.sink import make_audio_source

    room_name = f"bench-{uuid.uuid4().hex[:8]}"
    caller, agent = Caller(rate=RATE), rtc.Room()
    scape = Soundscape(scene, seed=0, latency=preset)
    opts = scape.options
    source = make_audio_source(RATE, 1, int((opts.ahead + 2 * opts.frame) * 1000) + 50)
    sent = Recording("tap", "agent", RATE)
    tap = asyncio.ensure_future(record_source(source, sent))
    events: list[tuple[float, float]] = []
    try:
        await caller.join(server.url, server.token("caller", room_name))
        await agent.connect(server.url, server.token("agent", room_name))
        await scape.start(room=agent, audio_source=source)
        await caller.wait_track("soundscape")
        await asyncio.sleep(1.0)
        for _ in range(cycles):
            t_on = time.monotonic()
            scape.post("agent.thinking")
            await asyncio.sleep(THINK_SECONDS)
            t_off = time.monotonic()
            scape.post("agent.speaking")
            await asyncio.sleep(REST_SECONDS)
            events.append((t_on, t_off))
    finally:
        await scape.aclose()
        await agent.disconnect()
        await caller.aclose()
        tap.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await tap
        await source.aclose()
    plateau = AMP * 0.6
    heard = caller.tracks("soundscape")[-1]
    at_caller = crossings(*sample_times(heard), events, plateau)
    at_source = crossings(*sample_times(sent), events, plateau)
    return {
        "preset": preset,
        "options": {"frame": opts.frame, "ahead": opts.ahead, "rewind": opts.rewind},
        "cycles": [{"caller": c, "source": s} for c, s in zip(at_caller, at_source, strict=True)],
    }


def stats(values: list[float | None]) -> dict[str, float | int | None]:
    got = sorted(v * 1000 for v in values if v is not None)
    if not got:
        return {"n": 0, "missed": len(values)}
    return {
        "n": len(got),
        "missed": len(values) - len(got),
        "median_ms": round(statistics.median(got), 1),
        "p90_ms": round(got[min(len(got) - 1, int(0.9 * len(got)))], 1),
        "max_ms": round(got[-1], 1),
    }


def run(
    quick: bool = False, *, cycles: int | None = None, presets: list[str] | None = None
) -> dict[str, Any]:
    """``python -m bench e2e``: 8 cycles of each preset (``quick``: 3 of balanced), printed
    and saved as bench/out/e2e.json."""
    if presets is None:
        presets = ["balanced"] if quick else ["balanced", "low-cpu", "low-latency"]
    if cycles is None:
        cycles = 3 if quick else 8
    results = []
    with tempfile.TemporaryDirectory() as d, LocalServer() as server:
        scene = scene_file(Path(d))
        for preset in presets:
            r = asyncio.run(measure(server, scene, preset, cycles))
            for where in ("source", "caller"):
                for what in ("onset", "stop"):
                    r[f"{what}_at_{where}"] = stats([c[where][what] for c in r["cycles"]])
            results.append(r)
    doc = {
        "machine": common.machine(),
        "quick": quick,
        "server": f"livekit-server {VERSION} on 127.0.0.1",
        "what": "agent.thinking → 1 kHz cue audible (onset) and agent.speaking → cue gone (stop), "
        "measured at the soundscape AudioSource output and at a subscribed caller",
        "results": results,
    }
    path = common.save("e2e", doc)
    print(f"{'preset':<12} {'where':<7} {'onset median/p90/max ms':<26} {'stop median/p90/max ms'}")
    for r in results:
        for where in ("source", "caller"):
            cells = []
            for what in ("onset", "stop"):
                s = r[f"{what}_at_{where}"]
                cells.append(
                    f"{s.get('median_ms')}/{s.get('p90_ms')}/{s.get('max_ms')}"
                    + (f" ({s['missed']} missed)" if s["missed"] else "")
                )
            print(f"{r['preset']:<12} {where:<7} {cells[0]:<26} {cells[1]}")
    print(f"wrote {path}")
    return doc


def main() -> None:
    ap = argparse.ArgumentParser(
        prog="python -m bench.parts.e2e", description=__doc__.split("\n")[0]
    )
    ap.add_argument("--cycles", type=int, default=8, help="thinking/speaking cycles per preset")
    ap.add_argument("--presets", nargs="+", default=["balanced", "low-cpu", "low-latency"])
    ap.add_argument("--quick", action="store_true", help="3 cycles of the balanced preset")
    a = ap.parse_args()
    with common.private_cache():
        if a.quick:
            run(True)
        else:
            run(cycles=a.cycles, presets=a.presets)


if __name__ == "__main__":
    main()
