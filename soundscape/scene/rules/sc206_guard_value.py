"""A transition's `when` guard expects a value its event's field never takes."""

from __future__ import annotations

import difflib
from collections.abc import Iterator

from .. import events
from ..yamlio import PathKey
from .rule import Context, Finding

CODE = "SC206"
NAME = "guard-value"
SEVERITY = "warning"
PHASE = "model"
SUMMARY = (
    "A transition's `when` expects a value its event's field never takes (e.g. status: failed)."
)

# The closed sets of values some fields carry, as livekit-agents reports them
# (AgentState, UserState, ToolCallEnded.status, SpeechCreatedEvent.source, CloseReason);
# a test keeps this table in step with livekit-agents. Other fields (tool names, ids) are open.
_CLOSE_REASONS = (
    "error",
    "job_shutdown",
    "participant_disconnected",
    "user_initiated",
    "task_completed",
)
_BOOL = (True, False)
VALUES: dict[tuple[str, str], tuple[str | bool, ...]] = {
    **{(f"agent.{s}", "old_state"): events.AGENT_STATES for s in events.AGENT_STATES},
    **{(f"user.{s}", "old_state"): events.USER_STATES for s in events.USER_STATES},
    ("tool.ended", "status"): ("done", "error", "cancelled"),
    ("speech.created", "source"): ("say", "generate_reply"),
    ("speech.created", "user_initiated"): _BOOL,
    ("session.error", "recoverable"): _BOOL,
    ("session.close", "reason"): _CLOSE_REASONS,
}


def _matches(value: object, allowed: tuple[str | bool, ...]) -> bool:
    """Whether the guard value can equal any value the field takes, compared like the
    runtime's guards do (`soundscape.engine.machine._same`: equal, or equal as text)."""
    for field_value in allowed:
        if field_value == value:
            return True
        if isinstance(value, bool):
            if str(field_value).lower() == str(value).lower():
                return True
        elif str(field_value) == str(value):
            return True
    return False


def check(ctx: Context) -> Iterator[Finding]:
    triggers = set(ctx.scene.triggers)
    for i, tr in enumerate(ctx.scene.transitions):
        event = events.normalize(tr.on, triggers)
        if event is None:
            continue
        for key, guard in tr.when.items():
            allowed = VALUES.get((event, key))
            if allowed is None:
                continue
            written = ctx.merged.data_at(("transitions", i, "when", key))
            is_list = isinstance(guard, tuple) and isinstance(written, list)
            values = list(guard) if isinstance(guard, tuple) else [guard]
            for j, value in enumerate(values):
                if _matches(value, allowed):
                    continue
                path: PathKey = ("transitions", i, "when", key, *((j,) if is_list else ()))
                never = ", so this transition never fires" if len(values) == 1 else ""
                if allowed == _BOOL:
                    yield ctx.at(
                        path,
                        f"'{key}' of event '{event}' is true or false, never {value!r}{never}",
                        hint="write `true` or `false` without quotes",
                    )
                    continue
                names = [str(a) for a in allowed]
                close = difflib.get_close_matches(str(value), names, n=1)
                msg = f"event '{event}' never has {key} {value!r}{never}"
                msg += f"; did you mean '{close[0]}'?" if close else ""
                yield ctx.at(path, msg, hint=f"'{key}' is one of: " + ", ".join(names))
