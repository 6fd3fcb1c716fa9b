"""A pool is silent more often than it plays anything in particular, or never plays at all."""

from __future__ import annotations

from collections.abc import Iterator

from .rule import Context, Finding

CODE = "SC502"
NAME = "silence-dominates"
SEVERITY = "warning"
PHASE = "model"
SUMMARY = (
    "A sound's silence chance is 50% or more, or above that of its likeliest variant; "
    "or every variant has weight 0, so it never plays."
)


def check(ctx: Context) -> Iterator[Finding]:
    for name, sound in ctx.scene.sounds.items():
        pool = sound.pool()
        live = [v for v in pool if v.weight > 0]
        if not live:
            yield ctx.at(
                ("sounds", name),
                f"sound '{name}' never plays: every variant has weight 0, so whatever plays "
                "it is silent",
                key=True,
                hint="weight 0 means never: give at least one variant a weight above 0 "
                "(the default is 1), or remove the sound and what plays it",
            )
            continue
        s = sound.silence
        if s <= 0:
            continue
        if sound.pick == "random":
            top = max(v.weight for v in live) / sum(v.weight for v in live)
        else:  # shuffle and sequence play every playable variant equally often
            top = 1.0 / len(live)
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
