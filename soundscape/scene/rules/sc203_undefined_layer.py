"""A state sets the level of a layer that `layers` does not define."""

from __future__ import annotations

import difflib
from collections.abc import Iterator

from .rule import Context, Finding

CODE = "SC203"
NAME = "undefined-layer"
SEVERITY = "error"
PHASE = "model"
SUMMARY = "A state sets the level of a layer that `layers` does not define."


def check(ctx: Context) -> Iterator[Finding]:
    layers = list(ctx.scene.layers)
    for sname, state in ctx.scene.states.items():
        for lname in state.layers:
            if lname not in ctx.scene.layers:
                close = difflib.get_close_matches(lname, layers, n=1)
                msg = f"layer '{lname}' is not defined"
                msg += f"; did you mean '{close[0]}'?" if close else ""
                yield ctx.at(
                    ("states", sname, "layers", lname),
                    msg,
                    key=True,
                    hint="per-state levels apply to layers declared under `layers:`",
                )
