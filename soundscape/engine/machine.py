"""The scene's state machine, built with the `transitions` library from a compiled `Plan`.

Triggers are event names (``agent.thinking``, ``tool.started``, ``trigger.NAME``).
For each event the declared transitions are tried in the order the scene wrote
them (a transition is added per source state, so ``from`` becomes the source and
``when`` a condition on the event's fields); the first that matches wins. Then,
with ``follow_agent``, ``agent.X`` moves to state ``X`` when such a state exists.
A transition without ``to`` (or to the state it starts from) is *internal*: no
exit, no entry, cues and timers keep going; only its ``play`` runs.

The machine knows nothing about time: its callbacks call into a `MachineHost`
(the engine), which schedules cues and timers on its sample clock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from transitions import EventData, Machine, State

from ..scene.events import AGENT_STATES, normalize
from .plan import Plan, TransitionPlan, VoiceSpec

log = logging.getLogger("soundscape")
machine_log = logging.getLogger("soundscape.engine.machine")

_NAME = "soundscape"
_PREFIX = f"{_NAME}: "  # what `transitions` puts before every line of a machine so named


class _OurChatter(logging.Filter):
    """`transitions` logs six INFO/DEBUG lines per state change; in a worker, whose log is at
    INFO, every call would fill the log with ours. They go to ``soundscape.engine.machine`` at DEBUG
    instead (asked for with ``logging.getLogger("soundscape.engine.machine").setLevel(DEBUG)``);
    other machines' lines and every warning pass untouched."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        ours = isinstance(args, tuple) and bool(args) and args[0] == _PREFIX
        if not ours or record.levelno >= logging.WARNING:
            return True
        # Only when that logger was set itself: `dev` puts the whole log at DEBUG.
        if machine_log.level != logging.NOTSET and machine_log.isEnabledFor(logging.DEBUG):
            machine_log.debug("%s", record.getMessage().removeprefix(_PREFIX))
        return False


_transitions_log = logging.getLogger("transitions.core")
if not any(isinstance(f, _OurChatter) for f in _transitions_log.filters):
    _transitions_log.addFilter(_OurChatter())


class MachineHost(Protocol):
    """What the machine drives: the engine implements these."""

    def enter_state(self, name: str, event: str | None) -> None: ...

    def exit_state(self, name: str) -> None: ...

    def transition_play(self, spec: VoiceSpec) -> None: ...


class _Model:
    """The object `transitions` attaches its state and trigger methods to."""

    state: str
    trigger: Callable[..., bool]


class SceneMachine:
    """States, transitions and guards of one scene instance."""

    def __init__(self, plan: Plan, host: MachineHost) -> None:
        self._host = host
        self.model = _Model()
        names = list(plan.states)
        states = [State(n, on_enter=[self._on_enter], on_exit=[self._on_exit]) for n in names]
        self.machine = Machine(
            name=_NAME,
            model=self.model,
            states=states,
            initial=plan.initial,
            send_event=True,
            auto_transitions=False,
            ignore_invalid_triggers=True,
            model_override=False,
        )
        self.events: set[str] = set()
        for t in plan.transitions:
            self._add(t, names, plan.triggers)
        if plan.follow_agent:
            for s in AGENT_STATES:
                if s in plan.states:
                    for src in names:
                        self._add_one(f"agent.{s}", src, s, None, None)

    @property
    def state(self) -> str:
        return self.model.state

    def set_state(self, name: str) -> None:
        """Put the machine in ``name`` without running callbacks (for restore)."""
        self.machine.set_state(name, model=self.model)

    def fire(self, event: str, fields: Mapping[str, Any] | None = None) -> bool:
        """Apply an event; True when a transition (moving or internal) ran."""
        if event not in self.events:
            return False
        return bool(self.model.trigger(event, fields=dict(fields or {}), event_name=event))

    def goto(self, state: str, *, reason: str | None = None) -> None:
        """Move to ``state`` (exit and entry run) unless already there."""
        # Not a trigger: one per (source, target) pair would cost N² transitions per machine.
        old = self.state
        if state != old:
            self._host.exit_state(old)
            self.machine.set_state(state, model=self.model)
            self._host.enter_state(state, reason)

    def _add(self, t: TransitionPlan, names: list[str], triggers: frozenset[str]) -> None:
        event = normalize(t.on, set(triggers)) or t.on
        for src in names:
            if t.sources is None or src in t.sources:
                self._add_one(event, src, t.to, t.when, t.play)

    def _add_one(
        self,
        event: str,
        src: str,
        to: str | None,
        when: dict[str, tuple[Any, ...]] | None,
        play: VoiceSpec | None,
    ) -> None:
        self.events.add(event)
        dest = None if to is None or to == src else to  # internal: no exit/entry
        kwargs: dict[str, Any] = {}
        if when:
            kwargs["conditions"] = [_guard(when)]
        if play is not None:
            kwargs["after"] = [lambda _ed, spec=play: self._host.transition_play(spec)]
        self.machine.add_transition(event, src, dest, **kwargs)

    def _on_enter(self, ed: EventData) -> None:
        self._host.enter_state(ed.state.name, ed.kwargs.get("event_name"))

    def _on_exit(self, ed: EventData) -> None:
        self._host.exit_state(ed.state.name)


def _guard(when: dict[str, tuple[Any, ...]]) -> Callable[[EventData], bool]:
    def ok(ed: EventData) -> bool:
        fields = ed.kwargs.get("fields") or {}
        for key, allowed in when.items():
            if key not in fields:
                return False
            v = fields[key]
            if not any(_same(v, a) for a in allowed):
                return False
        return True

    return ok


def _same(value: Any, expected: Any) -> bool:
    # Event fields often arrive as strings ("true", "3"); compare loosely but predictably.
    if value == expected:
        return True
    if isinstance(expected, bool):
        return str(value).lower() == str(expected).lower()
    return str(value) == str(expected)
