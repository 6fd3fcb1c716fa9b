"""SC1xx: the schema (unknown keys, invalid values, out of range, missing keys)."""

from __future__ import annotations

import pytest
from support.lint import WriteScene, fires_at

_CASES = [
    (
        "SC101",
        "version: 1\nlayers:\n  room: {source: builtin:office-ambience, fade_inn: 2s}\n",
        3,
        43,
    ),
    (
        "SC102",
        "version: 1\nlayers:\n  room: {source: builtin:office-ambience, fade_in: 2}\n",
        3,
        52,
    ),
    (
        "SC103",
        "version: 1\nlayers:\n  room: {source: builtin:office-ambience, gain: 9 dB}\n",
        3,
        49,
    ),
    ("SC104", "layers:\n  room: builtin:office-ambience\n", 1, 1),
]


@pytest.mark.parametrize(("code", "text", "line", "col"), _CASES, ids=[c[0] for c in _CASES])
def test_schema_rules_fire_at_their_position(
    write_scene: WriteScene, code: str, text: str, line: int, col: int
):
    fires_at(write_scene, code, text, line, col)
