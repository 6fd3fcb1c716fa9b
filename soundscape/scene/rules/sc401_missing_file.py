"""A source names a file that does not exist."""

from __future__ import annotations

from collections.abc import Iterator

from . import _assets
from .rule import Context, Finding

CODE = "SC401"
NAME = "missing-file"
SEVERITY = "error"
PHASE = "assets"
SUMMARY = "A source names an audio file that does not exist."


def check(ctx: Context) -> Iterator[Finding]:
    for ref in _assets.all_sources(ctx):
        if _assets.analyze(ref).problem != "missing":
            continue
        if ref.source.startswith("builtin:"):
            hint = (
                "this built-in ships with livekit-agents; install it in this environment "
                "(see `soundscape lint --list-builtins`)"
            )
        else:
            hint = "paths are relative to the scene file that names them; check the spelling"
        yield ctx.at(
            ref.path,
            f"audio file '{_assets.shown(ref.source)}' not found (looked at {_assets.shown(str(ref.file))})",
            hint=hint,
        )
