"""Pools: weighted picks, avoid-repeat, shuffle, sequence, silence chance, start offsets, trim."""

from __future__ import annotations

import itertools
from collections import Counter

import numpy as np
import pytest
from support.audio_checks import chi_square, dc, onset, scene_engine, sine, tone_level

R = 48000
FREQS = {"v0.wav": 400, "v1.wav": 700, "v2.wav": 1000, "v3.wav": 1300}
CLIPS = {name: sine(f, 0.05, 0.5) for name, f in FREQS.items()}
CHI2_P001_DF2 = 13.82
CHI2_P001_DF3 = 16.27


def _scene(pool: str) -> str:
    return f"""
    version: 1
    master: {{max_voices: 256}}
    sounds:
      pool:
        {pool}
    """


def _picks(pool: str, n: int, seed: int = 0) -> list[str | None]:
    ev: list = []
    eng = scene_engine(_scene(pool), CLIPS, events=ev, seed=seed)
    for _ in range(n):
        eng.play("pool")
        eng.render(2400)
    out: list[str | None] = []
    for e in ev:
        if e.kind == "voice.start":
            out.append(e.data["source"])
        elif e.kind == "voice.silent":
            out.append(None)
    assert len(out) == n
    return out


def test_weighted_random_follows_declared_weights() -> None:
    pool = "variants: [{source: v0.wav, weight: 1}, {source: v1.wav, weight: 2}, {source: v2.wav, weight: 5}]"
    picks = Counter(_picks(pool, 1600))
    weights = {"v0.wav": 1, "v1.wav": 2, "v2.wav": 5}
    assert chi_square(picks, weights) < CHI2_P001_DF2
    # The test has power: the same counts clearly reject equal weights.
    assert chi_square(picks, {"v0.wav": 1, "v1.wav": 1, "v2.wav": 1}) > 10 * CHI2_P001_DF2


def test_the_picked_variant_is_what_sounds() -> None:
    ev: list = []
    pool = "variants: [v0.wav, v1.wav, v2.wav, v3.wav]"
    eng = scene_engine(_scene(pool), CLIPS, events=ev, seed=3)
    for _ in range(8):
        eng.play("pool")
        out = eng.render(2400)
        src = next(e for e in reversed(ev) if e.kind == "voice.start").data["source"]
        levels = {f: tone_level(out[240:2160], f) for f in FREQS.values()}
        assert max(levels, key=levels.__getitem__) == FREQS[src]


def test_avoid_repeat_never_repeats_within_n() -> None:
    pool = "variants: [v0.wav, v1.wav, v2.wav, v3.wav]\n        avoid_repeat: 2"
    picks = _picks(pool, 600, seed=7)
    for i in range(2, len(picks)):
        assert picks[i] not in picks[i - 2 : i]
    assert set(picks) == set(FREQS)


def test_shuffle_plays_every_variant_before_repeating() -> None:
    pool = "variants: [v0.wav, v1.wav, v2.wav, v3.wav]\n        pick: shuffle"
    picks = _picks(pool, 400, seed=11)
    rounds = [picks[i : i + 4] for i in range(0, 400, 4)]
    assert all(sorted(r) == sorted(FREQS) for r in rounds)  # type: ignore[type-var]
    assert all(a != b for a, b in itertools.pairwise(picks))  # not even across rounds
    assert len({tuple(r) for r in rounds}) > 10  # and rounds are actually shuffled


def test_sequence_plays_in_declared_order() -> None:
    pool = "variants: [v2.wav, v0.wav, v1.wav]\n        pick: sequence"
    assert _picks(pool, 9) == ["v2.wav", "v0.wav", "v1.wav"] * 3


def test_silence_chance_frequency() -> None:
    pool = "variants: [v0.wav, v1.wav]\n        silence: 30%"
    picks = _picks(pool, 2000, seed=5)
    silent = sum(p is None for p in picks)
    sd = (2000 * 0.3 * 0.7) ** 0.5
    assert abs(silent - 600) < 4 * sd


def test_silent_pick_plays_nothing_and_its_handle_is_done() -> None:
    eng = scene_engine(_scene("source: v0.wav\n        silence: 1.0"), CLIPS)
    h = eng.play("pool")
    assert onset(eng.render(4800)) is None
    assert not eng.is_active(h)


