"""A looping layer or cue whose end→start jump would click, given its crossfade."""

from __future__ import annotations

import math
from collections.abc import Iterator

from .. import walk
from ..model import Cue, Layer, _Plays
from ..yamlio import PathKey
from . import _assets
from .rule import Context, Finding

CODE = "SC405"
NAME = "loop-seam-click"
SEVERITY = "warning"
PHASE = "assets"
SUMMARY = "A looping layer or cue jumps at its seam far more than its material ever does: a click."

FACTOR = 4.0
"""A seam step this many times the material's own (99.9th percentile) steps is heard as a click."""
FLOOR = 10 ** (-50 / 20)
"""Steps below -50 dBFS are inaudible even in silent material."""


def residual_step(jump: float, crossfade_s: float, frames: int) -> float:
    """The largest per-sample step the seam leaves after the engine's crossfade.

    Like `soundscape.engine.loops.loop_buffer`: the crossfade is ``round(crossfade · rate)``
    samples, at most half the clip, and none below 2 samples. A crossfade over C samples
    turns a jump J into a ramp whose steepest step is J/C (linear law, for correlated
    ends) or about J·π/(2C) (equal-power, the steeper one, used here to stay safe).
    """
    c = min(round(crossfade_s * _assets.RATE), frames // 2)
    return jump if c < 2 else jump * min(1.0, math.pi / (2 * c))


def check(ctx: Context) -> Iterator[Finding]:
    for path, p in walk.plays(ctx.scene):
        if not isinstance(p, Layer | Cue) or (isinstance(p, Cue) and not p.loop):
            continue
        seen: set[str] = set()
        for _gain, ref in _assets.played_variants(ctx, p):
            if ref.source in seen:
                continue
            seen.add(ref.source)
            a = _assets.analyze(ref)
            if not a.ok or a.frames < 2:
                continue
            limit = max(FACTOR * a.typical_step, FLOOR)
            step = residual_step(a.seam_jump, p.crossfade, a.frames)
            if step <= limit:
                continue
            ratio = a.seam_jump / a.typical_step if a.typical_step > 0 else math.inf
            times = f"{ratio:.0f}×" if math.isfinite(ratio) else "infinitely"
            need_ms = math.ceil(a.seam_jump * math.pi / (2 * limit) / _assets.RATE * 1000)
            need_ms = max(10, -(-need_ms // 5) * 5)
            yield ctx.at(
                _where(ctx, path, p),
                f"{_describe(path)} loops '{_assets.shown(ref.source)}' with a click at the seam: the jump from "
                f"its last sample to its first ({a.seam_jump:.3f}) is {times} the material's own "
                f"largest steps, and a {p.crossfade * 1000:g} ms crossfade does not hide it",
                hint=f"set `crossfade: {need_ms}ms` or more, or cut the file so its end meets "
                "its start (at a zero crossing)",
            )


def _where(ctx: Context, path: PathKey, p: _Plays) -> PathKey:
    raw = ctx.merged.data_at(path)
    if isinstance(raw, dict) and "crossfade" in raw:
        return (*path, "crossfade")
    if isinstance(raw, str):
        return path
    return (*path, "sound" if p.sound is not None else "source")


def _describe(path: PathKey) -> str:
    if path[0] == "layers":
        return f"layer '{path[1]}'"
    if path[0] == "states":
        return f"a looping cue of state '{path[1]}'"
    if path[0] == "transitions" and isinstance(path[1], int):
        return f"the looping cue of transition {path[1] + 1}"
    return "a looping cue"
