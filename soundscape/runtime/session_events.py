"""AgentSession events → scene events (see `soundscape.scene.events`).

livekit-agents 1.8.9 reports tool calls as ``tool_execution_updated``: a `ToolCallStarted`
carries ``function_call.name``/``call_id``; the matching `ToolCallEnded` carries only the
``call_id`` (and ``status``), so the name is remembered from the start.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger("soundscape")

Post = Callable[[str, dict[str, Any]], None]


def translate(kind: str, ev: Any, names: dict[str, str]) -> tuple[str, dict[str, Any]] | None:
    """One session event → (scene event, fields), or None when the scene has no word for it."""
    if kind == "agent_state_changed":
        return f"agent.{ev.new_state}", {"old_state": ev.old_state}
    if kind == "user_state_changed":
        return f"user.{ev.new_state}", {"old_state": ev.old_state}
    if kind == "speech_created":
        return "speech.created", {"source": ev.source, "user_initiated": ev.user_initiated}
    if kind == "tool_execution_updated":
        up = ev.update
        if up.type == "tool_call_started":
            call = up.function_call
            names[call.call_id] = call.name
            return "tool.started", {"tool": call.name, "call_id": call.call_id}
        if up.type == "tool_call_ended":
            # Deferred calls end as "<call_id>_final" entries; both carry the plain call_id.
            name = names.pop(up.call_id, "")
            return "tool.ended", {"tool": name, "call_id": up.call_id, "status": up.status}
        return None
    if kind == "close":
        reason = getattr(ev.reason, "value", ev.reason)
        return "session.close", {"reason": str(reason)}
    if kind == "error":
        err = getattr(ev, "error", None)
        return "session.error", {"recoverable": bool(getattr(err, "recoverable", False))}
    return None


SESSION_EVENTS = (
    "agent_state_changed",
    "user_state_changed",
    "tool_execution_updated",
    "speech_created",
    "error",
    "close",
)


class SessionAdapter:
    """Subscribes to an AgentSession and forwards its events to ``post`` as scene events."""

    def __init__(self, session: Any, post: Post, *, on_close: Callable[[], None]) -> None:
        self.session = session
        self._post = post
        self._on_close = on_close
        self._names: dict[str, str] = {}
        self._handlers: dict[str, Callable[[Any], None]] = {}

    def attach(self) -> None:
        for kind in SESSION_EVENTS:
            handler = self._make(kind)
            self._handlers[kind] = handler
            self.session.on(kind, handler)

    def detach(self) -> None:
        for kind, handler in self._handlers.items():
            with contextlib.suppress(Exception):  # already gone: nothing to undo
                self.session.off(kind, handler)
        self._handlers.clear()

    def current(self) -> list[tuple[str, dict[str, Any]]]:
        """Events that bring a scene attached mid-session up to the session's current state."""
        out: list[tuple[str, dict[str, Any]]] = []
        agent = getattr(self.session, "agent_state", None)
        if isinstance(agent, str) and agent != "initializing":
            out.append((f"agent.{agent}", {"old_state": "initializing"}))
        user = getattr(self.session, "user_state", None)
        if isinstance(user, str) and user != "listening":
            out.append((f"user.{user}", {"old_state": "listening"}))
        return out

    def _make(self, kind: str) -> Callable[[Any], None]:
        def handler(ev: Any) -> None:
            try:
                got = translate(kind, ev, self._names)
                if got is not None:
                    self._post(*got)
                if kind == "close":
                    self._on_close()
            except Exception:
                log.exception("soundscape: could not handle session event %s", kind)

        return handler
