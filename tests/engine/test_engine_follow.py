"""`Engine.set_voice_loudness`: voice-relative levels follow a measured voice, gliding.

A voice-relative layer on a DC clip outputs one constant value at the reference, so its
output divided by that value *is* the follow gain: the glide can be read sample by sample.
Tones of distinct pitches show which layer moved.
"""

from __future__ import annotations

import numpy as np
import pytest
from support.audio_checks import db, dc, scene_engine, scene_plan, sine, tone_level

from soundscape.engine.core import FOLLOW_RANGE_DB

R = 48000
GLIDE = 0.5  # seconds (the scene's voice.glide)
N = round(GLIDE * R)
SETTLE = 480  # past the layers' 5 ms minimum fade-in

DC_SCENE = """
version: 1
voice: {loudness: auto, start: -20 LUFS, glide: 500ms}
sounds:
  bed: bed.wav
layers:
  bed: {sound: bed, level: voice -25 LU, fade_in: 0s}
states:
  idle: {}
"""

TONE_SCENE = """
version: 1
voice: {loudness: auto, start: -20 LUFS, glide: 500ms}
sounds:
  rel: rel.wav
  file: file.wav
  abs: abs.wav
layers:
  rel: {sound: rel, level: voice -25 LU, fade_in: 0s}
  file: {sound: file, level: file, fade_in: 0s}
  abs: {sound: abs, level: -40 LUFS, fade_in: 0s}
states:
  idle: {}
"""

F_REL, F_FILE, F_ABS = 1000.0, 1500.0, 700.0


def _dc_engine(seed: int = 0):
    """The DC bed past its (minimum, 5 ms) fade-in, and its value at the reference."""
    eng = scene_engine(DC_SCENE, {"bed.wav": dc(0.1, 4.0)}, seed=seed, levels=None)
    unit = float(eng.render(SETTLE)[-1, 0])
    return eng, unit


def _tone_engine():
    clips = {
        "rel.wav": sine(F_REL, 4.0, 0.3),
        "file.wav": sine(F_FILE, 4.0, 0.05),
        "abs.wav": sine(F_ABS, 4.0, 0.3),
    }
    return scene_engine(TONE_SCENE, clips, levels=None)


def _levels(x: np.ndarray) -> tuple[float, float, float]:
    return tone_level(x, F_REL), tone_level(x, F_FILE), tone_level(x, F_ABS)


def test_a_voice_6_db_louder_moves_only_the_voice_relative_layer_by_6_db() -> None:
    eng = _tone_engine()
    before = _levels(eng.render(R // 2)[R // 4 :])
    eng.set_voice_loudness(-14.0)  # the reference is -20 LUFS
    eng.render(N)
    after = _levels(eng.render(R // 4))
    assert db(after[0]) - db(before[0]) == pytest.approx(6.0, abs=0.05)
    # A file-level layer and an absolute-LUFS layer do not care how loud the voice is.
    assert after[1] == pytest.approx(before[1], rel=1e-3)
    assert after[2] == pytest.approx(before[2], rel=1e-3)
    assert eng.voice_loudness == -14.0


def test_the_glide_is_linear_and_has_no_steps() -> None:
    eng, unit = _dc_engine()
    eng.set_voice_loudness(-14.0)
    out = eng.render(N + R // 10)[:, 0] / unit
    g = 10 ** (6.0 / 20)
    # Linear in amplitude from 1 to 2× over the glide, then there for good.
    ideal = 1.0 + (g - 1.0) * np.minimum(np.arange(1, out.size + 1) / N, 1.0)
    assert np.max(np.abs(out - ideal)) < 1e-3
    per_10ms = 20 * np.log10(out[480::480] / out[:-480:480])
    assert per_10ms.max() < 0.5
    assert out[-1] == pytest.approx(g, rel=1e-4)


@pytest.mark.parametrize(("lufs", "expect_db"), [(0.0, FOLLOW_RANGE_DB), (-60.0, -FOLLOW_RANGE_DB)])
def test_a_measurement_far_off_moves_the_levels_at_most_12_db(
    lufs: float, expect_db: float
) -> None:
    eng, unit = _dc_engine()
    eng.set_voice_loudness(lufs)
    out = eng.render(N + R // 10)[:, 0] / unit
    assert db(float(out[-1])) == pytest.approx(expect_db, abs=0.01)


def test_a_later_measurement_glides_on_from_where_the_level_is() -> None:
    eng, unit = _dc_engine()
    eng.set_voice_loudness(-14.0)
    a = eng.render(N // 2)[:, 0] / unit
    eng.set_voice_loudness(-26.0)  # now 6 dB under the reference
    b = eng.render(N + R // 10)[:, 0] / unit
    assert abs(b[0] - a[-1]) < 2 * (10 ** (6 / 20) - 1) / N + 1e-6  # no jump at the change
    assert db(float(b[-1])) == pytest.approx(-6.0, abs=0.01)


def test_a_measurement_at_a_later_sample_starts_there() -> None:
    eng, unit = _dc_engine()
    eng.set_voice_loudness(-14.0, at=10_000)
    out = eng.render(20_000)[:, 0] / unit
    k = 10_000 - SETTLE
    assert np.all(out[:k] == pytest.approx(1.0, abs=1e-6))
    assert out[k] > 1.0 + 1e-6


def test_without_glide_the_level_jumps_there() -> None:
    eng, unit = _dc_engine()
    eng.set_voice_loudness(-14.0, glide=False)
    out = eng.render(R // 10)[:, 0] / unit
    assert out[0] == pytest.approx(10 ** (6 / 20), rel=1e-4)


def test_restoring_a_snapshot_mid_glide_renders_the_same_samples() -> None:
    eng, _ = _dc_engine()
    eng.render(1000)
    eng.set_voice_loudness(-14.0)
    eng.set_voice_loudness(-17.0, at=eng.position + N // 2)
    eng.render(N // 4)
    snap = eng.snapshot()
    first = eng.render(N)
    eng.restore(snap)
    assert np.array_equal(eng.render(N), first)
    assert eng.voice_loudness == -17.0


def test_how_the_render_is_cut_into_blocks_changes_nothing() -> None:
    def run(block: int) -> np.ndarray:
        eng = scene_engine(DC_SCENE, {"bed.wav": dc(0.1, 4.0)}, levels=None)
        eng.set_voice_loudness(-14.0, at=7_777)
        eng.set_voice_loudness(-23.0, at=7_777 + N // 3)
        out, total = [], 2 * N
        while total > 0:
            n = min(block, total)
            out.append(eng.render(n))
            total -= n
        return np.concatenate(out)

    ref = run(2 * N)
    for block in (7, 480, 4801, 19_200):
        assert np.array_equal(run(block), ref)


def test_an_edit_to_a_fixed_voice_reference_glides_back_from_the_measured_voice() -> None:
    eng, unit = _dc_engine()
    eng.set_voice_loudness(-14.0, glide=False)
    eng.render(480)
    fixed = DC_SCENE.replace("loudness: auto", "loudness: -20 LUFS")
    eng.adopt(scene_plan(fixed, {"bed.wav": dc(0.1, 4.0)}, levels=None), 480)
    out = eng.render(N + R // 10)[:, 0] / unit
    assert out[0] == pytest.approx(10 ** (6 / 20), rel=1e-3)  # no jump at the edit
    assert out[-1] == pytest.approx(1.0, rel=1e-4)  # the scene's -20 LUFS again
    assert eng.voice_loudness == -20.0
