"""How fast the engine renders a scene, in × real time on one core (CPU time, not wall time).

    .venv/bin/python -m bench engine [--quick]     # office.yaml and showcase.yaml, as docs/engine.md
    .venv/bin/python -m bench.parts.engine scenes/office.yaml --seconds 600 --block 480 4800 48000

Without a scene file an office scene is built in memory (the livekit-agents office
ambience at 0.3 as a bed, keyboard typing looping while thinking). A scripted
conversation cycles listening → thinking → speaking every few seconds so that
cues start and stop, beds duck and states ramp throughout the run.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from bench.lib import common
from soundscape.engine import Engine, compile_scene
from soundscape.scene import load, loads

OFFICE = """
version: 1
name: office (bench)
layers:
  room: {source: "builtin:office-ambience", gain: 0.3, duck: true}
states:
  listening: {}
  thinking:
    cues: [{source: "builtin:keyboard-typing", loop: true, gain: 0.5}]
  speaking: {}
"""

SCRIPT = [(0.0, "agent.listening"), (2.0, "agent.thinking"), (5.5, "agent.speaking")]
CYCLE = 9.0  # seconds per scripted turn


def speed(scene_path: str | None, seconds: float, block: int, rate: int, channels: int) -> float:
    scene = load(scene_path) if scene_path else loads(OFFICE, str(Path.cwd() / "office.yaml"))
    plan = compile_scene(scene, rate=rate, channels=channels)
    eng = Engine(plan, seed=0, block=block)
    total = round(seconds * rate)
    turns = int(seconds // CYCLE) + 1
    for k in range(turns):
        for t, ev in SCRIPT:
            eng.post(ev, at=round((k * CYCLE + t) * rate))
    eng.render(block)  # warm-up: first-touch of buffers
    t0 = time.process_time()
    done = block
    while done < total:
        n = min(block, total - done)
        eng.render(n)
        done += n
    cpu = time.process_time() - t0
    return (done - block) / rate / cpu if cpu > 0 else float("inf")


BLOCKS = (480, 960, 4800, 48000)  # 10 ms, 20 ms, 100 ms, 1 s at 48 kHz


def run(quick: bool = False) -> dict[str, Any]:
    """``python -m bench engine``: docs/engine.md's table (3 minutes of audio per cell;
    ``quick``: 20 s), printed and saved as bench/out/engine.json."""
    seconds = 20.0 if quick else 180.0
    results = []
    for name in ("office", "showcase"):
        scene = str(common.ROOT / "scenes" / f"{name}.yaml")
        for block in BLOCKS:
            x = speed(scene, seconds, block, 48000, 1)
            results.append(
                {"scene": name, "block": block, "seconds": seconds, "realtime": round(x)}
            )
            print(
                f"engine {name:<9} block {block:>6} ({block / 48:6.1f} ms): {x:9.0f}× real time",
                flush=True,
            )
    data = {"machine": common.machine(), "quick": quick, "results": results}
    common.save("engine", data)
    return data


def main() -> None:
    ap = argparse.ArgumentParser(
        prog="python -m bench.parts.engine",
        description=__doc__,
        formatter_class=argparse.RawTextHelpFormatter,
    )
    ap.add_argument("scene", nargs="?", help="scene file (default: the built-in office scene)")
    ap.add_argument("--seconds", type=float, default=600.0, help="audio to render per run")
    ap.add_argument("--block", type=int, nargs="+", default=[480, 960, 4800, 48000])
    ap.add_argument("--rate", type=int, default=48000)
    ap.add_argument("--channels", type=int, default=1, choices=(1, 2))
    a = ap.parse_args()
    name = a.scene or "office (built in)"
    with common.private_cache():
        for block in a.block:
            x = speed(a.scene, a.seconds, block, a.rate, a.channels)
            ms = 1000 * block / a.rate
            print(f"{name}: block {block:>6} ({ms:6.1f} ms): {x:9.0f}× real time")


if __name__ == "__main__":
    main()
