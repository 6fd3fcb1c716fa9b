"""What a lint rule is: an id, a default severity, one line of summary, a check."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
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

    def option(self, rule: str, key: str, default: float) -> float:
        """A rule's threshold: ``soundscape lint --set RULE.KEY=VALUE``, else ``default``."""
        return float(self.options.get(f"{rule}.{key}", default))

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
    options: Mapping[str, float] = field(default_factory=dict, compare=False, hash=False)
    """The thresholds the rule reads with `Context.option`, and their defaults."""

    @classmethod
    def from_module(cls, mod: ModuleType) -> Rule:
        return cls(
            mod.CODE,
            mod.NAME,
            mod.SEVERITY,
            mod.SUMMARY,
            mod.PHASE,
            getattr(mod, "check", None),
            dict(getattr(mod, "OPTIONS", {})),
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
