"""Scatter: spawn intervals within the declared range, the per-scatter voice cap, allowed states."""

from __future__ import annotations

import numpy as np
from support.audio_checks import dc, scene_engine, sine, tone_level

R = 48000


def _scene(interval: str, max_voices: int, states: str = "") -> str:
    return f"""
    version: 1
    sounds: {{blip: blip.wav}}
    states:
      idle: {{}}
      thinking: {{}}
    scatter:
      blips: {{sound: blip, interval: {interval}, gain: [0.2, 0.6], max_voices: {max_voices}{states}}}
    """


def _starts(ev: list) -> list:
    return [e for e in ev if e.kind == "voice.start" and e.data["kind"] == "scatter"]


def test_spawn_intervals_stay_within_the_range() -> None:
    ev: list = []
    eng = scene_engine(_scene("[100ms, 300ms]", 4), {"blip.wav": dc(0.1, 0.02)}, events=ev)
    eng.render(60 * R)
    at = np.array([e.at for e in _starts(ev)])
    gaps = np.diff(at)
    assert len(at) > 150
    assert gaps.min() >= 0.1 * R and gaps.max() <= 0.3 * R
    # Drawn across the whole range, not stuck at one value.
    assert gaps.min() < 0.12 * R and gaps.max() > 0.28 * R
    assert at[0] <= 0.3 * R


def test_spawn_gain_is_drawn_from_its_range() -> None:
    eng = scene_engine(_scene("[100ms, 100ms]", 1), {"blip.wav": dc(1.0, 0.02)})
    out = eng.render(10 * R)[:, 0]
    levels = [out[k * 4800 + 480] for k in range(1, 100)]
    assert min(levels) >= 0.2 - 1e-6 and max(levels) <= 0.6 + 1e-6
    assert max(levels) - min(levels) > 0.2


def test_scatter_never_plays_more_than_max_voices() -> None:
    ev: list = []
    clip = sine(700, 1.0, 0.1)  # 1 s long, spawning every 50-150 ms
    eng = scene_engine(_scene("[50ms, 150ms]", 3), {"blip.wav": clip}, events=ev)
    eng.render(20 * R)
    timeline = sorted(
        [(e.at, 1) for e in _starts(ev)]
        + [(e.at, -1) for e in ev if e.kind == "voice.stop" and e.data["kind"] == "scatter"]
    )
    live = peak = 0
    for _, d in timeline:
        live += d
        peak = max(peak, live)
    assert peak == 3
    assert len(_starts(ev)) > 20


def test_scatter_only_spawns_in_its_states() -> None:
    ev: list = []
    scene = _scene("[100ms, 200ms]", 2, ", states: [thinking]")
    eng = scene_engine(scene, {"blip.wav": sine(1500, 0.05, 0.5)}, events=ev)
    eng.post("agent.thinking", at=2 * R)
    eng.post("agent.idle", at=4 * R)
    out = eng.render(6 * R)
    at = [e.at for e in _starts(ev)]
    assert at and all(2 * R < t < 4 * R for t in at)
    assert tone_level(out[: 2 * R], 1500) < 1e-4
    assert tone_level(out[int(4.1 * R) :], 1500) < 1e-4
    assert tone_level(out[2 * R : 4 * R], 1500) > 1e-3


def test_stereo_scatter_pan_is_drawn_from_its_range() -> None:
    scene = """
    version: 1
    sounds: {blip: blip.wav}
    scatter:
      blips: {sound: blip, interval: [100ms, 100ms], pan: [-1, -0.5], max_voices: 1}
    """
    eng = scene_engine(scene, {"blip.wav": dc(0.3, 0.02)}, channels=2)
    out = eng.render(5 * R)
    loud = out[np.abs(out).max(axis=1) > 0.01]
    assert len(loud) > 0
    assert np.all(np.abs(loud[:, 0]) > np.abs(loud[:, 1]))  # always on the left
    assert np.abs(loud[:, 1]).max() > 0.0  # but not always hard left
