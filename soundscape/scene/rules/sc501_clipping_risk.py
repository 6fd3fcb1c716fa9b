"""Everything that can play at once in a state adds up above 0 dBFS before the limiter."""

from __future__ import annotations

from collections.abc import Iterator

from ..model import Cue, State, _Plays
from ..units import gain_to_db
from ..yamlio import PathKey
from . import _assets, _levels
from .rule import Context, Finding

CODE = "SC501"
NAME = "clipping-risk"
SEVERITY = "warning"
PHASE = "assets"
SUMMARY = (
    "The peaks of everything that can play at once in a state sum above 0 dBFS, "
    "so the limiter works hard."
)

SHOWN = 4
"""How many of the loudest contributors the message names."""


def check(ctx: Context) -> Iterator[Finding]:
    scene = ctx.scene
    states = dict(scene.states) or {"idle": State()}
    for sname, state in states.items():
        parts = list(_contributors(ctx, sname, state))
        total = sum(level for level, _ in parts) * scene.master.gain
        if total <= 1.0:
            continue
        parts.sort(key=lambda x: -x[0])
        listed = ", ".join(f"{what} {gain_to_db(level):+.1f} dBFS" for level, what in parts[:SHOWN])
        more = f" and {len(parts) - SHOWN} more" if len(parts) > SHOWN else ""
        master = (
            f" with master gain {gain_to_db(scene.master.gain):+.1f} dB"
            if scene.master.gain != 1.0
            else ""
        )
        where: PathKey = ("states", sname)
        if not scene.states:  # one implicit state: point at what plays in it
            where = ("layers",) if scene.layers else ("scatter",)
        yield ctx.at(
            where,
            f"in state '{sname}' the peaks of everything that can play at once sum to "
            f"{gain_to_db(total):+.1f} dBFS before the limiter{master} ({listed}{more})",
            key=True,
            hint="lower the loudest levels (e.g. `gain: -6 dB`) or `master: {gain: -6 dB}` "
            "so the sum stays below 0 dBFS; otherwise the limiter squashes the mix",
        )


def _contributors(ctx: Context, sname: str, state: State) -> Iterator[tuple[float, str]]:
    scene = ctx.scene
    for lname, layer in scene.layers.items():
        level = state.layers[lname].gain if lname in state.layers else layer.gain
        peak = _peak(ctx, layer, level)
        if peak > 0:
            yield peak, f"layer '{lname}'"
    cues: list[Cue] = list(state.cues)
    cues += [a.play for a in state.after.values() if a.play is not None]
    for cue in cues:
        peak = _peak(ctx, cue, cue.gain)
        if peak > 0:
            yield peak, f"cue '{cue.sound or cue.source}'"
    for name, sc in scene.scatter.items():
        if sc.states is not None and sname not in sc.states:
            continue
        peak = _peak(ctx, sc, float(sc.gain.high))
        if peak > 0:
            yield peak * sc.max_voices, f"scatter '{name}'"


def _peak(ctx: Context, p: _Plays, gain: float) -> float:
    """The loudest peak any pick of this play item reaches at item gain ``gain``, with its
    `level`'s normalisation (which the gains trim), as the engine plays it (0 if unknown)."""
    best = 0.0
    for h in _levels.heard(ctx, p, gain):
        a = _assets.analyze(h.ref)
        if a.ok:
            best = max(best, h.gain * a.peak)
    return best
