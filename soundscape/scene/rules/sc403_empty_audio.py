"""A source's file (or its trimmed part) holds no audio at all."""

from __future__ import annotations

from collections.abc import Iterator

from . import _assets
from .rule import Context, Finding

CODE = "SC403"
NAME = "empty-audio"
SEVERITY = "error"
PHASE = "assets"
SUMMARY = "A source's file, or the part its trim keeps, decodes to zero length."


def check(ctx: Context) -> Iterator[Finding]:
    for ref in _assets.all_sources(ctx):
        a = _assets.analyze(ref)
        if a.problem != "empty":
            continue
        trimmed = "trim" in a.reason
        yield ctx.at(
            ref.path,
            f"audio file '{_assets.shown(ref.source)}' has no audio: {a.reason}",
            hint="fix the `trim` so it lies inside the file"
            if trimmed
            else "re-export the file; it holds no samples",
        )
