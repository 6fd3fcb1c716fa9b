"""A state that nothing leads to from the initial state, so it never plays."""

from __future__ import annotations

from collections.abc import Iterator

from ..graph import state_graph
from .rule import Context, Finding

CODE = "SC301"
NAME = "unreachable-state"
SEVERITY = "warning"
PHASE = "model"
SUMMARY = "No transition, timer or agent event leads to this state from the initial state."


def check(ctx: Context) -> Iterator[Finding]:
    scene = ctx.scene
    graph = state_graph(scene)
    seen = graph.reachable()
    for name in scene.states:
        if name in seen:
            continue
        feeders = sorted({e.source for e in graph.moves() if e.dest == name})
        if feeders:
            msg = (
                f"state '{name}' is unreachable: only "
                + ", ".join(f"'{s}'" for s in feeders)
                + f" lead{'s' if len(feeders) == 1 else ''} to it, and "
                + ("it is" if len(feeders) == 1 else "they are")
                + f" unreachable from the initial state '{scene.initial_state}'"
            )
        else:
            msg = (
                f"state '{name}' is unreachable: no transition, `after` timer or agent event "
                "leads to it"
            )
        yield ctx.at(
            ("states", name),
            msg,
            key=True,
            hint=f"add a transition such as `{{on: trigger.NAME, to: {name}}}` or an "
            f"`after: {{5s: {{goto: {name}}}}}` timer in another state, or remove the state",
        )
