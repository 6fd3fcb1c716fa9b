"""What a duck keyed by the voice signal costs: CPU per second of audio, one core (CPU time).

    .venv/bin/python -m bench voice_duck [--quick]

One bed (the office ambience) rendered in 10 ms blocks, as a live session does, four ways:
ducked by the speaking state (today's duck, the reference), keyed by the voice with no
key attached, with a key that is silent (read returns None), and with a voice present
(phrases of speech-like buzz with gaps between words and sentences, so the duck opens
and closes). The cost of voice ducking is the difference from the reference; a duck of
0 dB keyed by that voice isolates the detector (no duck ramp ever moves).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.lib import common
from soundscape.engine import ArrayVoiceKey, Engine, compile_scene
from soundscape.scene import loads

SCENE = """
version: 1
layers:
  room: {source: "builtin:office-ambience", gain: 0.3, duck: %s}
"""
RATE = 48000
BLOCK = 480


def _voice(seconds: float) -> np.ndarray:
    """Speech-like: 2.5 s phrases of 140 Hz buzz in 300 ms words, 1.5 s between phrases."""
    t = np.arange(round(seconds * RATE)) / RATE
    buzz = 0.2 * np.sin(2 * np.pi * 140 * t) * (0.6 + 0.4 * np.cos(2 * np.pi * 5 * t))
    in_phrase = (t % 4.0) < 2.5
    in_word = (t % 0.4) < 0.3
    return (buzz * (in_phrase & in_word)).astype(np.float32)


def cost(duck: str, key: str, seconds: float) -> float:
    """CPU seconds per second of audio."""
    scene = loads(SCENE % duck, str(Path.cwd() / "bench.yaml"))
    eng = Engine(compile_scene(scene, rate=RATE), seed=0, block=BLOCK)
    if key == "silent":
        eng.voice_key = ArrayVoiceKey(np.zeros(1, np.float32), at=1 << 40)
    elif key == "voice":
        eng.voice_key = ArrayVoiceKey(_voice(seconds + 1))
    eng.render(BLOCK)  # warm-up
    n = round(seconds * RATE) // BLOCK
    t0 = time.process_time()
    for _ in range(n):
        eng.render(BLOCK)
    return (time.process_time() - t0) / (n * BLOCK / RATE)


CASES = (
    ("speaking duck (reference)", "true", "none"),
    ("voice duck, no key", "voice", "none"),
    ("voice duck, silent key", "voice", "silent"),
    ("voice duck, voice present", "voice", "voice"),
    # Depth 0 dB: the detector runs and decides, but no duck ramp ever moves.
    ("voice detector alone", "{by: voice, depth: 0 dB}", "voice"),
)


def run(quick: bool = False) -> dict[str, Any]:
    seconds = 10.0 if quick else 60.0
    results = []
    ref = None
    for label, duck, key in CASES:
        c = min(cost(duck, key, seconds) for _ in range(3))  # the least disturbed of three
        ref = c if ref is None else ref
        results.append({"case": label, "cpu_ms_per_s": round(c * 1000, 3)})
        print(
            f"voice_duck {label:<28} {c * 1000:7.3f} ms CPU per s of audio "
            f"({(c - ref) * 1e6:+8.1f} µs vs the speaking duck)",
            flush=True,
        )
    data = {"machine": common.machine(), "quick": quick, "block": BLOCK, "results": results}
    common.save("voice_duck", data)
    return data
