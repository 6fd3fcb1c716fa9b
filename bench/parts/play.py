"""`play()` latency at the AudioSource output: a file, and a stream produced in real time.

Both systems run the office setting (office ambience at 0.3; soundscape: scenes/office.yaml)
and, every ``period`` seconds per session, the application plays a 1 kHz tone (amplitude
0.5, 0.5 s), alternately

- as a **file**: ``play(path)`` of a WAV (both systems decode it on their own);
- as a **stream**: ``play(async iterator)`` of 20 ms frames, each yielded when it is due on
  the loop clock, like a TTS stream or a relayed participant. The frames are 48 kHz mono,
  the track's own format: BackgroundAudioPlayer's mixer does not resample (a 24 kHz stream
  plays there an octave up, in half the time), soundscape would.

The output is read back as in bench/parts/latency.py (an `rtc.AudioStream` on the source). Onset
= the tone's level first passes 10 % of its plateau after the call (file) or after the
stream's first frame was yielded (stream). *Holes* = 10 ms stretches inside a stream's
0.5 s where the tone falls under half its plateau (a stream that runs dry).

What to expect: BackgroundAudioPlayer plays a stream behind its 400 ms queue (~0.6 s).
Soundscape does not buffer a stream: it starts it at its first frame (50 ms lead, so later
frames land ahead of the render head) and renders only as far as its frames reach, so the
stream is heard ~55 ms after its first frame however much bed is queued otherwise (it was
~0.25 s with the 250 ms `stream_buffer` this replaced). The price is a short queue while a
stream plays: a loop stall longer than the lead (several sessions in one process, a ~0.1 s
garbage collection) makes the stream run dry and resume, faded, and the hole counts here.
``--quick`` runs 2 sessions per process, the full run 5 (and the "balanced" preset). Both
also run soundscape in the shape of a livekit-agents worker's job: one session in its
process, with what was imported before the session frozen out of the garbage collector
(`gc.freeze()`, as the worker's forkserver does before it forks a job), so a full collection
only walks what the session itself allocated.
"""

from __future__ import annotations

import asyncio
import gc
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
from livekit import rtc

from bench.lib import common
from bench.lib.standin import AgentSession, Room
from bench.lib.systems import RATE, SCENES, BapPlayer, Player, ScapePlayer, other_preset
from bench.lib.tone import TONE_AMP, TONE_HZ, Tap, close, tone_level, write_tone

TONE_S = 0.5


async def paced_tone(
    started: list[float],
    *,
    seconds: float = TONE_S,
    freq: float = TONE_HZ,
    amp: float = TONE_AMP,
    rate: int = RATE,
) -> AsyncIterator[rtc.AudioFrame]:
    """A mono tone as 20 ms frames, each yielded when it is due on the loop clock (like a TTS
    stream); the time of the first is appended to ``started``."""
    n = rate // 50
    t = np.arange(int(seconds * rate)) / rate
    pcm = (amp * np.sin(2 * np.pi * freq * t) * 32767).astype(np.int16)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    for k, i in enumerate(range(0, pcm.size, n)):
        await asyncio.sleep(max(0.0, t0 + k * n / rate - loop.time()))
        if k == 0:
            started.append(time.monotonic())
        block = pcm[i : i + n]
        yield rtc.AudioFrame(block.tobytes(), rate, 1, block.size)


