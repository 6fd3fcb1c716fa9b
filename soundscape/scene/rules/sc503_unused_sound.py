"""A sound defined in this file that nothing plays."""

from __future__ import annotations

from collections.abc import Iterator

from .. import walk
from .rule import Context, Finding

CODE = "SC503"
NAME = "unused-sound"
SEVERITY = "info"
PHASE = "model"
SUMMARY = (
    "A sound is defined but no layer, cue, timer, transition or scatter plays it "
    "(and it is not marked `from_code: true`)."
)


def check(ctx: Context) -> Iterator[Finding]:
    plays = [p for _, p in walk.plays(ctx.scene)]
    if not plays:
        return  # a file that plays nothing is a sound library (an include fragment)
    used = {p.sound for p in plays if p.sound is not None}
    for name, sound in ctx.scene.sounds.items():
        if name in used or sound.from_code:
            continue
        pos = ctx.merged.pos(("sounds", name), key=True)
        if pos.file != ctx.merged.file:
            continue  # a shared sound library (extends/include) may hold more than one scene uses
        yield ctx.at(
            ("sounds", name),
            f"sound '{name}' is defined but the scene never plays it",
            key=True,
            hint="play it from a layer, cue or scatter, or remove it; if your code plays it "
            f'(`scape.play("{name}")`), mark it `from_code: true`',
        )
