"""The loader: positions of errors, shorthands, extends/include, immutability."""

from __future__ import annotations

import math

import pytest

from soundscape.errors import SceneError
from soundscape.scene import load, loads, schema


def codes(err: SceneError) -> list[tuple[int, int, str]]:
    return [(d.pos.line, d.pos.col, d.code) for d in err.diagnostics]


def test_minimal_office_scene_loads_with_shorthands(write_scene):
    path = write_scene(
        """
        version: 1
        sounds:
          office: builtin:office-ambience
        layers:
          room: {sound: office, gain: 0.3}
        states:
          idle:
          thinking:
            cues: [{source: builtin:keyboard-typing, gain: -4.4 dB, loop: true}]
        """
    )
    scene = load(path)
    assert scene.initial_state == "idle"
    assert scene.layers["room"].gain == pytest.approx(0.3)
    assert scene.states["thinking"].cues[0].gain == pytest.approx(10 ** (-4.4 / 20))
    assert scene.sounds["office"].pool()[0].source == "builtin:office-ambience"


def test_unknown_key_points_at_the_key_with_suggestion(write_scene):
    path = write_scene(
        """
        version: 1
        layers:
          room: {source: builtin:office-ambience, fade_inn: 2s}
        """
    )
    with pytest.raises(SceneError) as ei:
        load(path)
    (d,) = ei.value.diagnostics
    assert (d.pos.line, d.pos.col, d.code) == (3, 43, "SC101")
    assert "did you mean 'fade_in'" in d.message
    assert d.pos.file == str(path)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("fade_in: -2s", "cannot be negative"),
        ("fade_in: 2", "needs a unit"),
        ("gain: 9 dB", "above the +6 dB maximum"),
        ("gain: loud", "expected a level"),
    ],
)
def test_bad_units_are_explained(write_scene, value, fragment):
    path = write_scene(
        f"version: 1\nlayers:\n  room:\n    source: builtin:office-ambience\n    {value}\n"
    )
    with pytest.raises(SceneError) as ei:
        load(path)
    (d,) = ei.value.diagnostics
    assert (d.pos.line, d.pos.col) == (5, 5 + len(value.split(":")[0]) + 2)
    assert fragment in d.message


def test_yaml12_keeps_on_and_yes_as_strings(write_scene):
    path = write_scene(
        """
        version: 1
        states: {idle: {}, on: {}}
        transitions:
          - {on: agent.thinking, to: on}
        """
    )
    scene = load(path)
    assert "on" in scene.states
    assert scene.transitions[0].on == "agent.thinking"


def test_duplicate_key_reports_both_lines(write_scene):
    path = write_scene("version: 1\nlayers: {}\nlayers: {}\n")
    with pytest.raises(SceneError) as ei:
        load(path)
    assert codes(ei.value) == [(3, 1, "SC002")]
    assert "first defined at line 2" in ei.value.diagnostics[0].message


def test_extends_merges_and_errors_point_into_the_parent(write_scene, tmp_path):
    write_scene(
        """
        version: 1
        sounds:
          bed: sounds/bed.ogg
        layers:
          room: {sound: bed, gain: -12 dB, ramp: 2}
        """,
        "base/base.yaml",
    )
    child = write_scene("version: 1\nextends: base/base.yaml\nlayers:\n  room: {gain: -6 dB}\n")
    with pytest.raises(SceneError) as ei:
        load(child)
    (d,) = ei.value.diagnostics
    assert d.pos.file.endswith("base.yaml") and (d.pos.line, d.pos.col) == (5, 42)


def test_extends_overrides_and_rebases_relative_sources(write_scene):
    write_scene(
        "version: 1\nsounds:\n  bed: sounds/bed.ogg\nlayers:\n  room: {sound: bed, gain: -12 dB}\n",
        "base/base.yaml",
    )
    child = write_scene("version: 1\nextends: base/base.yaml\nlayers:\n  room: {gain: -6 dB}\n")
    scene = load(child)
    assert scene.sounds["bed"].source == "base/sounds/bed.ogg"
    assert scene.layers["room"].gain == pytest.approx(10 ** (-6 / 20))
    assert scene.layers["room"].sound == "bed"


