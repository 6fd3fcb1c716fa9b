"""The scene's state graph as the runtime would walk it, shared by the SC3xx rules."""

from __future__ import annotations

from dataclasses import dataclass

from .. import events
from ..model import Scene


@dataclass(frozen=True)
class Edge:
    src: str
    dst: str
    via: str
    """How the move happens, for messages: 'agent.thinking', 'after 8s', 'follow_agent'."""
    delay: float | None = None
    """Seconds in ``src`` before the move, for `after` timers (None for events)."""


def edges(scene: Scene) -> list[Edge]:
    """Every possible state change between declared states (self-moves included)."""
    states = list(scene.states)
    known = set(states)
    out: list[Edge] = []
    for tr in scene.transitions:
        if tr.to is None or tr.to not in known:
            continue
        sources = states if "*" in tr.from_ else [s for s in tr.from_ if s in known]
        out.extend(Edge(s, tr.to, tr.on) for s in sources)
    if scene.follow_agent:
        for agent_state in events.AGENT_STATES:
            if agent_state in known:
                out.extend(Edge(s, agent_state, "follow_agent") for s in states)
    for sname, state in scene.states.items():
        for seconds, action in state.after.items():
            if action.goto is not None and action.goto in known:
                out.append(Edge(sname, action.goto, f"after {seconds:g}s", seconds))
    return out


def reachable(scene: Scene, graph: list[Edge]) -> set[str]:
    """States the scene can be in, starting from its initial state."""
    start = scene.initial_state
    if start not in scene.states:
        return set(scene.states)  # SC202 reports a bad `initial`; do not pile on
    seen = {start}
    todo = [start]
    while todo:
        s = todo.pop()
        for e in graph:
            if e.src == s and e.dst not in seen:
                seen.add(e.dst)
                todo.append(e.dst)
    return seen