def analyse(
    level: np.ndarray, t: np.ndarray, plays: list[tuple[str, float]], next_gap: float
) -> dict[str, list[float]]:
    """Onset latency per kind, and holes (10 ms steps under half the plateau) per stream."""
    plateau = float(np.percentile(level, 99))
    out: dict[str, list[float]] = {"file": [], "stream": [], "holes": [], "missed": []}
    step = RATE // 100
    for kind, t0 in plays:
        i0, i1 = np.searchsorted(t, [t0, t0 + next_gap])
        seg = level[i0:i1]
        idx = np.flatnonzero(seg > 0.1 * plateau)
        if idx.size == 0:
            out["missed"].append(t0)
            continue
        out[kind].append(float(t[i0 + idx[0]] - t0))
        if kind == "stream":
            # From 20 ms after the onset to 20 ms before the tone's end: fades excluded.
            body = seg[idx[0] + 2 * step : idx[0] + int((TONE_S - 0.02) * RATE)]
            steps = body[: body.size // step * step].reshape(-1, step).min(axis=1)
            out["holes"].append(float(np.count_nonzero(steps < 0.5 * plateau)))
    return out


async def measure(cfg: dict[str, Any]) -> dict[str, Any]:
    logs = common.LogCounter.install()
    folder = Path(tempfile.mkdtemp(prefix="bench-play-"))
    tone = folder / "tone.wav"
    write_tone(tone, TONE_S)
    k, rounds, period = int(cfg["sessions"]), int(cfg["rounds"]), float(cfg["period"])
    players: list[Player]
    if cfg["system"] == "bap":
        players = [BapPlayer() for _ in range(k)]
    else:
        from soundscape.scene import load

        scene = load(SCENES["office"])
        players = [ScapePlayer(scene, seed=i, latency=cfg.get("latency")) for i in range(k)]
    room = Room()
    taps = []
    for p in players:
        taps.append(Tap(p.source))
        await p.start(room, AgentSession())
    plays: list[list[tuple[str, float]]] = [[] for _ in range(k)]
    streams: list[list[float]] = [[] for _ in range(k)]
    await asyncio.sleep(1.0)  # the bed first

    def call(i: int, what: Any) -> None:
        if isinstance(players[i], BapPlayer):
            players[i].player.play(what)  # type: ignore[attr-defined]
        else:
            # At the file's own level, as BackgroundAudioPlayer plays it: the tone is measured.
            players[i].scape.play(what, level="file")  # type: ignore[attr-defined]

    loop = asyncio.get_running_loop()
    t0 = loop.time()
    for r in range(rounds):
        for i in range(k):
            # Sessions staggered across the period; file and stream alternate.
            await asyncio.sleep(max(0.0, t0 + (r + i / k) * period - loop.time()))
            if r % 2 == 0:
                plays[i].append(("file", time.monotonic()))
                call(i, str(tone))
            else:
                call(i, paced_tone(streams[i]))
    await asyncio.sleep(period + 1.0)
    res: dict[str, list[float]] = {"file": [], "stream": [], "holes": [], "missed": []}
    for tap, pl, st in zip(taps, plays, streams, strict=True):
        x, t = tap.signal()
        level = tone_level(x)
        every = sorted(pl + [("stream", s) for s in st], key=lambda p: p[1])
        for key, vals in analyse(level, t, every, period * 0.9).items():
            res[key].extend(vals)
    out: dict[str, Any] = {**cfg}
    out["frame_ms"] = players[0].frame_ms
    out["ahead_ms"] = getattr(players[0], "ahead_ms", 400)
    for key in ("file", "stream"):
        out[key] = common.stats_ms(res[key])
    out["holes"] = int(sum(res["holes"]))
    out["streams_with_holes"] = sum(1 for h in res["holes"] if h > 0)
    out["missed"] = len(res["missed"])
    out["log_warnings"] = dict(logs.counts)
    out["loadavg_end"] = common.loadavg()
    await close(taps, players)
    return out


def worker(cfg: dict[str, Any]) -> None:
    if cfg.get("worker_shape"):
        # livekit-agents' forkserver preloads and then runs `gc.collect(); gc.freeze()`
        # (livekit/agents/ipc/_preload_freeze.py) before forking each job process.
        gc.collect()
        gc.freeze()
    common.emit(asyncio.run(measure(cfg)))


def plan(quick: bool) -> list[dict[str, Any]]:
    sessions, rounds = (2, 4) if quick else (5, 12)
    systems: tuple[tuple[str, str | None], ...] = (("bap", None), ("office", None))
    if not quick:
        systems += (("office", other_preset()),)
    cfgs: list[dict[str, Any]] = [
        {"system": s, "latency": lat, "sessions": sessions, "rounds": rounds, "period": 1.5}
        for s, lat in systems
    ]
    # One job's process, as a worker runs it: one session, pre-session objects frozen.
    shape = {"sessions": 1, "rounds": rounds * (1 if quick else 2), "worker_shape": True}
    cfgs.append({"system": "office", "latency": None, "period": 1.5, **shape})
    return cfgs


def run(quick: bool = False) -> dict[str, Any]:
    return common.run_part(
        "play_latency",
        "bench.parts.play",
        plan(quick),
        lambda c: 60 + c["rounds"] * c["period"] * 2,
        line,
        quick,
    )


def line(r: dict[str, Any]) -> str:
    name = r["system"] + (f"/{r['latency']}" if r.get("latency") else "")
    name += " 1/job" if r.get("worker_shape") else f" {r['sessions']}/proc"
    if "error" in r:
        return f"play     {name:<16} ERROR {r['error']}"
    parts = [
        f"{k} min/med/p95 {common.spread(r[k])} ms (n={r[k]['n']})" for k in ("file", "stream")
    ]
    return (
        f"play     {name:<16} "
        + "; ".join(parts)
        + f"; holes {r['holes']} in {r['streams_with_holes']} streams; missed {r['missed']}"
    )


def main() -> None:
    common.main(__doc__, worker, run)


if __name__ == "__main__":
    main()
