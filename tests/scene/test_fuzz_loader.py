"""Hostile and broken input never crashes the loader or the linter.

Random text, random YAML structures, scene-shaped nonsense and mutations of the
example scenes (lines deleted, duplicated, swapped, re-indented, values replaced,
unknown keys inserted, the file cut short) go to `soundscape.scene.loads` and to
`soundscape.lint.lint_file`. The loader may only raise `SceneError`; the linter only
returns diagnostics; and every diagnostic points inside the file it names.

The budget is fixed and derandomized so CI runs the same inputs every time; inputs
that once crashed are kept as explicit `@example`s.
"""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from soundscape.errors import Diagnostic, SceneError
from soundscape.lint import lint_file
from soundscape.scene import load, loads, schema
from soundscape.scene.events import EVENTS

ROOT = Path(__file__).resolve().parents[2]
SCENES = ROOT / "scenes"
EXAMPLES = {
    p.relative_to(SCENES).as_posix(): p.read_text(encoding="utf-8")
    for p in sorted(SCENES.rglob("*.yaml"))
}

FUZZ = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# --- checking what came back ----------------------------------------------------------


def _lines(file: str, texts: dict[str, str]) -> list[str]:
    """The file's lines as YAML 1.2 counts them (NEL, LS and PS do not break lines)."""
    if file not in texts:
        texts[file] = Path(file).read_text(encoding="utf-8")
    return re.split(r"\r\n|\r|\n", texts[file].removesuffix("\n"))


def _assert_inside(diags: tuple[Diagnostic, ...] | list[Diagnostic], texts: dict[str, str]):
    """Every diagnostic names a real place: a line of its file (or just past the end)."""
    for d in diags:
        assert isinstance(d, Diagnostic), d
        assert d.message and d.code, d
        lines = _lines(d.pos.file, texts)
        assert 1 <= d.pos.line <= len(lines) + 1, f"{d} is past the end ({len(lines)} lines)"
        assert d.pos.col >= 1, d
        if d.pos.line <= len(lines):
            # One past the last character is where a missing value or the line end is.
            assert d.pos.col <= len(lines[d.pos.line - 1]) + 1, f"{d} is past its line's end"
        str(d)  # rendering never fails either


def _load_ok_or_scene_error(text: str, file: str) -> None:
    try:
        loads(text, file)
    except SceneError as e:
        assert e.diagnostics, "a SceneError must say what is wrong"
        _assert_inside(e.diagnostics, {file: text})
        str(e)


# --- (a) random text and random YAML-ish structures --------------------------------------

_KEYS = sorted(
    set(schema()["properties"])
    | {k for d in schema()["$defs"].values() for alt in [d, *d.get("anyOf", [])]
       for k in alt.get("properties", {})}
)  # fmt: skip
_TRICKY = [
    "-18 dB", "+6 dB", "9 dB", "-inf dB", "inf dB", "nan dB", "250ms", "2s", "1.5 s",
    "-2s", "2", "0", "1e309", ".nan", ".inf", "-.inf", "0x1F", "0o17", "25%", "200%",
    "random", "builtin:office-ambience", "builtin:nope", "builtin:", "http://x/y.ogg",
    "a.wav", "../../etc/passwd", "/dev/zero", ".", "", " ", "~", "null", "yes", "on",
    "true", "agent.thinking", "trigger.x", "*", "idle", "ring", "shuffle", "linear",
    "[1, 2, 3]", "[2s, 1s]", "[]", "{}", "é", "\u202e", "a" * 300,
]  # fmt: skip
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(_TRICKY),
    st.text(max_size=12),
)
_keys = st.one_of(st.sampled_from(_KEYS), st.sampled_from(_TRICKY[:20]), st.text(max_size=8))
_structures = st.recursive(
    _scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(_keys, children, max_size=5)
    ),
    max_leaves=30,
)
# Scene-shaped: the right top-level keys with random insides, so validation gets deep.
_scene_like = st.fixed_dictionaries(
    {"version": st.one_of(st.just(1), _scalars)},
    optional={
        k: _structures
        for k in [
            "sounds",
            "layers",
            "states",
            "transitions",
            "triggers",
            "scatter",
            "master",
            "initial",
            "follow_agent",
            "include",
            "name",
        ]
    },
)


