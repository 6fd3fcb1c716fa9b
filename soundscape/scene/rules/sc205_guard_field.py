"""A transition's `when` guard tests a field its event never carries, so it can never match."""

from __future__ import annotations

import difflib
from collections.abc import Iterator

from .. import events
from .rule import Context, Finding

CODE = "SC205"
NAME = "guard-field"
SEVERITY = "warning"
PHASE = "model"
SUMMARY = "A transition's `when` names a field its event never carries, so it never fires."


def check(ctx: Context) -> Iterator[Finding]:
    triggers = set(ctx.scene.triggers)
    for i, tr in enumerate(ctx.scene.transitions):
        event = events.normalize(tr.on, triggers)
        if event is None:
            continue  # SC204 reports the unknown event
        if event.startswith("trigger."):
            fields = list(ctx.scene.triggers[event.removeprefix("trigger.")].fields)
            where = f"trigger '{event.removeprefix('trigger.')}'"
        else:
            fields = list(events.EVENTS[event].fields)
            where = f"event '{event}'"
        for key in tr.when:
            if key in fields:
                continue
            close = difflib.get_close_matches(key, fields, n=1)
            msg = f"{where} has no field '{key}', so this transition never fires"
            msg += f"; did you mean '{close[0]}'?" if close else ""
            if fields:
                hint = f"{where} carries: " + ", ".join(fields)
            else:
                hint = f"{where} carries no fields; remove `when`"
            if event.startswith("trigger."):
                hint += " (declare more under the trigger's `fields:`)"
            yield ctx.at(("transitions", i, "when", key), msg, hint=hint, key=True)
