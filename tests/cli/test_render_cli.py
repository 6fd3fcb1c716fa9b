"""`soundscape render`: deterministic WAVs, a truthful summary, a picture, clear failures."""

from __future__ import annotations

import builtins
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from support.paths import ROOT

from soundscape.audio import decode_file
from soundscape.audio.analysis import integrated_loudness
from soundscape.cli.main import main

OFFICE = ROOT / "scenes" / "office.yaml"
SHOWCASE = ROOT / "scenes" / "showcase.yaml"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_json(capsys, *args: str) -> dict:
    assert main(["render", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_same_seed_same_bytes_different_seed_differs(tmp_path, capsys):
    a, b, c = (tmp_path / n for n in ("a.wav", "b.wav", "c.wav"))
    run_json(capsys, str(SHOWCASE), "-o", str(a), "--seed", "7")
    run_json(capsys, str(SHOWCASE), "-o", str(b), "--seed", "7")
    run_json(capsys, str(SHOWCASE), "-o", str(c), "--seed", "8")
    assert digest(a) == digest(b)
    assert digest(a) != digest(c)


def test_office_summary_and_audio_follow_the_default_conversation(tmp_path, capsys):
    out = tmp_path / "office.wav"
    s = run_json(capsys, str(OFFICE), "-o", str(out), "--format", "int16")
    states = [x["state"] for x in s["states"]]
    assert states[:5] == ["idle", "listening", "speaking", "listening", "thinking"]
    assert s["cues_played"] == {"builtin:keyboard-typing": 2}
    assert s["layers"] == ["ambience"]
    assert -60 < s["peak_dbfs"] <= -1.0
    audio = decode_file(out)[:, 0]
    assert audio.shape[0] == int(s["duration_s"] * 48000)
    think = next(x["at"] for x in s["states"] if x["state"] == "thinking")
    speak = next(x["at"] for x in s["states"] if x["state"] == "speaking" and x["at"] > think)

    def lufs(t0: float, t1: float) -> float:
        seg = audio[int(t0 * 48000) : int(t1 * 48000)]
        return integrated_loudness(seg, 48000)

    # At the scene defaults typing (voice -15 LU) stands 10 LU over the bed (voice -25 LU).
    typing, bed = lufs(think + 0.5, speak - 0.2), lufs(speak + 0.5, speak + 4.0)
    assert bed == pytest.approx(-45.0, abs=2.0)
    assert typing - bed > 7.0


def test_timeline_file_and_duration(tmp_path, capsys, write_scene):
    tl = write_scene(
        "- {at: 1s, event: agent.thinking}\n- {at: 2s, event: agent.speaking}\n", "t.yaml"
    )
    s = run_json(
        capsys,
        str(OFFICE),
        "--timeline",
        str(tl),
        "--duration",
        "3s",
        "-o",
        str(tmp_path / "x.wav"),
    )
    assert s["duration_s"] == 3.0
    assert [(x["at"], x["state"]) for x in s["states"]] == [
        (0, "idle"),
        (1.0, "thinking"),
        (2.0, "speaking"),
    ]


def test_plot_is_a_png(tmp_path, capsys):
    png = tmp_path / "p.png"
    assert main(["render", str(OFFICE), "-o", str(tmp_path / "x.wav"), "--plot", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "drew" in capsys.readouterr().out


def test_missing_matplotlib_is_a_clear_message(tmp_path, capsys, monkeypatch):
    real_import = builtins.__import__

    def no_mpl(name, *a, **k):
        if name.startswith("matplotlib"):
            raise ImportError(name)
        return real_import(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_mpl)
    rc = main(
        ["render", str(OFFICE), "-o", str(tmp_path / "x.wav"), "--plot", str(tmp_path / "p.png")]
    )
    assert rc == 2
    assert "pip install 'soundscape[plot]'" in capsys.readouterr().err


def test_bad_scene_and_bad_audio_exit_1_with_position(tmp_path, capsys, write_scene):
    bad = write_scene(
        "version: 1\nlayers:\n  room: {source: builtin:office-ambience, gain: 12 dB}\n"
    )
    assert main(["render", str(bad), "-o", str(tmp_path / "x.wav")]) == 1
    assert f"{bad}:3:" in capsys.readouterr().err
    (tmp_path / "junk.wav").write_bytes(b"RIFF not really")
    junk = write_scene("version: 1\nlayers:\n  room: {source: junk.wav}\n", "junk.yaml")
    assert main(["render", str(junk), "-o", str(tmp_path / "y.wav")]) == 1
    err = capsys.readouterr().err
    assert "junk.wav" in err and "Traceback" not in err


@pytest.mark.parametrize("args", [["--rate", "100"], ["--duration", "soon"]])
def test_bad_options_exit_2(args, tmp_path, capsys):
    assert main(["render", str(OFFICE), "-o", str(tmp_path / "x.wav"), *args]) == 2


LEVELS_SCENE = """\
version: 1
name: levels
sounds:
  room: room.wav
layers:
  room: {sound: room, level: voice -25 LU}
"""


def _levels_scene(tmp_path: Path) -> Path:
    from support.audio_checks import write_wav

    rng = np.random.default_rng(3)
    write_wav(tmp_path / "room.wav", (0.05 * rng.standard_normal(4 * 48000)).astype(np.float32))
    path = tmp_path / "levels.yaml"
    path.write_text(LEVELS_SCENE)
    return path


def test_summary_gives_each_layer_its_loudness_and_distance_from_the_voice(tmp_path, capsys):
    scene = _levels_scene(tmp_path)
    assert main(["render", str(scene), "-o", str(tmp_path / "a.wav"), "--duration", "4s"]) == 0
    out = capsys.readouterr().out
    assert "levels (voice -20.0 LUFS, the scene's):" in out
    assert "layer room: -45.0 LUFS (voice -25.0 LU)" in out
    s = run_json(capsys, str(scene), "-o", str(tmp_path / "b.wav"), "--duration", "4s", "--phone")
    full = s["levels"][0]
    phone = s["phone"]["levels"][0]
    assert (full["kind"], full["name"], full["lufs"], full["voice_lu"]) == (
        "layer",
        "room",
        -45.0,
        -25.0,
    )
    # Broadband noise loses more in the telephone band than the voice is assumed to.
    assert phone["lufs"] < full["lufs"] - 1.0
    assert phone["voice_lu"] < full["voice_lu"]


def test_voice_file_is_the_reference_and_can_be_mixed_in(tmp_path, capsys):
    from support.audio_checks import write_wav

    from soundscape.audio.analysis import integrated_loudness

    scene = _levels_scene(tmp_path)
    rng = np.random.default_rng(5)
    t = np.arange(6 * 48000) / 48000
    v = rng.standard_normal(t.size) * (0.55 + 0.45 * np.sin(2 * np.pi * 4 * t))
    v *= 10 ** ((-26.0 - integrated_loudness(v, 48000)) / 20)
    write_wav(tmp_path / "voice.wav", v.astype(np.float32))
    args = [str(scene), "--duration", "4s", "--voice", str(tmp_path / "voice.wav")]
    s = run_json(capsys, *args, "-o", str(tmp_path / "a.wav"))
    assert s["voice_lufs"] == pytest.approx(-26.0, abs=0.2)
    assert s["levels"][0]["voice_lu"] == pytest.approx(-19.0, abs=0.3)
    m = run_json(capsys, *args, "--mix-voice", "-o", str(tmp_path / "m.wav"))
    # The voice towers 19 LU over the bed: the mix measures as the voice.
    assert m["integrated_lufs"] == pytest.approx(-26.0, abs=0.5)
    assert s["integrated_lufs"] == pytest.approx(-45.0, abs=1.0)
    # On the line, the voice reference is the recording measured after the same line.
    from soundscape.audio.phone import phone_line

    p = run_json(capsys, *args, "--phone", "-o", str(tmp_path / "p.wav"))
    line = phone_line(decode_file(tmp_path / "voice.wav"), 48000)
    assert p["phone"]["voice_lufs"] == pytest.approx(
        integrated_loudness(line.audio, line.rate), abs=0.2
    )
    assert p["phone"]["voice_lufs"] != pytest.approx(-27.0, abs=0.05)  # not the assumed loss
    assert main(["render", str(scene), "--mix-voice"]) == 2
    assert "--mix-voice needs --voice" in capsys.readouterr().err
