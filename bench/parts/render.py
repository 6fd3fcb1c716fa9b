"""Offline render speed, × real time, for the office and showcase scenes.

``soundscape.offline.render.render`` (what ``soundscape render`` runs) under the built-in scripted
conversation, repeated to ``seconds`` of audio, in 1 s chunks; and the engine alone at the
live driver's default frame (``LiveOptions().frame``), which is the engine's share of a
live session's CPU. Speed = audio seconds / CPU seconds of this process (the machine is
shared, so CPU time is steadier than wall time); the wall figure is kept too.
"""

from __future__ import annotations

import time
from typing import Any

from bench.lib import common
from bench.lib.systems import SCENES


def measure(cfg: dict[str, Any]) -> dict[str, Any]:
    from soundscape.engine import Engine, compile_scene
    from soundscape.offline.render import render
    from soundscape.offline.timeline import Cue, Timeline, default_timeline
    from soundscape.scene import load

    scene = load(SCENES[cfg["scene"]])
    seconds = float(cfg["seconds"])
    base = default_timeline(scene)
    cues = []
    k = 0
    while k * base.duration < seconds:
        cues += [Cue(c.at + k * base.duration, c.event, dict(c.fields)) for c in base.events]
        k += 1
    timeline = Timeline(tuple(cues), seconds, "repeated conversation")
    render(scene, base, duration=1.0)  # warm: compile, load clips
    c0, w0 = time.process_time(), time.perf_counter()
    out = render(scene, timeline, duration=seconds)
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    res: dict[str, Any] = {
        **cfg,
        "offline_x_realtime_cpu": round(seconds / cpu, 1),
        "offline_x_realtime_wall": round(out.duration / out.seconds_taken, 1),
        "compile_and_render_wall_s": round(wall, 3),
    }
    from soundscape.runtime import LiveOptions

    block = round(LiveOptions().frame * 48000)
    plan = compile_scene(scene, rate=48000, channels=1)
    eng = Engine(plan, seed=0, block=block)
    for c in cues:
        eng.post(c.event, dict(c.fields), at=round(c.at * 48000))
    eng.render(block)
    n = int(seconds * 48000) // block
    c0 = time.process_time()
    for _ in range(n):
        eng.render(block)
    cpu = time.process_time() - c0
    audio = n * block / 48000
    res["live_block_ms"] = round(block / 48)
    res["live_block_x_realtime_cpu"] = round(audio / cpu, 1)
    res["live_block_engine_ms_per_s"] = round(cpu * 1000 / audio, 3)
    return res


def run(quick: bool = False) -> dict[str, Any]:
    results = []
    for scene in ("office", "showcase"):
        cfg = {"scene": scene, "seconds": 60.0 if quick else 600.0}
        r = common.run_worker("bench.parts.render", cfg, 300)
        results.append(r)
        if "error" in r:
            print(f"render {scene:<9} ERROR {r['error']}", flush=True)
        else:
            print(
                f"render {scene:<9} offline {r['offline_x_realtime_cpu']:8.0f}× real time; engine "
                f"at {r['live_block_ms']} ms blocks {r['live_block_engine_ms_per_s']:.2f} ms CPU"
                " per second",
                flush=True,
            )
    data = {"machine": common.machine(), "quick": quick, "results": results}
    common.save("render", data)
    return data


def main() -> None:
    common.main(__doc__, lambda cfg: common.emit(measure(cfg)), run)


if __name__ == "__main__":
    main()