def _dump(data: object, flow: bool) -> str:
    if flow:
        return json.dumps(data, allow_nan=True)
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    buf = io.StringIO()
    yaml.dump(data, buf)
    return buf.getvalue()


@FUZZ
@given(st.text(max_size=400))
@example("version: 1\nstates: {a: {after: {1s: {goto: a}}}}\n")
@example("- [")
@example("version: 1\n\tlayers: {}\n")
@example('version: 1\ntriggers: {"\\ud800\\udc00": x, "\\ud800": y}\n')  # lone surrogate crashed
@example("a: &x [*x]\n")
@example("\x850")  # NEL is no line break in YAML 1.2
@example("a: x\x0bb\n")  # a forbidden character was reported at 1:1
@example("\ufeffversion: 1\n")
def test_random_text_only_raises_scene_error(text: str):
    _load_ok_or_scene_error(text, "<fuzz>")


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bytes")


@FUZZ
@given(st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)))
@example(b"\xff\xfev\x00")  # UTF-16
@example(b"version: 1\nname: \xe9t\xe9\n")  # Latin-1
@example(b"\xef\xbb\xbfversion: 1\n")  # a UTF-8 byte-order mark is fine
@example(b"name: \xc3\xa9\xc3\xa9\xc3\xa9\xff\n")  # the column counted bytes, not characters
def test_random_bytes_on_disk_load_and_lint_safely(scratch: Path, raw: bytes):
    path = scratch / "scene.yaml"
    path.write_bytes(raw)
    try:
        load(path)
    except SceneError as e:
        assert e.diagnostics
        _assert_inside(e.diagnostics, {str(path): raw.decode("utf-8", errors="replace")})
    diags = lint_file(path)
    assert isinstance(diags, list)
    _assert_inside(diags, {str(path): raw.decode("utf-8", errors="replace")})


@FUZZ
@given(st.one_of(_structures, _scene_like), st.booleans())
def test_random_yaml_structures_only_raise_scene_error(data: object, flow: bool):
    try:
        text = _dump(data, flow)
    except Exception:  # the dumper's own limits, not ours
        return
    _load_ok_or_scene_error(text, "<fuzz>")


# --- (b) mutations of the example scenes --------------------------------------------------

_VALUE_RE = re.compile(r"^(\s*(?:- )?[^\s:#][^:#]*:\s+)([^#\n]+)")


def _token(value: object, raw: bool) -> str:
    """A scalar as it could appear in a file: quoted properly, or pasted raw."""
    if isinstance(value, str) and raw:
        return value
    return json.dumps(value, allow_nan=True)


@st.composite
def _mutation(draw: st.DrawFn, lines: list[str]) -> list[str]:
    lines = list(lines)
    n = len(lines)
    i = draw(st.integers(0, max(n - 1, 0)))
    kind = draw(
        st.sampled_from(["delete", "duplicate", "swap", "indent", "value", "key", "cut", "char"])
    )
    if not lines:
        return [draw(st.text(max_size=20))]
    if kind == "delete":
        del lines[i]
    elif kind == "duplicate":
        lines.insert(i, lines[i])
    elif kind == "swap":
        j = draw(st.integers(0, n - 1))
        lines[i], lines[j] = lines[j], lines[i]
    elif kind == "indent":
        shift = draw(st.sampled_from([-4, -2, -1, 1, 2, 4]))
        body = lines[i].lstrip(" ")
        lines[i] = " " * max(0, len(lines[i]) - len(body) + shift) + body
        if draw(st.booleans()) and draw(st.booleans()):
            lines[i] = "\t" + lines[i]
    elif kind == "value":
        m = _VALUE_RE.match(lines[i])
        if m:
            lines[i] = m.group(1) + _token(draw(_scalars), draw(st.booleans()))
    elif kind == "key":
        indent = lines[i][: len(lines[i]) - len(lines[i].lstrip(" "))]
        key = draw(
            st.one_of(st.sampled_from(_KEYS), st.from_regex(r"[a-z_]{1,10}", fullmatch=True))
        )
        lines.insert(i, f"{indent}{key}: {_token(draw(_scalars), draw(st.booleans()))}")
    elif kind == "cut":
        text = "\n".join(lines)
        return text[: draw(st.integers(0, len(text)))].split("\n")
    else:
        col = draw(st.integers(0, len(lines[i])))
        ch = draw(st.sampled_from([*":-[]{},&*!|>'\"#%@` \t", "\u00a0", "\x00"]))
        lines[i] = lines[i][:col] + ch + lines[i][col + 1 :]
    return lines


