"""Helpers for the lint-rule tests: run the linter on a file, read findings by code.

Audio fixtures are generated (numpy + the stdlib `wave` module, through
support.audio_checks) so every number the asset rules measure is known: a sine's peak,
a seam's jump.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from soundscape.errors import Diagnostic
from soundscape.lint import LintOptions, lint_file
from support.audio_checks import RATE, write_wav

__all__ = ["RATE", "WriteScene", "at", "fires_at", "lint", "one", "sine", "write_wav"]

# The `write_scene` fixture (tests/conftest.py): dedented text → a file under tmp_path.
WriteScene = Callable[..., Path]


def sine(freq: float, seconds: float, peak: float = 0.5) -> np.ndarray:
    """A 1-D float64 sine: the asset tests join it to silence and slice it as one channel."""
    t = np.arange(round(seconds * RATE)) / RATE
    return peak * np.sin(2 * np.pi * freq * t)


def lint(path: Path, **options: object) -> list[Diagnostic]:
    return lint_file(path, LintOptions(**options))  # type: ignore[arg-type]


def at(diags: list[Diagnostic], code: str) -> list[tuple[int, int]]:
    """(line, col) of every finding with ``code``, in the linter's order."""
    return [(d.pos.line, d.pos.col) for d in diags if d.code == code]


def one(diags: list[Diagnostic], code: str) -> Diagnostic:
    found = [d for d in diags if d.code == code]
    assert len(found) == 1, [str(d) for d in diags]
    return found[0]


def fires_at(write_scene: WriteScene, code: str, text: str, line: int, col: int) -> None:
    """``code`` fires once on ``text``, at line:col (assets not read)."""
    diags = lint(write_scene(text), assets=False)
    assert [(d.pos.line, d.pos.col) for d in diags if d.code == code] == [(line, col)], [
        str(d) for d in diags
    ]
