"""A transition listens for an event that does not exist (or an undeclared trigger)."""

from __future__ import annotations

import difflib
from collections.abc import Iterator

from .. import events
from .rule import Context, Finding

CODE = "SC204"
NAME = "unknown-event"
SEVERITY = "error"
PHASE = "model"
SUMMARY = (
    "A transition listens for an event name that is not in the vocabulary nor a declared trigger."
)


def check(ctx: Context) -> Iterator[Finding]:
    triggers = set(ctx.scene.triggers)
    known = events.all_names(triggers)
    for i, tr in enumerate(ctx.scene.transitions):
        if events.normalize(tr.on, triggers) is None:
            close = difflib.get_close_matches(tr.on, known, n=1, cutoff=0.5)
            msg = f"unknown event '{tr.on}'"
            msg += f"; did you mean '{close[0]}'?" if close else ""
            if tr.on.startswith("trigger."):
                hint = (
                    f"declare the trigger under `triggers:` as '{tr.on.removeprefix('trigger.')}'"
                )
            else:
                hint = "events are agent.*, user.*, tool.started/ended, speech.created, session.*, trigger.NAME"
            yield ctx.at(("transitions", i, "on"), msg, hint=hint)
