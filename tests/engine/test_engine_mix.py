"""The mix: limiter ceiling, ducking, per-state layer levels, loop seams, voice cap and steals."""

from __future__ import annotations

import math

import numpy as np
import pytest
from support.audio_checks import (
    CEILING_1DB,
    clicks,
    db,
    dc,
    peak,
    rms,
    scene_engine,
    sine,
    step_bound,
    tone_level,
)

R = 48000


def test_ten_loud_layers_never_pass_minus_one_dbfs() -> None:
    freqs = [110 * (i + 1) * 1.07 for i in range(10)]
    clips = {f"l{i}.wav": sine(f, 1.3, 0.9, phase=i) for i, f in enumerate(freqs)}
    layers = "\n".join(
        f"  l{i}: {{source: l{i}.wav, fade_in: 0, gain: '+3 dB'}}" for i in range(10)
    )
    eng = scene_engine(f"version: 1\nlayers:\n{layers}\n", clips)
    out = np.concatenate([eng.render(4800) for _ in range(40)])
    assert peak(out) <= CEILING_1DB
    assert peak(out) > 0.85  # the limiter holds the level up near the ceiling, not far below
    assert np.isfinite(out).all()


def test_limiter_is_transparent_below_the_ceiling() -> None:
    clips = {"a.wav": sine(300, 1.0, 0.4), "b.wav": sine(700, 1.0, 0.4)}
    scene = (
        "version: 1\nlayers:\n  a: {source: a.wav, fade_in: 0}\n  b: {source: b.wav, fade_in: 0}\n"
    )
    eng = scene_engine(scene, clips)
    out = eng.render(R // 2)
    expected = clips["a.wav"][: R // 2] + clips["b.wav"][: R // 2]
    # Apart from the 5 ms minimum fade-in, the output is exactly the sum.
    np.testing.assert_allclose(out[240:], expected[240:], atol=1e-6)


def test_limiter_recovers_after_a_loud_cue_without_clicks() -> None:
    clips = {"bed.wav": sine(200, 4.0, 0.3), "bang.wav": sine(1000, 0.2, 0.9)}
    scene = """
    version: 1
    sounds: {bang: bang.wav}
    layers:
      bed: {source: bed.wav, fade_in: 0}
    """
    eng = scene_engine(scene, clips)
    eng.play("bang", at=R // 2)
    out = eng.render(2 * R)
    assert peak(out) <= CEILING_1DB
    assert clicks(out, material_step=step_bound([(0.3, 200), (0.9, 1000)])) == []
    # A second after the cue the bed is back at its own level.
    assert tone_level(out[R + R // 2 :], 200) == pytest.approx(0.3, abs=0.01)


DUCK = """
version: 1
layers:
  bed: {source: bed.wav, fade_in: 0, duck: {depth: -12 dB, attack: 80ms, release: 600ms}}
  music: {source: bed.wav, fade_in: 0, gain: 0}
states:
  idle: {}
"""


def test_ducking_depth_and_timing() -> None:
    eng = scene_engine(DUCK, {"bed.wav": dc(0.5, 1.0)})
    t0, t1 = 4800, 48000
    eng.post("agent.speaking", at=t0)
    eng.post("agent.listening", at=t1)
    out = eng.render(2 * R)[:, 0]
    depth = 10 ** (-12 / 20)
    attack, release = round(0.08 * R), round(0.6 * R)
    assert out[t0 - 1] == pytest.approx(0.5)
    # Equal-power attack: cos-shaped from 1 to depth, exactly at depth after `attack`.
    k = np.arange(attack)
    want = depth + (1 - depth) * np.cos((k + 1) / attack * math.pi / 2)
    np.testing.assert_allclose(out[t0 : t0 + attack] / 0.5, want, atol=1e-5)
    assert out[t0 + attack : t1] == pytest.approx(0.5 * depth, abs=1e-6)
    # Released over `release`, back to full level.
    assert out[t1 + release // 2] / 0.5 == pytest.approx(
        depth + (1 - depth) * math.sqrt(0.5), abs=1e-3
    )
    assert out[t1 + release :] == pytest.approx(0.5, abs=1e-6)


def test_a_ducked_voice_started_during_speech_starts_at_depth() -> None:
    scene = """
    version: 1
    sounds: {tick: bed.wav}
    states:
      idle: {}
      speaking:
        cues: [{sound: tick, duck: -20 dB}]
    """
    eng = scene_engine(scene, {"bed.wav": dc(0.5, 1.0)})
    eng.post("agent.speaking")
    out = eng.render(R // 2)[:, 0]
    assert out[1000] == pytest.approx(0.05, abs=1e-5)


LEVELS = """
version: 1
layers:
  room: {source: bed.wav, gain: 0.5, fade_in: 0, ramp: 400ms}
states:
  idle: {}
  thinking:
    layers:
      room: {gain: 0.1, ramp: 200ms}
  speaking:
    layers:
      room: 0.25
"""


def test_per_state_layer_level_ramps_and_returns() -> None:
    eng = scene_engine(LEVELS, {"bed.wav": dc(1.0, 1.0)})
    eng.post("agent.thinking", at=R // 2)
    eng.post("agent.speaking", at=R)
    eng.post("agent.idle", at=2 * R)
    out = eng.render(3 * R)[:, 0]
    assert out[R // 2 - 1] == pytest.approx(0.5)
    assert out[R // 2 + round(0.2 * R) - 1] == pytest.approx(0.1, abs=1e-6)  # override ramp
    assert out[R - 1] == pytest.approx(0.1, abs=1e-6)
    assert out[R + round(0.4 * R) - 1] == pytest.approx(0.25, abs=1e-6)  # layer's own ramp
    assert out[2 * R + round(0.4 * R) :] == pytest.approx(0.5, abs=1e-6)  # back to the layer gain
    # Monotonic ramps: no overshoot when going down or up.
    seg = out[R // 2 : R // 2 + round(0.2 * R)]
    assert np.all(np.diff(seg) <= 1e-7)


def test_state_ramps_on_a_tone_bed_do_not_click() -> None:
    eng = scene_engine(LEVELS, {"bed.wav": sine(440, 1.0, 1.0)})
    for i, ev in enumerate(["agent.thinking", "agent.speaking", "agent.idle", "agent.thinking"]):
        eng.post(ev, at=R // 3 * (i + 1) + 17)
    out = eng.render(2 * R)
    assert clicks(out, material_step=step_bound([(0.5, 440)])) == []


def test_loop_seam_of_a_noise_bed_keeps_its_level_and_does_not_click() -> None:
    rng = np.random.default_rng(1)
    noise = (rng.standard_normal((R // 2, 1)) * 0.1).astype(np.float32)
    scene = "version: 1\nlayers:\n  bed: {source: n.wav, fade_in: 0, crossfade: 100ms}\n"
    eng = scene_engine(scene, {"n.wav": noise})
    out = eng.render(3 * R)
    level = rms(noise)
    win = 2400
    for i in range(1, 3 * R // win - 1):
        assert abs(db(rms(out, i * win, (i + 1) * win)) - db(level)) < 1.5
    # White noise steps are large on their own; the seam must not add a bigger one.
    assert max(np.abs(np.diff(out[:, 0]))) <= np.abs(np.diff(noise[:, 0])).max() * 1.2


def test_loop_seam_of_a_tone_that_does_not_fit_its_length_does_not_click() -> None:
    tone = sine(437.3, 0.77, 0.5)  # the raw seam jumps
    raw = np.concatenate([tone, tone])
    bound = step_bound([(0.5, 437.3)])
    assert clicks(raw, material_step=bound) != []  # the detector sees a naive loop's seam
    scene = "version: 1\nlayers:\n  bed: {source: t.wav, fade_in: 0, crossfade: 50ms}\n"
    eng = scene_engine(scene, {"t.wav": tone})
    out = eng.render(4 * R)
    assert clicks(out, material_step=bound) == []


STEAL = """
version: 1
master: {max_voices: 3}
sounds:
  t1: t1.wav
  t2: t2.wav
  t3: t3.wav
  t4: t4.wav
layers:
  bed: {source: bed.wav, fade_in: 0}
"""


def test_voice_cap_steals_the_oldest_cue_with_a_short_fade_and_no_click() -> None:
    clips = {f"t{i}.wav": sine(300 + 200 * i, 2.0, 0.2, phase=1.0) for i in range(1, 5)}
    clips["bed.wav"] = sine(100, 2.0, 0.2)
    ev: list = []
    eng = scene_engine(STEAL, clips, events=ev)
    for i in range(1, 5):
        eng.play(f"t{i}", at=R // 10 * i)
    out = eng.render(R)
    steals = [e for e in ev if e.kind == "voice.steal"]
    # Bed + t1 + t2 fill the cap of 3: t3 steals t1, t4 steals t2; the bed is never stolen.
    assert [e.name for e in steals] == ["t1", "t2"]
    assert eng.active_voices == 3
    tail = out[R // 2 :]
    assert tone_level(tail, 500) < 1e-3 and tone_level(tail, 700) < 1e-3
    assert tone_level(tail, 900) == pytest.approx(0.2, abs=0.01)
    assert tone_level(tail, 100) == pytest.approx(0.2, abs=0.01)
    bound = step_bound([(0.2, f) for f in (100, 500, 700, 900, 1100)])
    assert clicks(out, material_step=bound) == []


def test_master_gain_scales_the_output() -> None:
    scene = "version: 1\nmaster: {gain: -6 dB}\nlayers:\n  bed: {source: b.wav, fade_in: 0}\n"
    eng = scene_engine(scene, {"b.wav": dc(0.5, 1.0)})
    out = eng.render(R // 2)
    assert out[1000, 0] == pytest.approx(0.5 * 10 ** (-6 / 20), abs=1e-6)


def test_stereo_pan_places_a_voice() -> None:
    scene = "version: 1\nlayers:\n  l: {source: b.wav, fade_in: 0, pan: -1}\n  r: {source: c.wav, fade_in: 0, pan: 0.5}\n"
    clips = {"b.wav": sine(400, 1.0, 0.3), "c.wav": sine(800, 1.0, 0.3)}
    eng = scene_engine(scene, clips, channels=2)
    out = eng.render(R // 2)
    assert out.shape == (R // 2, 2)
    assert tone_level(out, 400, channel=1) < 1e-4
    assert tone_level(out, 400, channel=0) > 0.3
    assert tone_level(out, 800, channel=1) > tone_level(out, 800, channel=0) > 0.05


def test_initial_state_level_applies_from_the_start_without_a_ramp() -> None:
    scene = """
    version: 1
    layers:
      room: {source: bed.wav, gain: 0.5, fade_in: 100ms, ramp: 2s}
    states:
      idle:
        layers: {room: 0.1}
    """
    eng = scene_engine(scene, {"bed.wav": dc(1.0, 1.0)})
    out = eng.render(R // 2)[:, 0]
    assert out[4799] == pytest.approx(0.1, abs=1e-6)
    assert out.max() == pytest.approx(0.1, abs=1e-6)


def test_limiting_a_loud_cue_does_not_pump_the_bed() -> None:
    clips = {"bed.wav": sine(200, 3.0, 0.3), "hit.wav": sine(1200, 0.25, 0.7)}
    scene = """
    version: 1
    sounds: {hit: hit.wav}
    layers:
      bed: {source: bed.wav, fade_in: 0}
    """
    eng = scene_engine(scene, clips)
    for k in range(8):
        eng.play("hit", at=R // 4 + k * R // 2)
    out = eng.render(5 * R)
    assert peak(out) <= CEILING_1DB
    # The sum peaks at 1.0 (1 dB over): the bed may dip by about that much, never more.
    track = [tone_level(out[i : i + 2400], 200) for i in range(0, 5 * R - 2400, 2400)]
    assert min(db(x) for x in track) > db(0.3) - 1.6
    assert clicks(out, material_step=step_bound([(0.3, 200), (0.7, 1200)])) == []


def test_a_failing_event_listener_does_not_break_rendering() -> None:
    eng = scene_engine(LEVELS, {"bed.wav": dc(1.0, 1.0)})

    def boom(_e: object) -> None:
        raise RuntimeError("listener bug")

    eng.on_event = boom
    eng.post("agent.thinking")
    out = eng.render(R)
    assert eng.state == "thinking"
    assert out[-1, 0] == pytest.approx(0.1, abs=1e-6)


def test_limiter_catches_a_loud_stream_whose_peak_is_unknown() -> None:
    from soundscape.engine import StreamSource

    scene = "version: 1\nlayers:\n  b: {source: b.wav, fade_in: 0}\n"
    eng = scene_engine(scene, {"b.wav": sine(200, 1.0, 0.3)})
    src = StreamSource(1)
    src.push(sine(700, 1.0, 0.95))
    eng.play(src, gain=0.0)  # silent at first: its bound must not read as "quiet" (inf × 0)
    h = eng.play(src)
    out = eng.render(R // 2)
    assert peak(out) <= CEILING_1DB
    assert peak(out) > 0.85
    assert eng.is_active(h)


def test_limiting_does_not_depend_on_where_blocks_are_cut() -> None:
    clips = {f"l{i}.wav": sine(150 + 110 * i, 1.0, 0.5, phase=i) for i in range(4)}
    layers = "\n".join(f"  l{i}: {{source: l{i}.wav, fade_in: 0}}" for i in range(4))
    scene = f"version: 1\nlayers:\n{layers}\n"
    whole = scene_engine(scene, clips).render(R)
    eng = scene_engine(scene, clips)
    parts = np.concatenate([eng.render(n) for n in (1, 7, 480, 1000, 33, R - 1521)])
    assert peak(whole) <= CEILING_1DB and peak(whole) > 0.85
    np.testing.assert_allclose(parts, whole, atol=1e-6)
