"""Cue latency at the AudioSource output: state event → cue audible, state end → cue gone.

Both systems play the office setting with one change that makes the cue measurable: the
thinking cue is a 1 kHz sine (amplitude 0.5, at the same gain 0.6 of the file) instead of
keyboard typing, whose clicks and pauses have no clear onset. For soundscape the scene is
scenes/office.yaml with only the cue swapped (`level: file, gain: 0.6`; the bed stays at
the scene's level); for BackgroundAudioPlayer it is
``thinking_sound=AudioConfig(tone, volume=0.6)``.

What the source sends is read back exactly: an `rtc.AudioStream` on a local track of the
same source yields the 10 ms frames the native source hands to WebRTC, in order, silence
included, moments after each tick (a clear_queue drops audio before it ever appears
here). Each sample is given the time its frame arrived plus its offset in the frame. The
tone's level is followed sample by sample (1 kHz demodulation over one 1 ms period), and:

- onset = first sample after the ``thinking`` event whose tone level passes 10 % of the
  plateau (−20 dB: the cue is audible);
- stop = first sample after the ``speaking`` event whose level drops under 10 % of the
  plateau (the cue is gone).

BackgroundAudioPlayer cuts a stopped sound (``fade_out=0``, its default); the tone scene
sets ``fade_out: 0`` on the cue to compare the same thing (the engine still applies its
~5 ms minimum fade against clicks). With office.yaml's default 150 ms cue fade-out, the
cue is gone 150 ms later by design.

Latency = that sample's time − the time the event was emitted on the session.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.lib import common
from bench.lib.schedule import schedule
from bench.lib.standin import AgentSession, Room
from bench.lib.systems import SCENES, BapPlayer, Player, ScapePlayer, other_preset
from bench.lib.tone import Tap, close, tone_level, write_tone


def tone_scene(folder: Path) -> Path:
    """scenes/office.yaml with the thinking cue's file swapped for the tone, cut on stop."""
    text = SCENES["office"].read_text()
    cue = "{source: builtin:keyboard-typing, loop: true}"
    assert cue in text, "the cue in scenes/office.yaml changed: update bench/parts/latency.py"
    path = folder / "office-tone.yaml"
    # The tone at BackgroundAudioPlayer's literal 0.6 of the file: both play the same tone.
    tone = "{source: tone.wav, level: file, gain: 0.6, loop: true, fade_out: 0}"
    path.write_text(text.replace(cue, tone))
    return path


def edges(
    level: np.ndarray, t: np.ndarray, events: list[tuple[float, str]]
) -> dict[str, list[float]]:
    """Latency of each change: onset (>10 %) after 'thinking', stop (<10 %) after
    'speaking'; a change whose edge never came before the next event, or a 'speaking' with
    no cue sounding, counts as missed."""
    plateau = float(np.percentile(level, 99))
    lo = 0.1 * plateau
    out: dict[str, list[float]] = {"onset": [], "stop": [], "missed": []}
    for k, (te, what) in enumerate(events):
        tn = events[k + 1][0] if k + 1 < len(events) else t[-1]
        i0, i1 = np.searchsorted(t, [te, tn])
        seg = level[i0:i1]
        if what == "speaking" and (seg.size == 0 or seg[0] < lo):
            out["missed"].append(te)  # no cue sounding when the state ended: nothing to stop
            continue
        probes = {"thinking": [("onset", seg > lo)], "speaking": [("stop", seg < lo)]}
        for name, hit in probes.get(what, []):
            idx = np.flatnonzero(hit)
            if idx.size == 0:
                out["missed"].append(te)
                continue
            out[name].append(float(t[i0 + idx[0]] - te))
    return out


async def measure(cfg: dict[str, Any]) -> dict[str, Any]:
    logs = common.LogCounter.install()
    folder = Path(tempfile.mkdtemp(prefix="bench-latency-"))
    write_tone(folder / "tone.wav")
    k, cycles = int(cfg["sessions"]), int(cfg["cycles"])
    think, speak = float(cfg["think"]), float(cfg["speak"])
    players: list[Player]
    if cfg["system"] == "bap":
        players = [BapPlayer(thinking=str(folder / "tone.wav")) for _ in range(k)]
    else:
        from soundscape.scene import load

        scene = load(tone_scene(folder))
        players = [ScapePlayer(scene, seed=i, latency=cfg.get("latency")) for i in range(k)]
    room = Room()
    sessions = [AgentSession() for _ in range(k)]
    events: list[list[tuple[float, str]]] = [[] for _ in range(k)]
    for i, s in enumerate(sessions):
        s.on(
            "agent_state_changed",
            lambda ev, i=i: events[i].append((time.monotonic(), ev.new_state)),
        )
    taps = []
    for p, s in zip(players, sessions, strict=True):
        taps.append(Tap(p.source))
        await p.start(room, s)
    loop = asyncio.get_running_loop()
    t0 = loop.time() + 1.0  # a second of bed first
    until = t0 + cycles * (think + speak)
    schedule(sessions, t0, until, think=think, speak=speak)
    await asyncio.sleep(until - loop.time() + 1.0)
    res: dict[str, list[float]] = {"onset": [], "stop": [], "missed": []}
    plateaus = []
    for tap, ev in zip(taps, events, strict=True):
        x, t = tap.signal()
        level = tone_level(x)
        plateaus.append(float(np.percentile(level, 99)))
        for key, vals in edges(level, t, ev).items():
            res[key].extend(vals)
    out: dict[str, Any] = {**cfg, "plateau": [round(p, 3) for p in plateaus]}
    out["frame_ms"] = players[0].frame_ms
    out["ahead_ms"] = getattr(players[0], "ahead_ms", 400)  # BackgroundAudioPlayer: 400 ms queue
    for key in ("onset", "stop"):
        out[key] = common.stats_ms(res[key])
    out["missed"] = len(res["missed"])
    out["log_warnings"] = dict(logs.counts)
    out["loadavg_end"] = common.loadavg()
    await close(taps, players)
    return out


def worker(cfg: dict[str, Any]) -> None:
    common.emit(asyncio.run(measure(cfg)))


def plan(quick: bool) -> list[dict[str, Any]]:
    sessions, cycles, phase = (2, 2, 1.0) if quick else (5, 11, 1.5)
    systems: tuple[tuple[str, str | None], ...] = (("bap", None), ("office", None))
    if not quick:
        systems += (("office", other_preset()),)
    return [
        {
            "system": s,
            "latency": lat,
            "sessions": sessions,
            "cycles": cycles,
            "think": phase,
            "speak": phase,
        }
        for s, lat in systems
    ]


def run(quick: bool = False) -> dict[str, Any]:
    return common.run_part(
        "latency",
        "bench.parts.latency",
        plan(quick),
        lambda c: 60 + c["cycles"] * 3 * 2,
        line,
        quick,
    )


def line(r: dict[str, Any]) -> str:
    name = r["system"] + (f"/{r['latency']}" if r.get("latency") else "")
    if "error" in r:
        return f"latency {name:<16} ERROR {r['error']}"
    parts = [f"{k} min/med/p95 {common.spread(r[k])} ms (n={r[k]['n']})" for k in ("onset", "stop")]
    return f"latency {name:<16} " + "; ".join(parts) + f"; missed {r['missed']}"


def main() -> None:
    common.main(__doc__, worker, run)


if __name__ == "__main__":
    main()
