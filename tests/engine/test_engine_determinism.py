"""Determinism and rewind: same seed → same bytes, snapshot/restore, block-size independence,
and a long session whose state stays bounded."""

from __future__ import annotations

import numpy as np
from support.audio_checks import scene_engine, sine

from soundscape.engine import StreamSource

R = 48000
CLIPS = {
    "bed.wav": sine(150, 1.7, 0.2),
    "t1.wav": sine(900, 0.4, 0.2),
    "t2.wav": sine(1100, 0.4, 0.2),
    "t3.wav": sine(1300, 0.3, 0.2),
    "chime.wav": sine(2000, 0.2, 0.2),
    "drop.wav": sine(3000, 0.1, 0.2),
}

BUSY = """
version: 1
sounds:
  typing:
    variants: [t1.wav, t2.wav, t3.wav]
    start: random
  chime: chime.wav
  drop: drop.wav
layers:
  bed: {source: bed.wav, gain: 0.5, duck: true}
states:
  idle: {}
  thinking:
    cues:
      - {sound: typing, loop: true, delay: [100ms, 600ms]}
    after:
      1500ms: {play: chime}
    layers:
      bed: 0.3
  speaking: {}
scatter:
  drops: {sound: drop, interval: [200ms, 900ms], gain: [0.2, 0.8], max_voices: 2}
"""

TIMELINE = [
    (0.3, "agent.thinking"),
    (2.2, "agent.speaking"),
    (3.1, "agent.thinking"),
    (3.4, "agent.speaking"),
    (4.0, "agent.idle"),
]


def _run(seed: int, block: int = 4800, seconds: float = 5.0) -> np.ndarray:
    eng = scene_engine(BUSY, CLIPS, seed=seed)
    for t, ev in TIMELINE:
        eng.post(ev, at=round(t * R))
    n = round(seconds * R)
    return np.concatenate([eng.render(min(block, n - i)) for i in range(0, n, block)])


def test_same_seed_gives_identical_bytes() -> None:
    assert _run(1).tobytes() == _run(1).tobytes()


def test_different_seeds_differ() -> None:
    a, b = _run(1), _run(2)
    assert a.shape == b.shape
    assert a.tobytes() != b.tobytes()


def test_output_does_not_depend_on_the_block_size() -> None:
    big = _run(3, block=5 * R)
    assert np.abs(big).max() < 0.89  # below the ceiling: the limiter is idle here
    for block in (480, 1000):
        assert _run(3, block=block).tobytes() == big.tobytes(), block
    # 7-frame blocks: a few thousand tiny blocks first, then the rest in big ones.
    assert _run_mixed(3).tobytes() == big.tobytes()


def _run_mixed(seed: int) -> np.ndarray:
    eng = scene_engine(BUSY, CLIPS, seed=seed)
    for t, ev in TIMELINE:
        eng.post(ev, at=round(t * R))
    parts = []
    sizes = [7] * 2000 + [R - 14000] + [5 * R - R]
    for n in sizes:
        parts.append(eng.render(n))
    return np.concatenate(parts)


def test_snapshot_restore_reproduces_identical_samples_mid_everything() -> None:
    eng = scene_engine(BUSY, CLIPS, seed=9)
    for t, ev in TIMELINE:
        eng.post(ev, at=round(t * R))
    eng.render(round(2.21 * R))  # inside the speaking entry: fades, ducks, pending events
    snap = eng.snapshot()
    state, voices = eng.state, eng.active_voices
    a = eng.render(3 * R)
    eng.restore(snap)
    assert eng.state == state and eng.active_voices == voices
    assert eng.position == round(2.21 * R)
    b = eng.render(3 * R)
    assert a.tobytes() == b.tobytes()
    assert np.abs(a).max() > 0.01


def test_rewind_and_apply_an_event_late_equals_applying_it_on_time() -> None:
    def on_time() -> np.ndarray:
        eng = scene_engine(BUSY, CLIPS, seed=4)
        eng.post("agent.thinking", at=30000)
        return np.concatenate([eng.render(24000) for _ in range(6)])

    # A live driver renders ahead, learns of the event later, rewinds and renders again.
    eng = scene_engine(BUSY, CLIPS, seed=4)
    first = eng.render(24000)
    snap = eng.snapshot()
    eng.render(48000)  # rendered ahead, never played
    eng.restore(snap)
    eng.post("agent.thinking", at=30000)
    late = np.concatenate([first] + [eng.render(24000) for _ in range(5)])
    assert late.tobytes() == on_time().tobytes()


def test_snapshot_restore_replays_a_stream_voice() -> None:
    eng = scene_engine("version: 1\n", {})
    src = StreamSource(1)
    src.push(sine(500, 1.0, 0.3))
    eng.play(src)
    eng.render(4800)
    snap = eng.snapshot()
    a = eng.render(9600)
    eng.restore(snap)
    b = eng.render(9600)
    assert a.tobytes() == b.tobytes()
    assert np.abs(a).max() > 0.29


def test_hour_long_session_keeps_voices_and_state_bounded() -> None:
    rate = 8000  # the engine is rate-agnostic; a low rate keeps this test light
    clips = {k: v[:: R // rate] for k, v in CLIPS.items()}
    eng = scene_engine(BUSY, clips, seed=0, rate=rate)
    cycle = ["agent.thinking", "agent.speaking", "agent.idle", "trigger.nothing", "agent.thinking"]
    max_voices = 0
    sizes: list[tuple[int, ...]] = []
    for second in range(3600):
        if second % 3 == 0:
            eng.post(cycle[(second // 3) % len(cycle)], at=eng.position + 1234)
        if second % 7 == 0:
            h = eng.play("chime")
            eng.stop(h, at=eng.position + 100)
        eng.render(rate)
        max_voices = max(max_voices, eng.active_voices)
        if second % 600 == 599:
            sizes.append(
                (
                    len(eng._queue),
                    len(eng._timers),
                    len(eng._picks),
                    len(eng.plan.loops),
                    len(eng.plan.extra),
                )
            )
    assert eng.position == 3600 * rate
    # Bed + typing loop (+ its fading predecessor) + chime + 2 drops + a stopping chime.
    assert max_voices <= 8
    assert eng.active_voices <= 8
    # Nothing accumulates: the containers are as small after an hour as after ten minutes.
    assert all(s == sizes[0] for s in sizes), sizes
    assert sizes[0][0] <= 2 and sizes[0][1] <= 1


def test_voice_count_returns_to_the_bed_after_cues_end() -> None:
    eng = scene_engine(BUSY.split("scatter:")[0], CLIPS)
    eng.post("agent.thinking")
    eng.post("agent.idle", at=3 * R)
    eng.play("chime", at=4 * R)
    eng.render(6 * R)
    assert eng.active_voices == 1


def test_a_long_stream_keeps_only_a_bounded_rewind_window() -> None:
    eng = scene_engine("version: 1\n", {})
    src = StreamSource(1)
    eng.play(src)
    chunk = sine(440, 1.0, 0.2)
    held = []
    for _ in range(60):
        src.push(chunk)
        eng.render(R)
        held.append(sum(d.shape[0] for _, d in src._chunks))
    assert max(held) <= 7 * R  # the 5 s rewind window plus what is queued ahead
    assert held[-1] == held[10]
    assert src.starved_frames == 0
