"""A bed whose loudness swells and sinks across its loop: under a steady voice it pumps."""

from __future__ import annotations

from collections.abc import Iterator

from . import _assets, _levels
from .rule import Context, Finding

CODE = "SC704"
NAME = "pumping-layer"
SEVERITY = "info"
PHASE = "assets"
SUMMARY = (
    "A layer's short-term loudness (3 s, EBU R128) moves over more than 12 LU across its "
    "loop (its loudness range, EBU Tech 3342): under a steady voice the bed pumps."
)
OPTIONS = {"max-lu": 12.0}
"""The loudness range a bed may have. The built-in beds keep within 10 LU (forest birdsong,
the most eventful, 10 LU; hold music 8 LU; steady room tones under 1 LU). Beyond 12 LU a bed
placed 25 LU under the voice drops out of hearing in its quiet passages while its loud ones
come within about 13 LU of the voice."""


def check(ctx: Context) -> Iterator[Finding]:
    max_lu = ctx.option(NAME, "max-lu", OPTIONS["max-lu"])
    ref = _levels.voice(ctx.scene)
    for name, layer in ctx.scene.layers.items():
        worst: tuple[float, float, float, _levels.Heard] | None = None
        heard = _levels.audible(ctx, layer, layer.gain)
        for h in heard:
            got = _assets.loudness_range(h.ref)
            if got is None:
                continue
            low, high = got
            if worst is None or high - low > worst[0]:
                worst = (high - low, low, high, h)
        if worst is None or worst[0] <= max_lu:
            continue
        lra, low, high, h = worst
        # The level and gains shift the whole range: say where it lands at the caller.
        shift = h.lufs - h.clip
        quiet, loud = ref - (low + shift), ref - (high + shift)
        label = _levels.what(h, f"layer '{name}'", len(heard))
        yield ctx.at(
            ("layers", name),
            f"{label} pumps: its short-term loudness "
            f"(3 s) moves over {lra:.1f} LU across its loop (EBU loudness range), from "
            f"{quiet:.1f} LU to {loud:.1f} LU under {_levels.voice_text(ctx.scene)} at its "
            f"level ({h.why()})",
            key=True,
            hint="a bed should hold steady under the voice: pick a steadier clip, level it "
            "with a compressor first, or play its loud events as `scatter` one-shots over a "
            "steady bed",
        )