@st.composite
def _mutated_example(draw: st.DrawFn) -> tuple[str, str]:
    name = draw(st.sampled_from(sorted(EXAMPLES)))
    lines = EXAMPLES[name].split("\n")
    for _ in range(draw(st.integers(1, 4))):
        lines = draw(_mutation(lines))
    return name, "\n".join(lines)


@pytest.fixture(scope="module")
def scenes_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of scenes/, so mutated files still find what they extend and include."""
    dest = tmp_path_factory.mktemp("fuzz") / "scenes"
    shutil.copytree(SCENES, dest)
    return dest


@FUZZ
@given(_mutated_example())
def test_mutated_examples_only_raise_scene_error(scenes_copy: Path, case: tuple[str, str]):
    name, text = case
    _load_ok_or_scene_error(text, str(scenes_copy / name))


@FUZZ
@given(_mutated_example())
def test_mutated_examples_lint_to_diagnostics_inside_the_file(
    scenes_copy: Path, case: tuple[str, str]
):
    name, text = case
    path = scenes_copy / Path(name).parent / f"mutated-{Path(name).name}"
    path.write_text(text, encoding="utf-8")
    diags = lint_file(path)
    assert isinstance(diags, list)
    _assert_inside(diags, {str(path): text})


# --- (c) scenes built from the language's own vocabulary -----------------------------------
# Mostly valid values, names that sometimes refer to nothing: such scenes get past
# validation, so every semantic and asset rule of the linter runs on odd but legal shapes.

_NAMES = st.sampled_from(["a", "b", "idle", "listening", "thinking", "speaking", "x.y"])
_LEVEL = st.sampled_from(["-12 dB", "0 dB", "+6 dB", "-inf dB", 0, 0.3, 1, 2])
_DUR = st.sampled_from(["0", "1ms", "250ms", "2s", "1min"])
_SRC = st.sampled_from(
    ["builtin:chime", "builtin:office-ambience", "builtin:room-tone", "missing.wav", "."]
)
_EVENT = st.one_of(st.sampled_from(list(EVENTS)), _NAMES.map(lambda n: f"trigger.{n}"), _NAMES)


def _plays(extra: dict[str, st.SearchStrategy]) -> st.SearchStrategy:
    what = st.one_of(
        st.fixed_dictionaries({"sound": _NAMES}), st.fixed_dictionaries({"source": _SRC})
    )
    more = st.fixed_dictionaries(
        {},
        optional={
            "gain": _LEVEL,
            "pan": st.sampled_from([-1, 0, 0.5]),
            "curve": st.sampled_from(["linear", "equal-power"]),
            "duck": st.one_of(st.just(True), _LEVEL, st.just({"attack": "0", "release": "2s"})),
            **extra,
        },
    )
    return st.tuples(what, more).map(lambda t: {**t[0], **t[1]})


_CUE = _plays(
    {
        "loop": st.booleans(),
        "delay": st.one_of(_DUR, st.tuples(_DUR, _DUR).map(sorted).map(list)),
        "fade_in": _DUR,
        "fade_out": _DUR,
        "on_exit": st.just("stop"),
    }
)
_SOUND = st.one_of(
    _SRC,
    st.fixed_dictionaries(
        {"variants": st.lists(st.one_of(_SRC, st.fixed_dictionaries({"source": _SRC},
                              optional={"weight": st.sampled_from([0, 1, 5]),
                                        "trim": st.just({"start": "1ms", "end": "2s"})})),
                              min_size=1, max_size=3)},
        optional={"pick": st.sampled_from(["random", "shuffle", "sequence"]),
                  "silence": st.sampled_from([0, 0.5, "100%"]), "start": st.just("random")},
    ),
)  # fmt: skip
_STATE = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {},
        optional={
            "cues": st.lists(_CUE, max_size=2),
            "after": st.dictionaries(
                _DUR, st.fixed_dictionaries({}, optional={"play": _CUE, "goto": _NAMES}),
                max_size=2,
            ),
            "layers": st.dictionaries(_NAMES, _LEVEL, max_size=2),
        },
    ),
)  # fmt: skip
_GRAMMAR_SCENE = st.fixed_dictionaries(
    {"version": st.just(1)},
    optional={
        "sounds": st.dictionaries(_NAMES, _SOUND, max_size=3),
        "layers": st.dictionaries(_NAMES, _plays({"ramp": _DUR, "crossfade": _DUR}), max_size=2),
        "states": st.dictionaries(_NAMES, _STATE, max_size=4),
        "initial": _NAMES,
        "follow_agent": st.booleans(),
        "transitions": st.lists(
            st.fixed_dictionaries({"on": _EVENT}, optional={
                "from": st.one_of(_NAMES, st.lists(_NAMES, max_size=2), st.just("*")),
                "to": _NAMES, "play": _CUE,
                "when": st.dictionaries(st.sampled_from(["tool", "status", "old_state", "q"]),
                                        st.sampled_from(["done", "x", 1, True]), max_size=2)}),
            max_size=4,
        ),
        "triggers": st.dictionaries(_NAMES, st.one_of(st.none(), st.just("Say it."),
                                    st.just({"llm": True, "fields": {"q": "a field"}})),
                                    max_size=2),
        "scatter": st.dictionaries(_NAMES, _plays({"interval": st.just(["1s", "2s"]),
                                                   "states": st.lists(_NAMES, max_size=2)}),
                                   max_size=2),
        "master": st.fixed_dictionaries({}, optional={"gain": _LEVEL, "max_voices": st.just(1)}),
    },
)  # fmt: skip


@FUZZ
@given(_GRAMMAR_SCENE)
def test_scenes_from_the_vocabulary_lint_to_diagnostics_inside_the_file(
    scenes_copy: Path, data: dict
):
    text = _dump(data, flow=False)
    path = scenes_copy / "grammar.yaml"
    path.write_text(text, encoding="utf-8")
    diags = lint_file(path)
    _assert_inside(diags, {str(path): text})
    _load_ok_or_scene_error(text, str(path))


def test_mutations_do_break_scenes(scenes_copy: Path):
    """A deleted `version:` line is reported at the scene's first key, not anywhere."""
    text = EXAMPLES["office.yaml"].replace("version: 1\n", "")
    first_key = next(
        n for n, line in enumerate(text.splitlines(), 1) if line and not line.startswith("#")
    )
    path = scenes_copy / "no-version.yaml"
    path.write_text(text, encoding="utf-8")
    (d,) = [d for d in lint_file(path) if d.severity == "error"]
    assert (d.code, d.pos.line, d.pos.col) == ("SC104", first_key, 1)
    assert "missing required key 'version'" in d.message


