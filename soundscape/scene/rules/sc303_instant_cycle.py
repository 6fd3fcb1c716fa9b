"""`after: {0s: {goto: …}}` timers that lead back to where they started: an endless loop."""

from __future__ import annotations

from collections.abc import Iterator

from .. import walk
from ..graph import state_graph
from .rule import Context, Finding

CODE = "SC303"
NAME = "instant-cycle"
SEVERITY = "error"
PHASE = "model"
SUMMARY = (
    "States that move to each other after 0 s in a cycle, switching forever without time passing."
)


def check(ctx: Context) -> Iterator[Finding]:
    scene = ctx.scene
    instant = state_graph(scene).instant()
    reported: set[str] = set()
    for start in scene.states:
        chain = [start]
        while chain[-1] in instant and instant[chain[-1]] not in chain:
            chain.append(instant[chain[-1]])
        if chain[-1] not in instant:
            continue
        cycle = chain[chain.index(instant[chain[-1]]) :]
        if reported & set(cycle):
            continue
        reported.update(cycle)
        first = min(cycle, key=list(scene.states).index)
        i = cycle.index(first)
        loop = [*cycle[i:], *cycle[:i], first]
        key = walk._after_key(scene, first, 0.0)
        yield ctx.at(
            ("states", first, "after", key, "goto"),
            "instant cycle: " + " → ".join(loop) + " all move after 0 s, so the scene would "
            "switch states forever without time passing",
            hint="give one of these timers a real duration (e.g. `after: {2s: {goto: ...}}`), "
            "or remove one of the gotos",
        )
