"""A cue, layer or scatter names a sound that `sounds` does not define."""

from __future__ import annotations

import difflib
from collections.abc import Iterator

from .. import walk
from .rule import Context, Finding

CODE = "SC201"
NAME = "undefined-sound"
SEVERITY = "error"
PHASE = "model"
SUMMARY = "A cue, layer or scatter plays a sound name that `sounds` does not define."


def check(ctx: Context) -> Iterator[Finding]:
    names = list(ctx.scene.sounds)
    for path, p in walk.plays(ctx.scene):
        if p.sound is not None and p.sound not in ctx.scene.sounds:
            close = difflib.get_close_matches(p.sound, names, n=1)
            msg = f"sound '{p.sound}' is not defined"
            msg += f"; did you mean '{close[0]}'?" if close else ""
            written_as_str = not isinstance(ctx.merged.data_at(path), dict)
            yield ctx.at(
                path if written_as_str else (*path, "sound"),
                msg,
                hint="define it under `sounds:`, or use `source:` to play a file directly",
            )
