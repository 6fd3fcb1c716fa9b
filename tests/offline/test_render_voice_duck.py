"""`render --voice`: a duck keyed by the voice signal is heard offline exactly as live."""

from __future__ import annotations

import numpy as np
import pytest
from support.audio_checks import RATE, db, tone_level, write_wav

from soundscape.audio import decode_file
from soundscape.cli.main import main
from soundscape.engine import ArrayVoiceKey, Engine, compile_scene
from soundscape.offline.render import render
from soundscape.offline.timeline import Timeline
from soundscape.scene import load

SCENE = """\
version: 1
levels: file
layers:
  bed:
    source: bed.wav
    fade_in: 0
    duck: {by: voice, depth: -12 dB, attack: 50ms, release: 400ms, hold: 250ms}
"""
BED_HZ = 220


def speech(seconds: float, words: list[tuple[float, float]]) -> np.ndarray:
    t = np.arange(round(seconds * RATE)) / RATE
    out = np.zeros_like(t)
    for a, b in words:
        i, j = round(a * RATE), round(b * RATE)
        out[i:j] = 0.25 * np.sin(2 * np.pi * 150 * t[i:j]) * (0.6 + 0.4 * np.cos(10 * t[i:j]))
    return out.astype(np.float32)


@pytest.fixture
def scene_dir(tmp_path):
    t = np.arange(2 * RATE) / RATE
    write_wav(tmp_path / "bed.wav", (0.3 * np.sin(2 * np.pi * BED_HZ * t))[:, None])
    (tmp_path / "scene.yaml").write_text(SCENE)
    write_wav(tmp_path / "voice.wav", speech(4.0, [(1.0, 1.6), (1.7, 2.0)])[:, None])
    return tmp_path


def bed_db(audio: np.ndarray, t0: float, t1: float) -> float:
    return db(tone_level(audio[round(t0 * RATE) : round(t1 * RATE)], BED_HZ) / 0.3)


def test_the_render_ducks_under_the_voice_exactly_as_a_live_engine(scene_dir):
    scene = load(scene_dir / "scene.yaml")
    voice = decode_file(scene_dir / "voice.wav")
    got = render(scene, Timeline((), 4.0), voice=voice).audio
    assert bed_db(got, 0.2, 0.9) == pytest.approx(0.0, abs=0.1)
    assert bed_db(got, 1.1, 2.2) == pytest.approx(-12.0, abs=0.2)  # the 100 ms gap held
    assert bed_db(got, 2.8, 3.9) == pytest.approx(0.0, abs=0.1)
    # Live: the same voice at the same samples, rendered frame by frame.
    eng = Engine(compile_scene(scene), seed=0)
    eng.voice_key = ArrayVoiceKey(voice)
    live = np.concatenate([eng.render(480) for _ in range(4 * RATE // 480)])
    assert live.tobytes() == got.tobytes()


def test_render_cli_voice_ducks_the_bed(scene_dir, capsys):
    (scene_dir / "quiet.yaml").write_text("duration: 4s\nevents: []\n")
    out = scene_dir / "out.wav"
    args = ["render", str(scene_dir / "scene.yaml"), "--timeline", str(scene_dir / "quiet.yaml")]
    assert main([*args, "--voice", str(scene_dir / "voice.wav"), "-o", str(out)]) == 0
    ducked = decode_file(out)[:, 0]
    assert bed_db(ducked, 1.1, 2.2) == pytest.approx(-12.0, abs=0.2)
    assert main([*args, "-o", str(out)]) == 0  # no voice: nothing to duck under
    assert bed_db(decode_file(out)[:, 0], 1.1, 2.2) == pytest.approx(0.0, abs=0.1)
    capsys.readouterr()
