"""The levels a render reports are the levels it plays, full band and on the phone line, and
a voice fed to `voice: auto` moves the bed as a live voice would."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest
from support.audio_checks import RATE, clicks, write_wav

from soundscape.audio.analysis import integrated_loudness
from soundscape.audio.phone import phone_line
from soundscape.offline.render import render
from soundscape.offline.timeline import Cue, Timeline
from soundscape.scene import load

SCENE = """\
version: 1
name: levels
sounds:
  room: room.wav
  tick: tick.wav
layers:
  room: {sound: room, level: voice -25 LU}
states:
  idle:
  thinking:
    cues:
      - {sound: tick, loop: true, level: -40 LUFS}
"""


def noise(seconds: float, amp: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (amp * rng.standard_normal(int(seconds * RATE))).astype(np.float32)


def tone(seconds: float, freq: float, amp: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.fixture
def scene_dir(tmp_path: Path) -> Path:
    write_wav(tmp_path / "room.wav", noise(4.0, 0.05, 1))
    write_wav(tmp_path / "tick.wav", tone(1.0, 1000.0, 0.3))
    return tmp_path


def scene_at(d: Path, extra: str = "", name: str = "scene.yaml") -> Path:
    p = d / name
    p.write_text(SCENE + textwrap.dedent(extra))
    return p


def level(r, kind: str, name: str, where: str | None = None):
    return next(x for x in r.levels if x.kind == kind and x.name == name and x.where == where)


def test_reported_levels_match_each_play_rendered_alone(scene_dir):
    r = render(load(scene_at(scene_dir)), Timeline((), 8.0, "idle"))
    room = level(r, "layer", "room")
    assert room.voice == -20.0
    assert room.lufs == pytest.approx(-45.0, abs=0.5)
    assert room.distance == pytest.approx(-25.0, abs=0.5)
    # The bed alone is all an idle render plays: measured over whole loops (2 × 4 s).
    assert room.lufs == pytest.approx(integrated_loudness(r.audio, RATE), abs=1.0)
    tick = level(r, "cue", "tick", "thinking")
    assert tick.lufs == pytest.approx(-40.0, abs=0.5)
    thinking = render(
        load(scene_at(scene_dir)), Timeline((Cue(0.0, "agent.thinking", ()),), 8.0, "think")
    )
    # The tick on top of the bed: the sum's power less the bed's is the tick alone.
    both = 10 ** (integrated_loudness(thinking.audio, RATE) / 10)
    bed = 10 ** (room.lufs / 10)
    assert 10 * np.log10(both - bed) == pytest.approx(tick.lufs, abs=1.0)
    assert f"layer room: {room.lufs:.1f} LUFS (voice {room.distance:+.1f} LU)" in [
        x.line() for x in r.levels
    ]


def test_phone_figures_are_after_the_band(scene_dir):
    from soundscape.offline.levels import VOICE_PHONE_LOSS_LU, scene_levels

    r = render(load(scene_at(scene_dir)), Timeline((), 8.0, "idle"))
    assert r.plan is not None
    phone = scene_levels(r.plan, phone=True)
    room_full = level(r, "layer", "room")
    room_phone = next(x for x in phone if x.name == "room")
    # Broadband noise loses a good part of itself outside 300-3400 Hz.
    assert room_phone.lufs < room_full.lufs - 1.0
    line = phone_line(r.audio, RATE)
    assert room_phone.lufs == pytest.approx(integrated_loudness(line.audio, line.rate), abs=1.0)
    assert room_phone.voice == -20.0 - VOICE_PHONE_LOSS_LU


def stepped_voice(seconds: float, step_at: float) -> np.ndarray:
    """Speech-like noise (4 Hz syllables) at about -26 LUFS, 6 dB louder from ``step_at``."""
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    env = 0.55 + 0.45 * np.sin(2 * np.pi * 4.0 * t)
    x = noise(seconds, 1.0, 7) * env
    x *= 10 ** ((-26.0 - integrated_loudness(x[: int(step_at * RATE)], RATE)) / 20)
    x[int(step_at * RATE) :] *= 2.0
    return x.astype(np.float32)[:, None]


def test_a_voice_fed_to_auto_moves_the_bed_smoothly_and_deterministically(scene_dir):
    path = scene_at(scene_dir, "voice: {loudness: auto, start: -26 LUFS, glide: 1.5s}\n")
    voice = stepped_voice(20.0, 10.0)
    tl = Timeline((), 20.0, "talk")
    a = render(load(path), tl, voice=voice)
    b = render(load(path), tl, voice=voice)
    assert np.array_equal(a.audio, b.audio)
    x = a.audio[:, 0].astype(np.float64)

    def lufs(t0: float, t1: float) -> float:
        return integrated_loudness(x[int(t0 * RATE) : int(t1 * RATE)], RATE)

    before, after = lufs(5.0, 9.0), lufs(16.0, 20.0)
    assert before == pytest.approx(-26.0 - 25.0, abs=1.0)
    assert after - before == pytest.approx(6.0, abs=1.0)
    w = RATE // 20
    win = [
        10 * np.log10(np.mean(x[i : i + w] ** 2)) for i in range(int(8 * RATE), int(16 * RATE), w)
    ]
    # Noise's own 50 ms windows wander; the glide adds no jump on top of that.
    assert max(abs(np.diff(win))) < 1.0 + max(abs(np.diff(win[:40])))
    assert clicks(x[int(8 * RATE) : int(16 * RATE)], ratio=3.0) == []


def test_a_voice_file_is_the_reference_of_the_distances(scene_dir):
    v = stepped_voice(6.0, 6.0)
    r = render(load(scene_at(scene_dir)), Timeline((), 4.0, "idle"), voice=v)
    assert r.voice_lufs == pytest.approx(-26.0, abs=0.2)
    room = level(r, "layer", "room")
    # Not `auto`: the bed plays for the scene's -20 voice; the distance is to the real one.
    assert room.voice == pytest.approx(-26.0, abs=0.2)
    assert room.distance == pytest.approx(-45.0 + 26.0, abs=0.6)
