"""The fixed vocabulary of events a scene reacts to.

Names are ``source.what``. Agent and user events come from AgentSession's
``agent_state_changed`` / ``user_state_changed``; tool events from
``tool_execution_updated``; ``speech.created`` from ``speech_created``;
``session.*`` from ``close``/``error``. A scene's own triggers are
``trigger.NAME``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

AGENT_STATES = ("initializing", "idle", "listening", "thinking", "speaking")
USER_STATES = ("speaking", "listening", "away")


@dataclass(frozen=True)
class EventSpec:
    name: str
    description: str
    fields: dict[str, str] = field(default_factory=dict)


def _specs() -> dict[str, EventSpec]:
    out: dict[str, EventSpec] = {}
    for s in AGENT_STATES:
        out[f"agent.{s}"] = EventSpec(
            f"agent.{s}", f"The agent's state became '{s}'.", {"old_state": "previous agent state"}
        )
    for s in USER_STATES:
        out[f"user.{s}"] = EventSpec(
            f"user.{s}", f"The user's state became '{s}'.", {"old_state": "previous user state"}
        )
    tool = {"tool": "the function tool's name", "call_id": "the call's id"}
    out["tool.started"] = EventSpec("tool.started", "A function tool call was dispatched.", tool)
    out["tool.ended"] = EventSpec(
        "tool.ended",
        "A function tool call finished.",
        {**tool, "status": "done, error or cancelled"},
    )
    out["speech.created"] = EventSpec(
        "speech.created",
        "The agent created a speech (say / generate_reply).",
        {
            "source": "say or generate_reply",
            "user_initiated": "true when created by say()/generate_reply()",
        },
    )
    out["session.close"] = EventSpec(
        "session.close", "The AgentSession closed.", {"reason": "why it closed"}
    )
    out["session.error"] = EventSpec(
        "session.error",
        "The AgentSession reported an error.",
        {"recoverable": "whether it recovers"},
    )
    return out


EVENTS: dict[str, EventSpec] = _specs()


def is_builtin_event(name: str) -> bool:
    return name in EVENTS


def normalize(name: str, triggers: set[str] | frozenset[str] = frozenset()) -> str | None:
    """The canonical event name, or None if unknown. A bare trigger name means ``trigger.NAME``."""
    if name in EVENTS:
        return name
    if name.startswith("trigger.") and name.removeprefix("trigger.") in triggers:
        return name
    if name in triggers:
        return f"trigger.{name}"
    return None


def all_names(triggers: set[str] | frozenset[str] = frozenset()) -> list[str]:
    return [*EVENTS, *(f"trigger.{t}" for t in sorted(triggers))]
