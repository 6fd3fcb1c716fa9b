"""A source's audio never rises above -60 dBFS: it plays, but nobody hears it."""

from __future__ import annotations

from collections.abc import Iterator

from ..units import db_to_gain, gain_to_db
from . import _assets
from .rule import Context, Finding

CODE = "SC404"
NAME = "silent-audio"
SEVERITY = "warning"
PHASE = "assets"
SUMMARY = "A source's audio peaks below -60 dBFS, so it is effectively silent."

THRESHOLD_DB = -60.0


def check(ctx: Context) -> Iterator[Finding]:
    floor = db_to_gain(THRESHOLD_DB)
    for ref in _assets.all_sources(ctx):
        a = _assets.analyze(ref)
        if not a.ok or a.peak >= floor:
            continue
        level = "digital silence" if a.peak == 0 else f"{gain_to_db(a.peak):.1f} dBFS"
        part = " (the trimmed part)" if ref.trim is not None else ""
        yield ctx.at(
            ref.path,
            f"audio file '{_assets.shown(ref.source)}'{part} is silent: it peaks at {level}, "
            f"below {THRESHOLD_DB:g} dBFS",
            hint="check it is the right file (or the right `trim`); normalize it so it peaks "
            "near -1 dBFS and set its level with `gain`",
        )
