"""Applying the rules: the checks a scene must pass to load, and inline suppressions.

`soundscape lint` (lint/runner.py) runs every rule through `run_guarded`; the loader runs
only `semantic_errors`. Both honour ``# soundscape: disable=CODE`` comments (`suppress`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from ...errors import Diagnostic, Pos
from ..merge import Merged
from ..model import Scene
from ..policy import TRUSTED, Policy
from ..yamlio import source_lines
from . import ALL_RULES, BY_CODE
from .rule import Context, Rule

log = logging.getLogger("soundscape")
_DISABLE_RE = re.compile(r"#\s*soundscape:\s*disable=([A-Za-z0-9_,\s-]+)")


def semantic_errors(scene: Scene, merged: Merged, policy: Policy | None = None) -> list[Diagnostic]:
    """The model-phase errors that make a scene unplayable (used by the loader)."""
    ctx = Context(scene, merged, {"policy": policy or TRUSTED})
    out: list[Diagnostic] = []
    for rule in ALL_RULES:
        if rule.phase == "model" and rule.severity == "error" and rule.check is not None:
            out.extend(rule.run(ctx))
    return suppress(out, merged.texts)


def run_guarded(rule: Rule, ctx: Context) -> list[Diagnostic]:
    """A rule's findings; a bug in one rule becomes a diagnostic, not a traceback."""
    try:
        return list(rule.run(ctx))
    except Exception as e:
        log.exception("lint rule %s crashed on %s", rule.code, ctx.merged.file)
        return [
            Diagnostic(
                Pos(ctx.merged.file),
                f"internal error in rule {rule.code} ({type(e).__name__}: {e}); the scene may "
                "be fine, please report this",
                code=rule.code,
                severity="error",
                rule=rule.name,
                hint=f"run with `--disable {rule.code}` to skip this rule meanwhile",
            )
        ]


def suppress(diags: Sequence[Diagnostic], texts: dict[str, str]) -> list[Diagnostic]:
    """Drop findings silenced by ``# soundscape: disable=CODE`` on their line or the line above."""
    cache: dict[str, list[str]] = {}
    out = []
    for d in diags:
        lines = cache.setdefault(d.pos.file, source_lines(texts.get(d.pos.file, "")))
        if not _silenced(d, lines):
            out.append(d)
    return out


# The sandbox of an untrusted scene: the scene's own comments must not switch it off.
_NEVER_SILENCED = frozenset({"SC601", "SC602"})


def _silenced(d: Diagnostic, lines: list[str]) -> bool:
    if d.code in _NEVER_SILENCED:
        return False
    idx = d.pos.line - 1
    candidates = []
    if 0 <= idx < len(lines):
        candidates.append(lines[idx])
    if 1 <= idx <= len(lines) and lines[idx - 1].lstrip().startswith("#"):
        candidates.append(lines[idx - 1])
    rule_name = d.rule or (BY_CODE[d.code].name if d.code in BY_CODE else None)
    for line in candidates:
        for m in _DISABLE_RE.finditer(line):
            ids = {x.strip() for x in m.group(1).split(",")}
            if d.code in ids or (rule_name and rule_name in ids) or "all" in ids:
                return True
    return False
