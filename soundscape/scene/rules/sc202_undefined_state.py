"""A transition, timer, `initial` or scatter names a state that `states` does not define."""

from __future__ import annotations

import difflib
from collections.abc import Iterator

from .. import walk
from .rule import Context, Finding

CODE = "SC202"
NAME = "undefined-state"
SEVERITY = "error"
PHASE = "model"
SUMMARY = "A transition, timer, `initial` or scatter names a state that is not defined."


def check(ctx: Context) -> Iterator[Finding]:
    states = list(ctx.scene.state_names)
    for path, name in walk.state_refs(ctx.scene):
        if name not in states:
            close = difflib.get_close_matches(name, states, n=1)
            msg = f"state '{name}' is not defined"
            msg += f"; did you mean '{close[0]}'?" if close else ""
            yield ctx.at(
                path, msg, hint="declare it under `states:` (an empty state is `name: {}`)"
            )
