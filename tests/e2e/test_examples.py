"""The example scenes in scenes/: they load, lint clean, and say what they claim to."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from soundscape.audio.analysis import integrated_loudness, peak_dbfs
from soundscape.audio.decode import decode_file
from soundscape.engine import Engine, EngineEvent, compile_scene
from soundscape.lint import lint_file
from soundscape.offline.timeline import default_timeline
from soundscape.scene import load, schema
from soundscape.scene.loader import load_with_positions
from soundscape.scene.sources import builtin_catalog

ROOT = Path(__file__).resolve().parents[2]
SCENES = ROOT / "scenes"
ALL = sorted(SCENES.rglob("*.yaml"))
REQUIRED = ("office", "call-center", "cafe", "hold", "showcase")


def _id(p: Path) -> str:
    return str(p.relative_to(SCENES))


def test_the_promised_examples_exist():
    assert {p.stem for p in SCENES.glob("*.yaml")} >= set(REQUIRED)


@pytest.mark.parametrize("path", ALL, ids=_id)
def test_example_loads(path: Path):
    scene = load(path)
    assert scene.version == 1
    assert scene.file == str(path)


@pytest.mark.parametrize("path", ALL, ids=_id)
def test_example_lints_clean(path: Path):
    bad = [d for d in lint_file(path) if d.severity in ("warning", "error")]
    assert bad == [], "\n".join(str(d) for d in bad)


@pytest.mark.parametrize("path", ALL, ids=_id)
def test_example_starts_with_the_schema_modeline(path: Path):
    first = path.read_text(encoding="utf-8").splitlines()[0]
    rel = Path(os.path.relpath(ROOT / "docs" / "scene.schema.json", path.parent)).as_posix()
    assert first == f"# yaml-language-server: $schema={rel}"
    assert (path.parent / rel).is_file()


def test_office_matches_background_audio_player_basic_example():
    # BackgroundAudioPlayer(ambient_sound=OFFICE_AMBIENCE, thinking_sound=KEYBOARD_TYPING): the
    # same sounds and states, at the scene defaults (its literal 0.3 would be inaudible, #14).
    scene = load(SCENES / "office.yaml")
    (layer,) = scene.layers.values()
    assert (layer.source, layer.level, layer.gain, layer.duck) == (
        "builtin:office-ambience",
        None,
        1.0,
        None,
    )
    assert scene.follow_agent and scene.transitions == () and scene.scatter == {}
    assert set(scene.states) == {"idle", "listening", "thinking", "speaking"}
    (typing,) = scene.states["thinking"].cues
    assert (typing.source, typing.level, typing.gain, typing.loop) == (
        "builtin:keyboard-typing",
        None,
        1.0,
        True,
    )
    others = [s for n, s in scene.states.items() if n != "thinking"]
    assert all(s.cues == () and s.after == {} and s.layers == {} for s in others)
    assert scene.master.gain == 1.0


def test_hold_music_plays_between_transfer_and_resume():
    scene = load(SCENES / "hold.yaml")
    hold = scene.states["on_hold"]
    music = [c for c in hold.cues if c.source == "builtin:hold-music"]
    assert len(music) == 1 and music[0].loop
    assert hold.layers["office"].gain == 0.0  # the office bed is silent on hold
    into = [t for t in scene.transitions if t.to == "on_hold"]
    assert [t.on for t in into] == ["trigger.transfer"]
    assert set(into[0].from_) == set(scene.states) - {"on_hold"}
    out_of = [t for t in scene.transitions if "on_hold" in t.from_ or "*" in t.from_]
    assert [(t.on, t.to) for t in out_of] == [("trigger.resume", "listening")]
    # Agent state changes must not end the music while the caller waits.
    assert scene.follow_agent is False
    assert scene.triggers["transfer"].llm


def _written(node: Any, out: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """Every key written anywhere in raw scene data, with the values written for it."""
    if isinstance(node, dict):
        for k, v in node.items():
            out.setdefault(k, []).append(v)
            _written(v, out)
    elif isinstance(node, list):
        for v in node:
            _written(v, out)
    return out


def test_showcase_writes_every_key_of_the_language():
    _, merged = load_with_positions(SCENES / "showcase.yaml")
    written = _written(merged.data, {})
    s = schema()
    keys = set(s["properties"])
    for d in s["$defs"].values():
        for alt in [d, *d.get("anyOf", [])]:
            keys |= set(alt.get("properties", {}))
    assert sorted(keys - set(written)) == []


def test_showcase_uses_every_mode_and_shorthand():
    scene, merged = load_with_positions(SCENES / "showcase.yaml")
    written = _written(merged.data, {})
    assert {"random", "shuffle", "sequence"} <= set(written["pick"])
    assert "linear" in written["curve"]
    assert "ring" in written["on_exit"]
    assert "random" in written["start"] and any(isinstance(v, list) for v in written["start"])
    assert any(isinstance(v, list) for v in written["delay"])
    assert any(isinstance(w.get("tool"), list) for w in written["when"])  # any of several
    ducks = written["duck"]
    assert True in ducks and any(isinstance(d, str) for d in ducks)
    assert any(isinstance(d, dict) for d in ducks)
    assert "both" in written["by"]  # a duck keyed by the state and the voice signal
    assert any(
        a.play is not None and a.goto is not None
        for s in scene.states.values()
        for a in s.after.values()
    )
    assert any(t.llm and t.fields for t in scene.triggers.values())
    assert any(
        sc.gain.low < sc.gain.high and sc.pan.low < sc.pan.high for sc in scene.scatter.values()
    )
    assert any(t.when and t.from_ != ("*",) and t.on.startswith("tool.") for t in scene.transitions)
    assert any(t.play and t.to is None for t in scene.transitions)  # a one-shot without a move
    assert merged.data["extends"] and merged.data["include"]
    files = {Path(f).name for f in merged.files}
    assert {"office.yaml", "phones.yaml", "showcase.yaml"} <= files


# --- what the examples sound like (rendered with the built-in scripted conversation) ---

RATE = 48000


def _render(name: str) -> tuple[np.ndarray, dict[str, float]]:
    """The scene over the default conversation; also when each event first happens."""
    scene = load(SCENES / f"{name}.yaml")
    timeline = default_timeline(scene)
    engine = Engine(compile_scene(scene, RATE, 1), seed=1)
    first: dict[str, float] = {}
    for cue in timeline.events:
        engine.post(cue.event, cue.fields, at=round(cue.at * RATE))
        first.setdefault(cue.event, cue.at)
    return engine.render(round(timeline.duration * RATE)), first


def _lufs(audio: np.ndarray, t0: float, t1: float) -> float:
    return integrated_loudness(audio[round(t0 * RATE) : round(t1 * RATE)], RATE)


@pytest.mark.parametrize("name", REQUIRED)
def test_example_sits_under_a_voice_without_clipping(name: str):
    audio, _ = _render(name)
    # Headroom: the limiter (ceiling -1 dBFS) never has to act. Typing normalised to the cue
    # level is impulsive: its clicks peak around -4 dBFS.
    assert peak_dbfs(audio) < -3.0
    # An agent's voice is about -20 LUFS: the scene stays clearly below it, yet audible.
    assert -50.0 < integrated_loudness(audio, RATE) < -30.0


def test_office_types_only_while_thinking():
    audio, at = _render("office")
    think = at["agent.thinking"]
    # Thinking lasts until the agent's next state (speaking, in the scripted conversation).
    end = min(
        c.at for c in default_timeline().events if c.at > think and c.event.startswith("agent.")
    )
    scene = load(SCENES / "office.yaml")
    voice = scene.voice.reference
    bed_lufs = scene.levels.layer.lufs(voice)  # the scene gives no levels: the defaults
    typing_lufs = scene.levels.cue.lufs(voice)
    assert (bed_lufs, typing_lufs) == (-45.0, -35.0)
    typing = _lufs(audio, think + 0.5, end - 0.2)
    bed = _lufs(audio, end + 0.5, end + 6.5)  # typing fades out over 150 ms
    both = 10 * np.log10(10 ** (bed_lufs / 10) + 10 ** (typing_lufs / 10))
    assert typing == pytest.approx(both, abs=1.5)  # the keyboard is plainly audible over the bed
    assert bed == pytest.approx(bed_lufs, abs=2.0)  # a caller hears the bed, 25 LU under


def test_hold_music_fills_the_hold_and_stops_on_resume():
    audio, at = _render("hold")
    transfer, resume = at["trigger.transfer"], at["trigger.resume"]
    scene = load(SCENES / "hold.yaml")
    voice = scene.voice.reference
    (music_cue,) = [c for c in scene.states["on_hold"].cues if c.source == "builtin:hold-music"]
    music_lufs = scene.levels.of(music_cue).lufs(voice)
    bed_lufs = scene.levels.of(scene.layers["office"]).lufs(voice)
    assert music_lufs is not None and bed_lufs is not None
    before = _lufs(audio, transfer - 3.0, transfer)
    music = _lufs(audio, transfer + 2.5, resume)  # after the 0.8 s delay and 1.5 s fade-in
    after = _lufs(audio, resume + 2.5, resume + 6.0)  # after the 2 s fade-out
    # A stretch of the song, not its whole loop: within a few LU of its level.
    assert music == pytest.approx(music_lufs, abs=3.0)  # the office bed is silent on hold
    assert before == pytest.approx(bed_lufs, abs=2.0)  # the bed alone before the transfer
    # The music stands above the bed by about the distance of their levels (17 LU)...
    assert music - before > (music_lufs - bed_lufs) - 4.0
    assert after < music - 12.0  # ...and is gone after the resume


def test_showcase_long_think_chimes_then_keeps_company():
    """`12s: {play: chime-soft, goto: stalled}`: the chime sounds to its end in the new state.

    (It used to be started in the state being left and stopped on the same sample.)
    """
    scene = load(SCENES / "showcase.yaml")
    engine = Engine(compile_scene(scene, RATE, 1), seed=1)
    seen: list[EngineEvent] = []
    engine.on_event = seen.append
    engine.post("agent.listening", at=0)
    engine.post("agent.thinking", at=RATE)
    engine.render(16 * RATE)
    at12 = 13 * RATE  # thinking began at 1 s
    states = [(e.name, e.at) for e in seen if e.kind == "state"]
    assert ("stalled", at12) in states
    starts = [e for e in seen if e.kind == "voice.start" and e.name == "chime-soft"]
    assert [(e.at, e.data["owner"]) for e in starts] == [(at12, "stalled")]
    stops = [e.at for e in seen if e.kind == "voice.stop" and e.name == "chime-soft"]
    chime = decode_file(builtin_catalog()["chime"], RATE, 1)
    assert stops == [at12 + len(chime)]  # played to its natural end, not cut