def test_every_event_name_survives_as_a_key():
    # Event names contain dots; as keys of `when` or `after` they must not crash either.
    for name in EVENTS:
        _load_ok_or_scene_error(f"version: 1\nstates:\n  a:\n    after:\n      {name}: x\n", "<e>")


@pytest.mark.parametrize(
    ("text", "line", "col", "message"),
    [
        # Found by the fuzzer: lone surrogate escapes crashed pydantic's error rendering.
        ('version: 1\ntriggers: {"\\ud800": x}\n', 2, 12, "lone UTF-16 surrogate"),
        # Found by the fuzzer: a forbidden control character was reported at 1:1.
        ("version: 1\nname: a\x0bb\n", 2, 8, "character U+000B is not allowed"),
    ],
)
def test_regressions_are_reported_where_they_are(text: str, line: int, col: int, message: str):
    with pytest.raises(SceneError) as ei:
        loads(text, "<r>")
    (d,) = ei.value.diagnostics
    assert (d.pos.line, d.pos.col, d.code) == (line, col, "SC001")
    assert message in d.message


def test_surrogate_pair_escapes_spell_their_character():
    assert loads('version: 1\nname: "\\ud83d\\udd14 desk"\n').name == "\U0001f514 desk"


def test_invalid_utf8_column_counts_characters(scratch: Path):
    """Found by the fuzzer: after multi-byte characters the column was a byte offset."""
    path = scratch / "latin.yaml"
    path.write_bytes(b"version: 1\nname: caf\xc3\xa9 \xe9t\xe9\n")  # UTF-8, then Latin-1
    with pytest.raises(SceneError) as ei:
        load(path)
    (d,) = ei.value.diagnostics
    assert (d.pos.line, d.pos.col, d.code) == (2, 12, "SC001")
    assert d.message == "invalid UTF-8 byte 0xe9"
