"""Voices: onsets to the sample, fade laws, minimum fades, stop, play() of files and streams."""

from __future__ import annotations

import math

import numpy as np
import pytest
from support.audio_checks import (
    clicks,
    dc,
    last_sound,
    onset,
    scene_engine,
    sine,
    step_bound,
    tone_level,
    write_wav,
)

from soundscape.engine import Engine, StreamSource, compile_scene
from soundscape.scene import loads

R = 48000

CUE_SCENE = """
version: 1
sounds:
  beep: beep.wav
states:
  idle: {}
  thinking:
    cues:
      - {sound: beep, delay: 250ms, fade_in: %s, fade_out: 100ms, curve: %s}
"""


def _engine(fade_in: str = "0", curve: str = "equal-power", clip=None, **kw):
    clips = {"beep.wav": dc(0.5, 2.0) if clip is None else clip}
    return scene_engine(CUE_SCENE % (fade_in, curve), clips, **kw)


@pytest.mark.parametrize("at", [0, 1, 479, 480, 12345])
def test_cue_onset_is_event_time_plus_delay_to_the_sample(at: int) -> None:
    eng = _engine()
    eng.post("agent.thinking", at=at)
    out = eng.render(at + R)
    start = at + round(0.25 * R)
    assert np.all(out[:start] == 0.0)
    assert onset(out) == start
    assert eng.state == "thinking"


def test_event_inside_a_block_is_not_rounded_to_the_block_edge() -> None:
    eng = _engine()
    eng.post("agent.thinking", at=1000)
    chunks = [eng.render(480) for _ in range(100)]
    out = np.concatenate(chunks)
    assert onset(out) == 1000 + 12000


