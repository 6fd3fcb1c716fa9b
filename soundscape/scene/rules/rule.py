"""What a lint rule is: an id, a default severity, one line of summary, a check."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Literal

from ...errors import Diagnostic, Pos, Severity
from ..merge import Merged
from ..model import Scene
from ..yamlio import PathKey

Phase = Literal["loader", "model", "assets"]


@dataclass(frozen=True)
class Finding:
    """A rule's raw finding; the runner adds the rule's code and severity."""

    pos: Pos
    message: str
    hint: str | None = None


@dataclass
class Context:
    """What a check sees: the validated scene and where each of its values was written."""

    scene: Scene
    merged: Merged
    options: dict[str, Any] = field(default_factory=dict)

    def at(
        self, path: PathKey, message: str, *, hint: str | None = None, key: bool = False
    ) -> Finding:
        return Finding(self.merged.pos(path, key=key), message, hint)


Check = Callable[[Context], Iterable[Finding]]


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    severity: Severity
    summary: str
    phase: Phase
    check: Check | None = None

    @classmethod
    def from_module(cls, mod: ModuleType) -> Rule:
        return cls(
            mod.CODE, mod.NAME, mod.SEVERITY, mod.SUMMARY, mod.PHASE, getattr(mod, "check", None)
        )

    def run(self, ctx: Context) -> Iterator[Diagnostic]:
        assert self.check is not None
        for f in self.check(ctx):
            yield Diagnostic(
                f.pos,
                f.message,
                code=self.code,
                severity=self.severity,
                hint=f.hint,
                rule=self.name,
            )
