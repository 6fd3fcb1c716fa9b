"""A cue or one-shot louder than the agent's voice: it startles, and covers the words."""

from __future__ import annotations

from collections.abc import Iterator

from .. import walk
from ..model import Layer, Scatter, _Plays
from ..yamlio import PathKey
from . import _levels
from ._assets import shown
from .rule import Context, Finding

CODE = "SC703"
NAME = "louder-than-voice"
SEVERITY = "warning"
PHASE = "assets"
SUMMARY = (
    "A cue, timed play, transition play or scatter one-shot plays louder than the agent's "
    "voice: it startles the caller and covers the words."
)
OPTIONS = {"max-lu": 0.0}
"""How far above the voice a one-shot may go (0: never louder than the voice)."""


def check(ctx: Context) -> Iterator[Finding]:
    max_lu = ctx.option(NAME, "max-lu", OPTIONS["max-lu"])
    ref = _levels.voice(ctx.scene)
    for path, p in walk.plays(ctx.scene):
        if isinstance(p, Layer):
            continue  # beds: SC702
        # A scatter's gain is drawn from its range: judge its loudest draw.
        gain = float(p.gain.high) if isinstance(p, Scatter) else p.gain
        heard = _levels.audible(ctx, p, gain)
        if not heard:
            continue
        h = max(heard, key=lambda x: x.lufs)
        over = h.lufs - ref
        if over <= max_lu:
            continue
        default = _levels.DEFAULTS.scatter if isinstance(p, Scatter) else _levels.DEFAULTS.cue
        hint = f"write `level: {default}` (clear, never over the voice)"
        if h.level.kind == "file":
            hint += " instead of `level: file`"
        elif h.trim > 1.0:
            hint += " and drop the `gain` boost"
        yield ctx.at(
            path,
            f"{_levels.what(h, _label(ctx, path, p), len(heard))} plays at {h.lufs:.1f} LUFS "
            f"({h.why()}), {over:.1f} LU over {_levels.voice_text(ctx.scene)}; it will "
            "startle the caller and cover the words",
            key=isinstance(p, Scatter),
            hint=hint,
        )


def _label(ctx: Context, path: PathKey, p: _Plays) -> str:
    """ "cue 'ding' in state 'busy'", "scatter 'phone'", ..."""
    if path[0] == "scatter":
        return f"scatter '{path[1]}'"
    cue = f"cue '{p.sound or shown(p.source or '')}'"
    if path[0] == "transitions":
        return f"{cue} of transition {path[1]} (on {ctx.scene.transitions[int(path[1])].on})"
    if path[2] == "after":
        return f"{cue} of state '{path[1]}' after {path[3]}"
    return f"{cue} in state '{path[1]}'"
