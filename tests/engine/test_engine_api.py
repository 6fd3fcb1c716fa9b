"""The engine's public API at its edges: real files and built-ins, asset errors, bad arguments,
the event record a timeline is built from, stop_all."""

from __future__ import annotations

import math

import numpy as np
import pytest
from support.audio_checks import dc, onset, scene_engine, sine, tone_level, write_wav

from soundscape.audio.analysis import integrated_loudness
from soundscape.engine import Engine, compile_scene
from soundscape.errors import AssetError
from soundscape.scene import load, loads

R = 48000


def test_scene_with_real_files_compiles_and_plays(tmp_path) -> None:
    write_wav(tmp_path / "bed.wav", sine(220, 1.0, 0.4))
    scene = loads(
        "version: 1\nlayers:\n  bed: {source: bed.wav, fade_in: 0}\n", str(tmp_path / "s.yaml")
    )
    eng = Engine(compile_scene(scene), seed=0)
    out = eng.render(2 * R)
    # No level given: a bed plays 25 LU under the default -20 LUFS voice.
    assert integrated_loudness(out, R) == pytest.approx(-45.0, abs=0.5)
    assert tone_level(out[R // 4 :], 220) > 0.001


def test_missing_file_is_an_asset_error_naming_it(tmp_path) -> None:
    scene = loads("version: 1\nsounds:\n  s: nope.wav\n", str(tmp_path / "s.yaml"))
    with pytest.raises(AssetError) as e:
        compile_scene(scene)
    assert str(tmp_path / "nope.wav") in str(e.value)
    assert "not found" in str(e.value)


def test_asset_error_says_which_sound_needs_the_file_and_where(tmp_path) -> None:
    write_wav(tmp_path / "a.wav", dc(0.1, 0.1))
    path = tmp_path / "s.yaml"
    path.write_text(
        "version: 1\nsounds:\n  typing:\n    variants: [a.wav, gone.wav]\n"
        "layers:\n  bed: {source: a.wav}\n"
    )
    with pytest.raises(AssetError) as e:
        compile_scene(load(path))
    assert str(e.value).startswith(f"{tmp_path / 'gone.wav'}: file not found")
    assert f"needed by sound 'typing' at {path}:4:23" in str(e.value)
    path.write_text("version: 1\nlayers:\n  bed: {source: gone.wav}\n")
    with pytest.raises(AssetError, match=rf"needed by layers/bed at {path}:3:17"):
        compile_scene(load(path))


def test_corrupt_file_is_an_asset_error_naming_it(tmp_path) -> None:
    (tmp_path / "bad.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk" * 10)
    scene = loads("version: 1\nsounds:\n  s: bad.wav\n", str(tmp_path / "s.yaml"))
    with pytest.raises(AssetError, match=r"bad\.wav"):
        compile_scene(scene)


def test_play_a_builtin_clip() -> None:
    eng = Engine(compile_scene(loads("version: 1\n")), seed=0)
    h = eng.play("builtin:chime")
    out = eng.render(R)
    assert onset(out, 1e-4) is not None and onset(out, 1e-4) < 480
    assert np.abs(out).max() > 0.05
    assert eng.is_active(h) or onset(out[R // 2 :], 1e-4) is None


def test_bad_arguments_get_clear_errors() -> None:
    eng = scene_engine("version: 1\nsounds: {s: s.wav}\n", {"s.wav": dc(0.1, 0.1)})
    with pytest.raises(ValueError, match="frames >= 0"):
        eng.render(-1)
    with pytest.raises(ValueError, match="gain must be a finite number"):
        eng.play("s", gain=math.nan)
    with pytest.raises(ValueError, match="fade_in"):
        eng.play("s", fade_in=-1)
    with pytest.raises(ValueError, match="fade must be"):
        eng.stop(1, fade=math.inf)
    with pytest.raises(TypeError, match="event name"):
        eng.post(None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="block"):
        Engine(eng.plan, block=0)
    assert eng.render(0).shape == (0, 1)
    eng.stop(12345)  # an unknown or finished handle is a no-op


def test_unknown_events_are_reported_and_ignored() -> None:
    ev: list = []
    eng = scene_engine("version: 1\nstates:\n  idle: {}\n", {}, events=ev)
    eng.post("agent.dancing", {"x": 1})
    eng.render(10)
    assert eng.state == "idle"
    assert [(e.kind, e.name, e.data["known"]) for e in ev if e.kind == "event"] == [
        ("event", "agent.dancing", False)
    ]


TIMELINE = """
version: 1
sounds: {typing: t.wav, chime: c.wav}
layers:
  bed: {source: b.wav}
states:
  listening: {}
  thinking:
    cues: [{sound: typing, loop: true, delay: 100ms}]
    after: {500ms: {play: chime}}
"""


def test_events_describe_the_timeline_for_plots_and_summaries() -> None:
    ev: list = []
    clips = {"t.wav": dc(0.1, 0.3), "c.wav": dc(0.1, 0.2), "b.wav": dc(0.1, 1.0)}
    eng = scene_engine(TIMELINE, clips, events=ev)
    eng.post("agent.thinking", at=R)
    eng.post("agent.listening", at=2 * R)
    eng.render(3 * R)
    got = [(e.kind, e.name, e.at, e.data.get("kind")) for e in ev]
    assert got == [
        ("state", "listening", 0, None),
        ("voice.start", "b.wav", 0, "layer"),
        ("event", "agent.thinking", R, None),
        ("state", "thinking", R, None),
        ("voice.start", "typing", R + 4800, "cue"),
        ("voice.start", "chime", R + 24000, "cue"),
        ("voice.stop", "chime", R + 24000 + 9600, "cue"),
        ("event", "agent.listening", 2 * R, None),
        ("state", "listening", 2 * R, None),
        ("voice.stop", "typing", 2 * R + 7200, "cue"),
    ]
    assert ev[3].data == {"from": "listening", "event": "agent.thinking"}


def test_stop_all_fades_everything_out() -> None:
    clips = {"t.wav": dc(0.1, 0.3), "c.wav": dc(0.1, 0.2), "b.wav": dc(0.1, 1.0)}
    eng = scene_engine(TIMELINE, clips)
    eng.post("agent.thinking")
    eng.render(R // 4)
    eng.stop_all(fade=0.1)
    out = eng.render(R // 8)
    assert out[4799:].max() == 0.0
    assert out[100, 0] > 0.1
    assert eng.active_voices == 0


def test_delayed_stop_happens_at_its_sample() -> None:
    eng = scene_engine("version: 1\nsounds: {s: s.wav}\n", {"s.wav": dc(0.5, 2.0)})
    h = eng.play("s")
    eng.stop(h, fade=0.0, at=10000)
    out = eng.render(R)[:, 0]
    assert out[9999] == pytest.approx(0.5)
    assert 0 < out[10000] < 0.5
    assert out[10000 + 239 :].max() == 0.0


def test_nan_frames_from_a_stream_do_not_poison_the_mix() -> None:
    from soundscape.engine import StreamSource

    eng = scene_engine(
        "version: 1\nlayers:\n  b: {source: b.wav, fade_in: 0}\n", {"b.wav": dc(0.2, 1.0)}
    )
    src = StreamSource(1)
    bad = np.full((4800, 1), np.nan, dtype=np.float32)
    bad[::2] = np.inf
    src.push(bad)
    eng.play(src)
    out = eng.render(9600)
    assert np.isfinite(out).all()
    assert np.abs(out).max() <= 10 ** (-1 / 20)


def test_a_ceiling_above_full_scale_still_stops_at_full_scale() -> None:
    scene = "version: 1\nmaster: {ceiling: '+6 dB'}\nlayers:\n  b: {source: b.wav, fade_in: 0, gain: '+6 dB'}\n"
    eng = scene_engine(scene, {"b.wav": sine(300, 1.0, 0.9)})
    out = eng.render(R)
    assert np.abs(out).max() <= 1.0
    assert np.abs(out).max() > 0.95
