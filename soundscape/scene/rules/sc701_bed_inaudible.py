"""A bed so far under the agent's voice that a caller does not hear it."""

from __future__ import annotations

from collections.abc import Iterator

from . import _levels
from .rule import Context, Finding

CODE = "SC701"
NAME = "bed-inaudible"
SEVERITY = "warning"
PHASE = "assets"
SUMMARY = (
    "A layer plays more than 35 LU under the agent's voice (at its own level or in a "
    "state): on a phone or a laptop speaker the caller does not hear it."
)
OPTIONS = {"max-lu": 35.0}
"""How far under the voice a bed may sit: past ~35 LU it is below a phone line's noise and
a laptop speaker's reach, and sounds like nothing at all."""


def check(ctx: Context) -> Iterator[Finding]:
    max_lu = ctx.option(NAME, "max-lu", OPTIONS["max-lu"])
    ref = _levels.voice(ctx.scene)
    for name, layer, gain, state, where in _levels.layer_levels(ctx):
        heard = _levels.audible(ctx, layer, gain)
        if not heard:
            continue
        h = min(heard, key=lambda x: x.lufs)  # a pool is lost whenever its quietest plays
        under = ref - h.lufs
        if under <= max_lu:
            continue
        in_state = f" in state '{state}'" if state else ""
        label = _levels.what(h, f"layer '{name}'", len(heard))
        yield ctx.at(
            where,
            f"{label}{in_state} plays at {h.lufs:.1f} LUFS "
            f"({h.why()}), {under:.1f} LU under {_levels.voice_text(ctx.scene)}; a caller "
            "will not hear it",
            key=True,
            hint=_hint(h, name, state),
        )


def _hint(h: _levels.Heard, name: str, state: str | None) -> str:
    default = _levels.DEFAULTS.layer
    if state is not None:
        return (
            f"raise its level in state '{state}' (`layers: {{{name}: 0 dB}}` plays it at the "
            f"layer's level), or give the layer `level: {default}`"
        )
    if h.level.kind == "file":
        trim = " (and drop the `gain` trim)" if h.trim < 1.0 else ""
        return (
            f"write `level: {default}` instead of `level: file`{trim}: the clip is then "
            "brought to a loudness a caller hears, whatever the file's level"
        )
    if h.trim < 1.0:
        return (
            f"`gain` is a trim on top of `level: {h.level}`: remove it, or raise the level "
            f"(beds sit well at `level: {default}`)"
        )
    return f"raise its level: beds sit well at `level: {default}`"
