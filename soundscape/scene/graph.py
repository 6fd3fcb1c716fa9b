"""The scene's state graph: every way the machine can leave (or act inside) each state.

This is the one derivation of it. The linter's graph rules (SC301 unreachable, SC302 no exit,
SC303 instant cycle) ask it what can reach what; `soundscape graph` and the preview page draw
it (`soundscape.authoring.graph`). Nothing is decoded and nothing runs: it reads the `Scene`
as `engine.machine` will, so what the diagram shows is what the linter checks.

Only declared states are joined: a transition or timer naming a state the scene does not
declare has no edge (the scene does not load, and SC202 says why).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

from .events import AGENT_STATES, normalize
from .model import Cue, Scalar, Scene

EdgeKind = Literal["event", "timer", "agent"]


@dataclass(frozen=True)
class Edge:
    """One way out of (or one action inside) ``source``.

    ``kind`` is "event" for a declared transition, "timer" for an `after` entry and "agent"
    for the implicit ``agent.X → X`` moves of `follow_agent`.
    """

    source: str
    target: str | None
    """The state it names (`to`, `goto`, the agent state), which may be ``source`` itself;
    None when it names none and only plays."""
    kind: EdgeKind
    event: str | None = None
    """The event it fires on as the machine matches it (``trigger.X`` for a bare trigger
    name); None for timers."""
    guard: Mapping[str, Scalar | tuple[Scalar, ...]] | None = None
    """The transition's `when`: event fields and the values they must have."""
    delay: float | None = None
    """Seconds in ``source`` before a timer fires; None for events."""
    play: Cue | None = None
    """What it plays when it fires."""

    @property
    def dest(self) -> str | None:
        """Where the scene moves, or None when it stays: a target of ``source`` itself is
        internal (no exit, no entry), as a transition without `to` is."""
        return None if self.target == self.source else self.target

    @property
    def moves(self) -> bool:
        """True when it changes the state."""
        return self.dest is not None


@dataclass(frozen=True)
class StateGraph:
    """The states of a scene (in the order written; `idle` when it declares none), the one it
    starts in, and every edge: transitions, then timers (by delay), then `follow_agent`."""

    states: tuple[str, ...]
    initial: str
    edges: tuple[Edge, ...]

    def moves(self) -> Iterator[Edge]:
        """The edges that change the state."""
        return (e for e in self.edges if e.moves)

    def reachable(self) -> set[str]:
        """States the scene can be in, starting from its initial state (every state when the
        initial one is not declared: that is SC202's to report, not a reason to pile on)."""
        if self.initial not in self.states:
            return set(self.states)
        seen = {self.initial}
        todo = [self.initial]
        while todo:
            s = todo.pop()
            for e in self.edges:
                if e.source == s and e.dest is not None and e.dest not in seen:
                    seen.add(e.dest)
                    todo.append(e.dest)
        return seen

    def instant(self) -> dict[str, str]:
        """State → the state its 0 s timer goes to (itself included): moves that take no time.
        At most one timer per state can be 0 s, so this is a function."""
        return {
            e.source: e.target
            for e in self.edges
            if e.kind == "timer" and e.delay == 0 and e.target is not None
        }


def state_graph(scene: Scene) -> StateGraph:
    """The graph of ``scene`` (see the module docstring)."""
    states = scene.state_names
    known = set(states)
    edges: list[Edge] = []
    triggers = set(scene.triggers)
    for t in scene.transitions:
        if t.to is not None and t.to not in known:
            continue
        event = normalize(t.on, triggers) or t.on
        sources = states if "*" in t.from_ else [s for s in states if s in t.from_]
        edges.extend(Edge(src, t.to, "event", event, t.when, None, t.play) for src in sources)
    for name, st in scene.states.items():
        for delay, action in sorted(st.after.items()):
            if action.goto is not None and action.goto not in known:
                continue
            edges.append(Edge(name, action.goto, "timer", None, None, delay, action.play))
    if scene.follow_agent:
        # The machine's implicit agent.X → X moves (when no declared transition matched).
        for s in AGENT_STATES:
            if s in scene.states:
                edges.extend(Edge(src, s, "agent", f"agent.{s}") for src in states if src != s)
    return StateGraph(states, scene.initial_state, tuple(edges))
