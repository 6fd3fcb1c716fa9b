"""An untrusted scene reads a file it may not: outside the asset roots, absolute, a device."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from .. import walk
from ..policy import TRUSTED, Policy
from ..yamlio import PathKey
from .rule import Context, Finding

CODE = "SC601"
NAME = "untrusted-source"
SEVERITY = "error"
PHASE = "model"
SUMMARY = "An untrusted scene names a file outside its asset roots, an absolute path or a device."


def check(ctx: Context) -> Iterator[Finding]:
    policy = ctx.options.get("policy", TRUSTED)
    if policy.trusted:
        return
    base = ctx.scene.base_dir
    for name, sound in ctx.scene.sounds.items():
        if sound.source is not None:
            yield from _one(
                ctx, policy, sound.source, base, ("sounds", name, "source"), ("sounds", name)
            )
        for i, v in enumerate(sound.variants or ()):
            yield from _one(ctx, policy, v.source, base, ("sounds", name, "variants", i, "source"),
                            ("sounds", name, "variants", i))  # fmt: skip
    for path, p in walk.plays(ctx.scene):
        if p.source is not None:
            yield from _one(ctx, policy, p.source, base, (*path, "source"), path)


def _one(
    ctx: Context, policy: Policy, source: str, base: Path, path: PathKey, shorthand: PathKey
) -> Iterator[Finding]:
    problem = policy.source_problem(source, base)
    if problem is not None:
        at = path if isinstance(ctx.merged.data_at(shorthand), dict) else shorthand
        yield ctx.at(at, problem, hint="untrusted scenes read only files inside their asset roots")