def test_equal_power_fade_in_follows_sine_law() -> None:
    eng = _engine(fade_in="100ms")
    eng.post("agent.thinking")
    out = eng.render(R)[:, 0]
    start = 12000
    n = 4800
    got = out[start : start + n] / 0.5
    expected = np.sin((np.arange(n) + 1) / n * math.pi / 2)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    # At the midpoint an equal-power fade is at -3 dB, not -6 dB.
    assert got[n // 2 - 1] == pytest.approx(math.sqrt(0.5), abs=1e-3)


def test_linear_fade_in_follows_linear_law() -> None:
    eng = _engine(fade_in="100ms", curve="linear")
    eng.post("agent.thinking")
    out = eng.render(R)[:, 0]
    n = 4800
    got = out[12000 : 12000 + n] / 0.5
    np.testing.assert_allclose(got, (np.arange(n) + 1) / n, atol=1e-5)


def test_zero_fade_still_gets_five_millisecond_fade_in() -> None:
    eng = _engine(fade_in="0")
    eng.post("agent.thinking")
    out = eng.render(R)[:, 0]
    ramp = out[12000 : 12000 + 240] / 0.5
    assert 0 < ramp[0] < 0.01
    assert np.all(np.diff(ramp) > 0)
    assert ramp[-1] == pytest.approx(1.0)


def test_state_exit_stops_cue_with_its_fade_out() -> None:
    eng = _engine()
    eng.post("agent.thinking", at=0)
    eng.post("agent.idle", at=R // 2)
    out = eng.render(R)[:, 0]
    n = 4800  # fade_out: 100ms, equal-power: cos law down to exactly 0
    got = out[R // 2 : R // 2 + n] / 0.5
    expected = np.cos((np.arange(n) + 1) / n * math.pi / 2)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert last_sound(out) == R // 2 + n - 2
    assert eng.active_voices == 0


def test_cue_start_and_stop_of_a_tone_do_not_click() -> None:
    tone = sine(1000, 2.0, 0.5, phase=math.pi / 2)  # starts at its peak: worst case
    eng = _engine(clip=tone)
    eng.post("agent.thinking", at=100)
    eng.post("agent.idle", at=R // 2 + 77)
    out = eng.render(R)
    assert clicks(out, material_step=step_bound([(0.5, 1000)])) == []


def test_stop_before_delay_elapsed_means_the_cue_never_sounds() -> None:
    eng = _engine()
    eng.post("agent.thinking", at=0)
    eng.post("agent.idle", at=100)
    out = eng.render(R)
    assert onset(out) is None
    assert eng.active_voices == 0


def test_play_a_file_and_stop_it_honours_fade_out(tmp_path) -> None:
    path = write_wav(tmp_path / "note.wav", sine(440, 1.0, 0.5))
    scene = loads("version: 1\n", str(tmp_path / "s.yaml"))
    eng = Engine(compile_scene(scene), seed=0)
    h = eng.play(str(path), fade_out=0.2, level="file")
    first = eng.render(R // 4)
    assert tone_level(first[2400:], 440) == pytest.approx(0.5, abs=0.01)
    eng.stop(h)
    out = eng.render(R // 2)
    assert eng.is_active(h) is False
    n = round(0.2 * R)
    assert last_sound(out, 1e-4) is not None
    assert n - 200 < last_sound(out, 1e-4) < n
    assert onset(out[n:]) is None
    assert clicks(np.concatenate([first, out]), material_step=step_bound([(0.5, 440)])) == []


def test_play_unknown_name_is_a_clear_value_error() -> None:
    eng = _engine()
    with pytest.raises(ValueError, match=r"cannot play 'bep'.*\(beep\)"):
        eng.play("bep")


def test_play_scene_sound_by_name_with_gain_and_loop() -> None:
    eng = _engine(clip=dc(0.5, 0.1))
    h = eng.play("beep", loop=True, gain=0.5)
    out = eng.render(R)
    # A looped 100 ms DC clip keeps sounding at 0.25 across seams.
    np.testing.assert_allclose(out[1000:, 0], 0.25, atol=1e-4)
    assert eng.is_active(h)


def test_stream_source_plays_what_was_pushed_then_ends() -> None:
    eng = _engine()
    src = StreamSource(1)
    h = eng.play(src)
    tone = sine(600, 0.5, 0.4)
    src.push(tone[:12000])
    a = eng.render(12000)
    b = eng.render(12000)  # starved: silence, counted
    assert tone_level(a[480:], 600) == pytest.approx(0.4, abs=0.01)
    assert np.abs(b).max() < 1e-6
    assert src.starved_frames == 12000
    src.push(tone[12000:])
    src.end()
    c = eng.render(R)
    assert tone_level(c[:12000], 600) == pytest.approx(0.4, abs=0.01)
    assert last_sound(c, 1e-6) < 12000
    assert not eng.is_active(h)


def test_stream_channel_mismatch_is_refused() -> None:
    eng = _engine()
    with pytest.raises(ValueError, match="2 channel"):
        eng.play(StreamSource(2))


def test_a_loop_shorter_than_a_block_still_loops_exactly() -> None:
    ramp = (np.arange(7, dtype=np.float32) / 10)[:, None]  # 7 samples, too short to crossfade
    scene = "version: 1\nlayers:\n  l: {source: r.wav, fade_in: 0, crossfade: 0}\n"
    eng = scene_engine(scene, {"r.wav": ramp})
    out = np.concatenate([eng.render(480), eng.render(1000), eng.render(3)])[:, 0]
    np.testing.assert_allclose(out[240:], np.tile(ramp[:, 0], 300)[240 : out.size], atol=1e-7)


def test_a_stream_that_ends_on_a_loud_sample_fades_out_without_a_click() -> None:
    eng = _engine()
    src = StreamSource(1)
    eng.play(src)
    src.push(dc(0.5, 0.5))  # ends at full level: a hard stop would click
    src.end()
    out = eng.render(R)[:, 0]
    end = R // 2
    assert out[end - 241] == pytest.approx(0.5)
    assert out[end - 1] == 0.0 and out[end - 120] < 0.5
    assert np.all(np.diff(out[end - 240 : end]) <= 0)
    assert clicks(out, material_step=0.01) == []


def test_a_starving_stream_fades_out_and_back_in_without_clicks() -> None:
    eng = _engine()
    src = StreamSource(1)
    eng.play(src)
    tone = sine(300, 1.0, 0.5, phase=math.pi / 2)
    src.push(tone[:10000])  # runs dry mid-wave, at a loud sample
    a = eng.render(12000)
    src.push(tone[10000:])
    b = eng.render(12000)
    out = np.concatenate([a, b])
    assert src.starved_frames == 2000
    assert np.all(out[10000:12000] == 0.0)
    assert tone_level(b[480:], 300) == pytest.approx(0.5, abs=0.01)  # nothing skipped or lost
    assert clicks(out, material_step=step_bound([(0.5, 300)])) == []


def test_a_stream_rendered_ahead_of_its_frames_plays_them_after_a_restore() -> None:
    # The live driver renders ahead of a real-time stream; when the missing frames arrive it
    # restores the snapshot and renders again, and then they must be there, in order.
    eng = _engine()
    src = StreamSource(1)
    eng.play(src)
    tone = sine(500, 0.5, 0.4)
    src.push(tone[:4800])
    snap = eng.snapshot()
    eng.render(R)  # 100 ms of stream, then 900 ms read as missing
    assert not src.fillable  # nothing new to play yet
    src.push(tone[4800:])
    src.end()
    assert src.fillable
    eng.restore(snap)
    src.refilled()
    out = eng.render(R)[:, 0]
    assert not src.fillable
    assert tone_level(out[480 : tone.shape[0] - 480], 500) == pytest.approx(0.4, abs=0.01)
    np.testing.assert_allclose(out[4000:20000], tone[4000:20000, 0], atol=1e-4)


def test_a_gated_stream_waits_for_its_sample_on_every_render() -> None:
    # The live driver resumes a stream that was heard running dry at its next splice: the
    # frames from where it stopped are held back until that sample, in this render and in
    # any render again from an older snapshot, so none is heard twice or skipped.
    eng = _engine()
    src = StreamSource(1)
    h = eng.play(src)
    tone = sine(500, 0.5, 0.4, phase=math.pi / 2)  # runs dry on a loud sample
    src.push(tone[:4800])
    snap = eng.snapshot()
    a = eng.render(9600)  # 100 ms of stream, then 100 ms read as missing
    assert eng.stream_state(h) == (9600, 4800, 4800)  # (frames run out, dry since, next)
    src.push(tone[4800:])
    assert eng.stream_state(h) == (9600 + tone.shape[0] - 4800, 4800, 4800)
    src.gate(4800, 12000)
    assert eng.stream_state(h) == (12000 + tone.shape[0] - 4800, None, 4800)
    b = eng.render(R)
    eng.restore(snap)
    again = eng.render(9600 + R)
    out = np.concatenate([a, b])
    np.testing.assert_array_equal(again, out)
    y = out[:, 0]
    assert np.all(y[4800:12000] == 0.0)
    # The rest of the stream, from the frame it stopped at, starts at the gate (faded in).
    rest = tone[4800:, 0]
    np.testing.assert_allclose(y[12240 : 12000 + rest.size - 240], rest[240:-240], atol=1e-6)
    assert clicks(y, material_step=step_bound([(0.4, 500)])) == []
    src.end()
    eng.render(R)
    assert eng.stream_state(h) is None  # ended and played out
