"""A pool is silent more often than it plays anything in particular."""

from __future__ import annotations

from collections.abc import Iterator

from ..rule import Context, Finding

CODE = "SC502"
NAME = "silence-dominates"
SEVERITY = "warning"
PHASE = "model"
SUMMARY = "A sound's silence chance is 50% or more, or above that of its likeliest variant."


def check(ctx: Context) -> Iterator[Finding]:
    for name, sound in ctx.scene.sounds.items():
        s = sound.silence
        if s <= 0:
            continue
        pool = sound.pool()
        if sound.pick == "random":
            total = sum(v.weight for v in pool)
            top = max(v.weight for v in pool) / total if total > 0 else 0.0
        else:  # shuffle and sequence play every variant equally often
            top = 1.0 / len(pool)
        likeliest = (1.0 - s) * top
        # A tie is a design choice ("one time in four, nothing"); more is silence dominating.
        if s < 0.5 and s <= likeliest + 1e-9:
            continue
        if s >= 0.5:
            why = f"is silent {s:.0%} of the times it starts"
        else:
            why = (
                f"is silent {s:.0%} of the times it starts, more often than its likeliest "
                f"variant plays ({likeliest:.0%})"
            )
        yield ctx.at(
            ("sounds", name, "silence"),
            f"sound '{name}' {why}",
            hint="lower `silence` (e.g. 0.2); for a sound that should be rare, play it from "
            "`scatter` with a longer interval instead",
        )
