"""SC0xx: reading the file (YAML syntax, duplicate keys, unreadable files, extends/include)."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.lint import WriteScene, fires_at

from soundscape.lint import lint_file

_CASES = [
    (
        "SC001",
        "version: 1\nlayers:\n  room: {source: builtin:office-ambience, gain: [1, }\n",
        3,
        53,
    ),
    ("SC002", "version: 1\nsounds:\n  a: builtin:hold-music\n  a: builtin:chime\n", 4, 3),
    ("SC004", "version: 1\nextends: missing/base.yaml\n", 2, 10),
]


@pytest.mark.parametrize(("code", "text", "line", "col"), _CASES, ids=[c[0] for c in _CASES])
def test_reading_rules_fire_at_their_position(
    write_scene: WriteScene, code: str, text: str, line: int, col: int
):
    fires_at(write_scene, code, text, line, col)


def test_unreadable_scene_is_sc003(tmp_path: Path):
    (tmp_path / "folder.yaml").mkdir()
    (d,) = lint_file(tmp_path / "folder.yaml")
    assert (d.code, d.pos.line, d.pos.col) == ("SC003", 1, 1)
    assert "is a folder" in d.message
