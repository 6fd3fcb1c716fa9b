"""`soundscape render`: deterministic WAVs, a truthful summary, a picture, clear failures."""

from __future__ import annotations

import builtins
import hashlib
import json
from pathlib import Path

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
