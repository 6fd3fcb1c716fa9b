"""Positions, diagnostics, and every error soundscape raises on purpose.

One tree, as httpx has one: ``except SoundscapeError`` catches anything that comes from
outside the program — a scene, an audio file, a missing tool or server::

    SoundscapeError
    ├── SceneError          a scene does not load (``diagnostics``: file:line:col, why)
    ├── AssetError          an audio file is missing, too large, or does not decode
    ├── ScaffoldError       `soundscape new` cannot write the scene
    ├── GraphvizMissing     `soundscape graph` needs Graphviz's ``dot`` for an image
    ├── PlotUnavailable     a plot needs matplotlib
    └── ServerUnavailable   the demo found no livekit-server, or it would not start

A mistake in the calling code (a wrong argument, ``play()`` before ``start()``) is a
`ValueError`, `TypeError` or `RuntimeError`, as Python's own are: those are bugs to fix,
not conditions to handle.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True, order=True)
class Pos:
    """A place in a file; ``line`` and ``col`` are 1-based."""

    file: str
    line: int = 1
    col: int = 1

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True)
class Diagnostic:
    """One finding about a scene: where, what, which rule, and how to fix it."""

    pos: Pos
    message: str
    code: str
    severity: Severity = "error"
    hint: str | None = None
    rule: str | None = None

    def __str__(self) -> str:
        text = f"{self.pos}: {self.severity}: {self.message} [{self.code}]"
        return f"{text}\n  hint: {self.hint}" if self.hint else text


class SoundscapeError(Exception):
    """Base class of every error soundscape raises on purpose."""


class SceneError(SoundscapeError):
    """A scene could not be loaded; ``diagnostics`` says where and why."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics: tuple[Diagnostic, ...] = tuple(diagnostics)
        super().__init__(self._render())

    @classmethod
    def single(
        cls,
        file: str,
        message: str,
        *,
        code: str,
        hint: str | None = None,
        line: int = 1,
        col: int = 1,
    ) -> SceneError:
        return cls([Diagnostic(Pos(file, line, col), message, code=code, hint=hint)])

    @classmethod
    def merge(cls, errors: Iterable[SceneError]) -> SceneError:
        return cls([d for e in errors for d in e.diagnostics])

    def _render(self) -> str:
        errs = [d for d in self.diagnostics if d.severity == "error"] or list(self.diagnostics)
        head = "\n".join(str(d) for d in errs[:20])
        more = len(errs) - 20
        return head + (f"\n… and {more} more" if more > 0 else "")


class AssetError(SoundscapeError):
    """An audio file is missing, unreadable, too large or does not decode."""

    def __init__(self, path: str, message: str, *, hint: str | None = None) -> None:
        self.path = path
        self.reason = message
        self.hint = hint
        super().__init__(f"{path}: {message}" + (f" ({hint})" if hint else ""))


class ScaffoldError(SoundscapeError):
    """The scene cannot be written (bad name, unknown template, file exists)."""


class GraphvizMissing(SoundscapeError):
    """Graphviz's `dot` is not installed, so no image can be drawn."""


class PlotUnavailable(SoundscapeError):
    """matplotlib is not installed."""


class ServerUnavailable(SoundscapeError):
    """No livekit-server binary, or it would not start; the message says why and what to do."""
