"""Events in and out of a `Soundscape`: one typed, frozen object per event it emits, as
livekit-agents' `AgentSession` has, and the checks on a trigger the application fires.

Listeners get the event object: ``scape.on("state_changed", lambda ev: ...)``. Each has a
``type`` naming its event, so one listener can serve several. ``at`` is the sample on the
track's clock (per channel, from the track's first sample) at which it is heard.
"""

from __future__ import annotations

import difflib
import inspect
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

from livekit import rtc

from ..engine.events import EngineEvent
from ..scene.model import Scene

EventTypes = Literal["state_changed", "trigger", "voice_started", "voice_ended", "closed"]
"""The events a `Soundscape` emits (`Soundscape.on(...)`)."""
_NAMES = get_args(EventTypes)

log = logging.getLogger("soundscape")


@dataclass(frozen=True, kw_only=True)
class StateChangedEvent:
    """The scene's state changed, at the sample where the new state becomes audible (not
    when it was rendered ahead). Entering the initial state at the first sample is not a
    change, nor is a transition back into the same state."""

    type: Literal["state_changed"] = "state_changed"
    old_state: str | None
    new_state: str
    event: str | None
    """The scene event that caused it (``agent.thinking``, ``timer``…), if any."""
    at: int


@dataclass(frozen=True, kw_only=True)
class TriggerEvent:
    """`Soundscape.trigger` fired the scene trigger ``name`` (without ``trigger.``)."""

    type: Literal["trigger"] = "trigger"
    name: str
    fields: Mapping[str, Any]


@dataclass(frozen=True, kw_only=True)
class _VoiceEvent:
    name: str
    """The sound; for an inline ``source:``, the file."""
    kind: str
    """What started it: ``layer``, ``cue``, ``scatter`` or ``play``."""
    owner: str | None
    """The state that stops it on exit, the layer, or the scatter it belongs to."""
    source: str | None
    """The file it plays, when it plays a file."""
    handle: int
    """The same number in the `VoiceStartedEvent` and the `VoiceEndedEvent` of one voice."""
    at: int


@dataclass(frozen=True, kw_only=True)
class VoiceStartedEvent(_VoiceEvent):
    """A voice became audible."""

    type: Literal["voice_started"] = "voice_started"


@dataclass(frozen=True, kw_only=True)
class VoiceEndedEvent(_VoiceEvent):
    """A voice ended (played out, stopped and faded, or crossfaded away)."""

    type: Literal["voice_ended"] = "voice_ended"


@dataclass(frozen=True, kw_only=True)
class ClosedEvent:
    """The scape stopped: `aclose()`, its session closing, or its job shutting down."""

    type: Literal["closed"] = "closed"


class Emitter(rtc.EventEmitter[EventTypes]):
    """`rtc.EventEmitter` as livekit-agents uses it, with two differences: an unknown event
    name is refused at `on()`, and a listener that raises anything (a TypeError too, which
    `rtc.EventEmitter` re-raises) is logged while the others still run — listeners are
    called from inside the driver, and an application's bug must not stop the track."""

    def on(
        self, event: EventTypes, callback: Callable[..., Any] | None = None
    ) -> Callable[..., Any]:
        """Call ``callback(event_object)`` on ``event`` (without ``callback``: a decorator)."""
        if event not in _NAMES:
            raise ValueError(f"unknown event {event!r}; use one of {', '.join(_NAMES)}")
        return super().on(event, callback)

    def emit(self, event: EventTypes, *args: Any) -> None:
        for callback in list(self._events.get(event, ())):
            try:
                callback(*args[: _arity(callback, len(args))])
            except Exception:
                log.exception("soundscape: a %r listener raised; the track keeps playing", event)


def _arity(callback: Callable[..., Any], n: int) -> int:
    """How many of ``n`` positional arguments ``callback`` takes (`rtc.EventEmitter`'s rule:
    ``lambda: ...`` may listen to an event that carries one)."""
    try:
        params = inspect.signature(callback).parameters.values()
    except (TypeError, ValueError):
        return n
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return n
    return min(n, sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params))


def voice_event(ev: EngineEvent, at: int) -> VoiceStartedEvent | VoiceEndedEvent | None:
    """The event a listener gets for an engine ``voice.start``/``voice.stop`` (else None)."""
    cls: type[VoiceStartedEvent | VoiceEndedEvent]
    if ev.kind == "voice.start":
        cls = VoiceStartedEvent
    elif ev.kind == "voice.stop":
        cls = VoiceEndedEvent
    else:
        return None
    d = ev.data
    return cls(
        name=ev.name,
        kind=str(d.get("kind", "")),
        owner=d.get("owner"),
        source=d.get("source"),
        handle=int(d.get("handle", -1)),
        at=at,
    )


def check_trigger(scene: Scene, name: str, fields: Mapping[str, Any]) -> str:
    """``name`` without ``trigger.``, once it names a trigger of ``scene`` that has every
    one of ``fields``; a `ValueError` naming the file and the closest trigger otherwise."""
    name = name.removeprefix("trigger.")
    trig = scene.triggers.get(name)
    if trig is None:
        close = difflib.get_close_matches(name, list(scene.triggers), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        known = ", ".join(sorted(scene.triggers)) or "none"
        raise ValueError(f"{scene.file}: no trigger named {name!r}{hint} (declared: {known})")
    extra = set(fields) - set(trig.fields)
    if extra:
        raise ValueError(
            f"trigger {name!r} has no field(s) {', '.join(sorted(extra))}; "
            f"declared: {', '.join(sorted(trig.fields)) or 'none'}"
        )
    return name
