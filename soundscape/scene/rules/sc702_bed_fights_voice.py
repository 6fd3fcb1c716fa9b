"""A bed so close to the agent's voice that it competes with the words."""

from __future__ import annotations

from collections.abc import Iterator

from ..units import gain_to_db
from . import _levels
from .rule import Context, Finding

CODE = "SC702"
NAME = "bed-fights-voice"
SEVERITY = "warning"
PHASE = "assets"
SUMMARY = (
    "A layer plays less than 10 LU under the agent's voice (at its own level or in a "
    "state): it competes with the words."
)
OPTIONS = {"min-lu": 10.0}
"""How close to the voice a bed may come: nearer than ~10 LU it masks consonants, most of
all on a phone line, where bed and voice share the same narrow band."""


def check(ctx: Context) -> Iterator[Finding]:
    min_lu = ctx.option(NAME, "min-lu", OPTIONS["min-lu"])
    ref = _levels.voice(ctx.scene)
    for name, layer, gain, state, where in _levels.layer_levels(ctx):
        heard = _levels.audible(ctx, layer, gain)
        if not heard:
            continue
        h = max(heard, key=lambda x: x.lufs)  # a pool fights whenever its loudest plays
        # A ducked bed is lowered while the agent speaks: that is when it could fight.
        duck_db = gain_to_db(layer.duck.depth) if layer.duck is not None else 0.0
        lufs = h.lufs + duck_db
        under = ref - lufs
        if under >= min_lu:
            continue
        distance = f"only {under:.1f} LU under" if under >= 0 else f"{-under:.1f} LU over"
        ducked = f", ducked {duck_db:+.1f} dB under speech" if duck_db else ""
        in_state = f" in state '{state}'" if state else ""
        label = _levels.what(h, f"layer '{name}'", len(heard))
        yield ctx.at(
            where,
            f"{label}{in_state} plays at {lufs:.1f} LUFS "
            f"({h.why()}{ducked}), {distance} {_levels.voice_text(ctx.scene)}; it will "
            "fight the voice",
            key=True,
            hint=_hint(h, name, state, ducks=layer.duck is not None),
        )


def _hint(h: _levels.Heard, name: str, state: str | None, *, ducks: bool) -> str:
    if state is not None:
        fix = f"lower it in state '{state}' (e.g. `layers: {{{name}: -12 dB}}`)"
    else:
        fix = f"write `level: {_levels.DEFAULTS.layer}` (heard, and well out of the voice's way)"
        if h.level.kind == "file":
            fix += " instead of `level: file`"
        elif h.trim > 1.0:
            fix += " and drop the `gain` boost"
    return fix if ducks else fix + ", or duck it under speech (`duck: true`)"
