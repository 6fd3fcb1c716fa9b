"""Properties over random timelines: block-size independence, rewind exactness, bounded output."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.audio_checks import CEILING_1DB, scene_engine, sine

R = 16000  # a low rate keeps each example cheap; nothing in the engine depends on it
CLIPS = {
    "bed.wav": sine(150, 0.9, 0.2, rate=R),
    "a.wav": sine(900, 0.3, 0.2, rate=R),
    "b.wav": sine(1300, 0.2, 0.2, rate=R),
    "c.wav": sine(400, 0.05, 0.3, rate=R),
}
SCENE = """
version: 1
master: {max_voices: 6}
sounds:
  ab: {variants: [a.wav, b.wav], avoid_repeat: 1, start: random}
  c: {source: c.wav, silence: 20%}
layers:
  bed: {source: bed.wav, gain: 0.5, duck: {depth: -9 dB, attack: 30ms, release: 200ms}}
states:
  idle: {}
  thinking:
    cues: [{sound: ab, loop: true, delay: [0ms, 200ms], fade_in: 50ms}]
    after: {300ms: {play: c}, 700ms: {goto: idle}}
    layers: {bed: 0.2}
  speaking: {}
transitions:
  - {on: tool.started, play: c}
scatter:
  drops: {sound: c, interval: [50ms, 250ms], max_voices: 3, states: [idle, speaking]}
"""
EVENTS = ["agent.thinking", "agent.speaking", "agent.idle", "tool.started", "user.speaking"]

timelines = st.lists(
    st.tuples(st.integers(0, 2 * R), st.sampled_from(EVENTS)), min_size=0, max_size=12
)
cuts = st.lists(st.integers(1, R // 2), min_size=1, max_size=30)
FAST = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _engine(timeline, seed=0):
    eng = scene_engine(SCENE, CLIPS, seed=seed, rate=R)
    for at, ev in timeline:
        eng.post(ev, {"tool": "x"}, at=at)
    return eng


def _render(eng, sizes, total):
    parts, done, i = [], 0, 0
    while done < total:
        n = min(sizes[i % len(sizes)], total - done)
        parts.append(eng.render(n))
        done += n
        i += 1
    return np.concatenate(parts)


@FAST
@given(timeline=timelines, sizes=cuts, seed=st.integers(0, 3))
def test_any_block_partition_gives_the_same_bytes(timeline, sizes, seed) -> None:
    total = 3 * R
    whole = _engine(timeline, seed).render(total)
    parts = _render(_engine(timeline, seed), sizes, total)
    assert np.isfinite(whole).all()
    assert np.abs(whole).max() <= CEILING_1DB
    if np.abs(whole).max() < 0.85:  # limiter idle: exact
        assert parts.tobytes() == whole.tobytes()
    else:  # limiting: the same gain curve, up to float rounding of its closed form
        np.testing.assert_allclose(parts, whole, atol=1e-6)


@FAST
@given(timeline=timelines, at=st.integers(0, 2 * R), ahead=st.integers(1, R))
def test_restore_then_render_repeats_exactly(timeline, at, ahead) -> None:
    eng = _engine(timeline)
    eng.render(at)
    snap = eng.snapshot()
    state, voices = eng.state, eng.active_voices
    first = eng.render(ahead)
    eng.render(R // 3)  # wander further before rewinding
    eng.restore(snap)
    assert (eng.position, eng.state, eng.active_voices) == (at, state, voices)
    assert eng.render(ahead).tobytes() == first.tobytes()


@FAST
@given(timeline=timelines)
def test_live_voices_never_exceed_the_cap(timeline) -> None:
    eng = _engine(timeline)
    for _ in range(60):
        eng.render(R // 20)
        live = sum(1 for v in eng._voices.values() if v.ends_at is None)
        assert live <= 6