def test_circular_extends_is_reported(write_scene):
    write_scene("version: 1\nextends: b.yaml\n", "a.yaml")
    b = write_scene("version: 1\nextends: a.yaml\n", "b.yaml")
    with pytest.raises(SceneError) as ei:
        load(b)
    assert any(d.code == "SC004" and "circular" in d.message for d in ei.value.diagnostics)


def test_include_fragment_adds_sounds(write_scene):
    write_scene("sounds:\n  chime: chime.wav\n", "frag/sounds.yaml")
    main = write_scene("version: 1\ninclude: frag/sounds.yaml\nstates:\n  idle: {cues: [chime]}\n")
    scene = load(main)
    assert scene.sounds["chime"].source == "frag/chime.wav"


def test_scene_model_is_immutable():
    scene = loads("version: 1\nlayers: {room: builtin:office-ambience}\n")
    with pytest.raises(TypeError):
        scene.layers["x"] = scene.layers["room"]  # type: ignore[index]
    with pytest.raises(Exception):  # noqa: B017 - pydantic's frozen error
        scene.version = 2  # type: ignore[misc]


def test_schema_is_json_schema_with_shorthands():
    s = schema()
    assert s["$schema"].endswith("2020-12/schema")
    assert {"sounds", "layers", "states", "transitions", "triggers", "scatter"} <= set(
        s["properties"]
    )
    assert s["$defs"]["Cue"]["anyOf"][0] == {"type": "string"}


def test_silence_chance_accepts_percent():
    scene = loads("version: 1\nsounds:\n  s:\n    variants: [a.wav, b.wav]\n    silence: 25%\n")
    assert math.isclose(scene.sounds["s"].silence, 0.25)


@pytest.mark.parametrize(
    ("text", "where", "fragment"),
    [
        ("version: 1\nname: !!python/object:os.system ls\n", (2, 7), "unsupported YAML tag"),
        ("version: 1\nx: !!set {a: 1}\n", (2, 4), "unsupported YAML tag"),
        ("version: 1\nx: " + "[" * 5000 + "]" * 5000, (2, 68), "nesting deeper than 64"),
        ("version: 1\nlayers:\n\troom: x\n", (3, 1), "'\\t'"),
        ("- a\n- b\n", (1, 1), "must be a mapping"),
    ],
)
def test_hostile_yaml_gets_one_positioned_error(text, where, fragment):
    with pytest.raises(SceneError) as ei:
        loads(text, "x.yaml")
    d = ei.value.diagnostics[0]
    assert (d.pos.line, d.pos.col) == where
    assert fragment in d.message


def test_alias_bomb_is_refused_quickly():
    bomb = "a: &a [1,1,1,1,1,1,1,1,1,1]\n"
    for prev, name in zip("abcde", "bcdef", strict=True):
        bomb += f"{name}: &{name} [" + ",".join([f"*{prev}"] * 10) + "]\n"
    with pytest.raises(SceneError) as ei:
        loads(bomb, "x.yaml")
    assert "alias bomb" in ei.value.diagnostics[0].message


def test_pool_of_a_single_source_keeps_its_start_and_trim():
    scene = loads(
        "version: 1\nsounds:\n  bed: {source: a.wav, start: [1s, 2s], trim: {start: 0.5s}}\n"
        "  pool: {variants: [b.wav, {source: c.wav, start: random}], start: 3s}\n"
    )
    (only,) = scene.sounds["bed"].pool()
    assert (only.start, only.trim.start if only.trim else None) == ((1.0, 2.0), 0.5)
    b, c = scene.sounds["pool"].pool()
    assert (b.start, c.start) == ((3.0, 3.0), "random")
