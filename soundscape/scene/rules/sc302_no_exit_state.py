"""A state the scene can enter but never leave."""

from __future__ import annotations

from collections.abc import Iterator

from ..graph import state_graph
from .rule import Context, Finding

CODE = "SC302"
NAME = "no-exit-state"
SEVERITY = "warning"
PHASE = "model"
SUMMARY = "A state that no transition, timer or agent event ever leaves."

# Entering a state because the session ended makes it an end state on purpose, and
# leaving one that way is no way out: the scene ends with the session.
_FINAL_EVENTS = ("session.close", "session.error")


def check(ctx: Context) -> Iterator[Finding]:
    scene = ctx.scene
    if len(scene.states) < 2:
        return
    graph = state_graph(scene)
    seen = graph.reachable()
    final = {tr.to for tr in scene.transitions if tr.on in _FINAL_EVENTS}
    for name in scene.states:
        if name not in seen or name in final:
            continue  # unreachable states are SC301's business
        if any(e.source == name and e.event not in _FINAL_EVENTS for e in graph.moves()):
            continue
        yield ctx.at(
            ("states", name),
            f"state '{name}' has no way out: once entered, no transition, `after` timer or "
            "agent event leaves it",
            key=True,
            hint=f"add a transition `{{on: EVENT, from: {name}, to: OTHER}}` (or `from: '*'`), "
            "or an `after: {30s: {goto: OTHER}}` timer",
        )
