"""A source's file exists but is not audio PyAV can decode."""

from __future__ import annotations

from collections.abc import Iterator

from . import _assets
from .rule import Context, Finding

CODE = "SC402"
NAME = "undecodable-file"
SEVERITY = "error"
PHASE = "assets"
SUMMARY = "A source's file exists but does not decode as audio."


def check(ctx: Context) -> Iterator[Finding]:
    for ref in _assets.all_sources(ctx):
        a = _assets.analyze(ref)
        if a.problem != "undecodable":
            continue
        yield ctx.at(
            ref.path,
            f"audio file '{_assets.shown(ref.source)}' cannot be used: {a.reason}",
            hint="point `source` at an audio file"
            if a.reason == "not a regular file"
            else "re-export it as WAV, FLAC, Ogg/Vorbis, Opus, MP3 or AAC; "
            "`ffprobe FILE` shows what it really contains",
        )