def test_fixed_start_offset_and_trim() -> None:
    ramp = (np.arange(R, dtype=np.float32) / R)[:, None]  # value = position in the file
    scene = """
    version: 1
    sounds:
      s: {source: r.wav, start: 100ms, trim: {start: 250ms, end: 750ms}}
    """
    eng = scene_engine(scene, {"r.wav": ramp})
    eng.play("s", at=1000)
    out = eng.render(R)[:, 0]
    # After the 5 ms fade-in, sample k of the voice is file position 0.25 s + 0.1 s + k.
    k = 1000
    assert out[1000 + k] == pytest.approx((0.35 * R + k) / R, abs=1e-5)
    # The voice ends where the trim ends: 0.75 s in the file, 0.4 s after it started.
    assert out[1000 + round(0.4 * R) - 1] == 0.0
    assert out[1000 + round(0.4 * R) - 300] > 0.7


def test_random_start_offsets_differ_between_plays_and_by_seed() -> None:
    ramp = (np.arange(R, dtype=np.float32) / R)[:, None]
    scene = "version: 1\nsounds:\n  s: {source: r.wav, start: random}\n"

    def starts(seed: int) -> list[float]:
        eng = scene_engine(scene, {"r.wav": ramp}, seed=seed)
        vals = []
        for _ in range(5):
            h = eng.play("s")
            out = eng.render(480)
            vals.append(round(float(out[300, 0]), 4))
            eng.stop(h)
            eng.render(480)
        return vals

    a = starts(1)
    assert len(set(a)) == 5
    assert a == starts(1)
    assert a != starts(2)


def test_range_start_offset_is_within_range() -> None:
    ramp = (np.arange(R, dtype=np.float32) / R)[:, None]
    scene = "version: 1\nsounds:\n  s: {source: r.wav, start: [200ms, 300ms]}\n"
    eng = scene_engine(scene, {"r.wav": ramp}, seed=4)
    for _ in range(30):
        h = eng.play("s")
        out = eng.render(480)
        pos = out[300, 0] * R - 300
        assert 0.2 * R - 1 <= pos <= 0.3 * R + 1
        eng.stop(h)
        eng.render(480)


def test_sound_gain_and_variant_gain_multiply() -> None:
    scene = """
    version: 1
    sounds:
      s: {variants: [{source: d.wav, gain: 0.5}], gain: 0.5}
    """
    eng = scene_engine(scene, {"d.wav": dc(0.8, 0.5)})
    eng.play("s", gain=0.5)
    assert eng.render(4800)[1000, 0] == pytest.approx(0.8 * 0.125, abs=1e-6)


# --- weight 0: never ---------------------------------------------------------------


@pytest.mark.parametrize(
    "extra",
    ["", "\n        avoid_repeat: 1", "\n        avoid_repeat: 2", "\n        pick: shuffle",
     "\n        pick: sequence"],
)  # fmt: skip
def test_a_variant_of_weight_zero_is_never_picked(extra: str) -> None:
    pool = "variants: [v0.wav, {source: v1.wav, weight: 0}, {source: v2.wav, weight: 3}]" + extra
    picks = _picks(pool, 400, seed=13)
    assert "v1.wav" not in picks
    assert set(picks) == {"v0.wav", "v2.wav"}


def test_a_variant_of_weight_zero_is_never_heard() -> None:
    ev: list = []
    pool = "variants: [v0.wav, {source: v1.wav, weight: 0}]\n        avoid_repeat: 1"
    eng = scene_engine(_scene(pool), CLIPS, events=ev, seed=2)
    for _ in range(60):
        eng.play("pool")
        out = eng.render(2400)
        assert tone_level(out[240:2160], FREQS["v1.wav"]) < 1e-3
        assert tone_level(out[240:2160], FREQS["v0.wav"]) > 0.1


def test_a_pool_whose_weights_are_all_zero_stays_silent() -> None:
    scene = """
    version: 1
    master: {max_voices: 256}
    sounds:
      none:
        variants: [{source: v0.wav, weight: 0}, {source: v1.wav, weight: 0}]
      shuffled:
        variants: [{source: v2.wav, weight: 0}]
        pick: shuffle
    layers:
      bed: {sound: none}
    states:
      idle:
        cues: [{sound: shuffled, loop: true}]
    scatter:
      drops: {sound: none, interval: [50ms, 100ms]}
    """
    ev: list = []
    eng = scene_engine(scene, CLIPS, events=ev, seed=4)
    h = eng.play("none")
    out = eng.render(R)
    assert onset(out) is None  # nothing at all: the layer, the cue, scatter, play()
    assert not eng.is_active(h)
    assert not [e for e in ev if e.kind == "voice.start"]
    silent = Counter(e.data["kind"] for e in ev if e.kind == "voice.silent")
    assert silent["cue"] == 1 and silent["play"] == 1  # the layer's came before `events`
    assert eng.active_voices == 0
    assert silent["scatter"] >= 5
