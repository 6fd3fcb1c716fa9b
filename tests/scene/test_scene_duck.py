"""`duck`: what it is keyed by (`by`), the voice's threshold and hold, shorthands, errors."""

from __future__ import annotations

import pytest

from soundscape.errors import SceneError
from soundscape.scene import load, loads, schema
from soundscape.scene.units import db_to_gain

LAYER = "version: 1\nlayers:\n  bed: {source: builtin:office-ambience, duck: %s}\n"


def duck_of(value: str):
    return loads(LAYER % value).layers["bed"].duck


def test_today_s_ducks_follow_the_speaking_state():
    for value in ("true", "-6 dB", "{depth: -9 dB, attack: 40ms}", "speaking"):
        assert duck_of(value).by == "speaking", value


def test_voice_keyed_duck_and_its_defaults():
    d = duck_of("voice")
    assert (d.by, d.depth, d.attack, d.release) == ("voice", db_to_gain(-12), 0.08, 0.6)
    assert d.threshold == pytest.approx(db_to_gain(-40))
    assert d.hold == pytest.approx(0.25)
    d = duck_of("{by: both, threshold: -45 dBFS, hold: 400ms, depth: -8 dB}")
    assert (d.by, d.hold) == ("both", pytest.approx(0.4))
    assert d.threshold == pytest.approx(db_to_gain(-45))
    assert duck_of("{by: voice, threshold: -30 dB}").threshold == pytest.approx(db_to_gain(-30))


@pytest.mark.parametrize(
    ("duck", "at", "code", "fragment"),
    [
        ("{by: voices}", "voices", "SC102", "did you mean 'voice'"),
        ("{threshold: -30 dBFS}", "-30 dBFS", "SC102", "add 'by: voice'"),
        ("{depth: -6 dB, hold: 300ms}", "300ms", "SC102", "hold sets how the voice signal ducks"),
        ("{by: voice, threshold: -90 dBFS}", "-90 dBFS", "SC103", "between -80 and 0 dBFS"),
        ("{by: voice, threshold: +3 dBFS}", "+3 dBFS", "SC103", "between -80 and 0 dBFS"),
        ("{by: voice, threshold: -40}", "-40", "SC102", "write '-40 dBFS'"),
        ("{by: voice, threshold: quiet}", "quiet", "SC102", "like '-40 dBFS'"),
        ("{by: voice, hold: 30s}", "30s", "SC103", "at most 5s"),
        ("{by: voice, hold: 200}", "200", "SC102", "needs a unit"),
    ],
)
def test_bad_duck_values_point_at_the_value(write_scene, duck, at, code, fragment):
    path = write_scene(
        f"version: 1\nlayers:\n  bed:\n    source: builtin:office-ambience\n    duck: {duck}\n"
    )
    line = path.read_text().splitlines()[4]
    with pytest.raises(SceneError) as ei:
        load(path)
    (d,) = ei.value.diagnostics
    assert (d.pos.file, d.pos.line, d.pos.col, d.code) == (
        str(path),
        5,
        line.index(at) + 1,
        code,
    ), str(d)
    assert fragment in d.message, d.message


def test_the_schema_offers_the_shorthands_and_the_new_keys():
    duck = schema()["$defs"]["Duck"]
    short, full = duck["anyOf"]
    assert {"enum": ["speaking", "voice", "both"]} in short["anyOf"]
    assert {"by", "threshold", "hold"} <= set(full["properties"])
    assert full["properties"]["by"]["enum"] == ["speaking", "voice", "both"]
