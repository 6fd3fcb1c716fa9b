"""Shared by the level rules: how loud each play item is at the caller, as the engine plays it.

The engine (`engine.plan.Plan.norm`, `engine.core.Engine.start_voice`) plays a variant at
its `level` (the item's, or the scene's `levels` default for its kind) and then trims it by
the item's gain (for a layer, the state's level when the state gives one), its sound's gain
and its variant's gain: a `file` level leaves the clip as it is; a LUFS or voice-relative
level raises or lowers the clip to that loudness for the scene's voice reference, by at
most `MAX_NORM_DB`, and never a silent clip. Clips are measured as the engine measures
them (mono at 48 kHz, trimmed) and the record is shared with it. A looping voice reads a
buffer with its seam crossfaded, which the engine measures on its own; the crossfade
changes a bed's loudness by far less than the figures here are rounded to.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ..model import Layer, Levels, Scene, _Plays
from ..units import MAX_NORM_DB, Loudness, db_to_gain, gain_to_db
from ..yamlio import PathKey
from . import _assets
from .rule import Context

GATE_LUFS = -70.0
"""BS.1770's absolute gate (soundscape.audio.loudness), kept here so linting imports no
numpy: a clip under it is silence, which no level raises (SC404 reports it)."""

DEFAULTS = Levels()
"""The language's default levels: what a hint suggests."""


@dataclass(frozen=True)
class Heard:
    """One variant of a play item as the caller hears it."""

    ref: _assets.SourceRef
    clip: float
    """The clip's integrated loudness (LUFS) as decoded and trimmed."""
    level: Loudness
    target: float | None
    """The level in LUFS for the scene's voice reference (None: `file`)."""
    trim: float
    """Linear: the item's (or the state's) gain × the sound's gain × the variant's gain."""

    @property
    def silent(self) -> bool:
        return self.clip <= GATE_LUFS

    @property
    def norm_db(self) -> float:
        """What the level does to the clip, in dB (0 for `file` and for silence)."""
        if self.target is None or self.silent:
            return 0.0
        return min(self.target - self.clip, MAX_NORM_DB)

    @property
    def gain(self) -> float:
        """The variant's whole static gain: trims × normalisation (what multiplies its peak)."""
        return self.trim * db_to_gain(self.norm_db)

    @property
    def lufs(self) -> float:
        """Its loudness at the caller (before master gain and ducking)."""
        return self.clip + self.norm_db + gain_to_db(self.trim)

    def why(self) -> str:
        """How that loudness comes about: 'clip -55.4 LUFS, level file, gain -10.5 dB'."""
        parts = [f"clip {self.clip:.1f} LUFS", f"level {self.level}"]
        if self.target is not None:
            if self.target - self.clip > MAX_NORM_DB:
                parts[-1] += (
                    f" ({self.target:.1f} LUFS, but a level raises a clip by at most "
                    f"{MAX_NORM_DB:g} dB)"
                )
            elif self.level.kind == "voice":
                parts[-1] += f" = {self.target:.1f} LUFS"
        if self.trim != 1.0:
            parts.append(f"gain {gain_to_db(self.trim):+.1f} dB")
        return ", ".join(parts)


def voice(scene: Scene) -> float:
    """The voice loudness (LUFS) levels are judged against."""
    return scene.voice.reference


def voice_text(scene: Scene) -> str:
    """'the voice (-20 LUFS)', saying when that is only the assumed start of `voice: auto`."""
    ref = voice(scene)
    if scene.voice.auto:
        return f"the voice ({ref:g} LUFS, assumed until `voice: auto` measures it)"
    return f"the voice ({ref:g} LUFS)"


def heard(ctx: Context, p: _Plays, gain: float) -> list[Heard]:
    """Every variant ``p`` may play, at its loudness when the item's gain is ``gain``
    (unreadable files left out: the SC40x rules say why)."""
    level = ctx.scene.levels.of(p)
    target = level.lufs(voice(ctx.scene))
    out = []
    for vgain, ref in _assets.played_variants(ctx, p):
        clip = _assets.loudness(ref)
        if clip is not None:
            out.append(Heard(ref, clip, level, target, gain * vgain))
    return out


def audible(ctx: Context, p: _Plays, gain: float) -> list[Heard]:
    """`heard`, without silent clips (no level raises silence) and without a muted item."""
    if gain <= 0:
        return []
    return [h for h in heard(ctx, p, gain) if not h.silent]


def layer_levels(ctx: Context) -> Iterator[tuple[str, Layer, float, str | None, PathKey]]:
    """Every level each layer is heard at: (name, layer, gain, state or None, where written).

    A state's `layers: {NAME: ...}` replaces the layer's own gain while in that state, so the
    layer's own gain counts only when some state (or the scene, without states) keeps it.
    """
    scene = ctx.scene
    for name, layer in scene.layers.items():
        kept = not scene.states or any(name not in st.layers for st in scene.states.values())
        if kept:
            yield name, layer, layer.gain, None, ("layers", name)
        for sname, st in scene.states.items():
            if name in st.layers:
                yield name, layer, st.layers[name].gain, sname, ("states", sname, "layers", name)


def what(h: Heard, label: str, pool: int) -> str:
    """``label`` ("layer 'room'"), naming the variant when the item plays a pool of several."""
    return label if pool <= 1 else f"{label} (variant {_assets.shown(h.ref.source)})"
