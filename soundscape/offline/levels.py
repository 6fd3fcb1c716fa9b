"""The loudness each layer and cue plays at, and its distance from the voice, from the plan.

Computed from the compiled plan, not from per-voice stems: a voice's loudness is the
measured loudness of what it reads (`Plan.loudness_of`, kept with the clip facts) plus its
static gain (trim × sound and variant gain × `Plan.norm` × master), which is exactly what
the engine multiplies by. That is cheap (no second render), names every play of the scene
even when the timeline never reaches it, and is a figure a designer can act on: the level
the scene asks for, after the file's own loudness. A render of that play alone measures
within 1 LU of it (tests/offline/test_levels.py); the fades, ducks and the
master ceiling are what the figure leaves out, on purpose (they are moments, not levels).

Pools of several variants report the mean over the variants (in dB): each variant is
brought to the same level, so they differ only where a variant's gain trims it.

Phone figures pass each variant through the same telephone line `render --phone` writes
(`audio.phone.phone_line`: 8 kHz, 300–3400 Hz, G.711) and measure it there; the loss in
the band is taken off the full-band figure. Each variant goes through the line brought to
a speech-like -25 LUFS first, since G.711's error depends on level and the loss should be
the band's, not the codec's floor. The voice loses less than a bed in the band; with a
voice file it is measured through the same line, otherwise `VOICE_PHONE_LOSS_LU` is
assumed (espeak-ng speech measures 0.6 LU; recorded full-band speech, with more sibilance
above 3.4 kHz, a little more).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..audio.analysis import integrated_loudness
from ..engine.core import FOLLOW_RANGE_DB
from ..engine.plan import Plan, VoiceSpec

VOICE_PHONE_LOSS_LU = 1.0
"""What a voice is assumed to lose in the telephone band when no voice file is measured."""


@dataclass(frozen=True)
class PlayLevel:
    """One play of the scene: what it is, where, and how loud it plays."""

    kind: str
    """"layer", "cue", "timer", "transition" or "scatter"."""
    name: str
    """The layer's name, or the sound a cue plays."""
    where: str | None
    """The state it belongs to (a cue, a timer, a state's own level of a layer), or None."""
    lufs: float | None
    """Integrated loudness as played (None: silence)."""
    voice: float
    """The voice reference (LUFS) the distance is from."""

    @property
    def distance(self) -> float | None:
        return None if self.lufs is None else self.lufs - self.voice

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "where": self.where,
            "lufs": None if self.lufs is None else round(self.lufs, 1),
            "voice_lu": None if self.distance is None else round(self.distance, 1),
        }

    def line(self) -> str:
        at = f" {'on' if self.kind == 'transition' else 'in'} {self.where}" if self.where else ""
        if self.lufs is None:
            return f"{self.kind} {self.name}{at}: silent"
        return f"{self.kind} {self.name}{at}: {self.lufs:.1f} LUFS (voice {self.distance:+.1f} LU)"


def _db(g: float) -> float:
    return 20.0 * math.log10(g) if g > 0 else -math.inf


PhoneLosses = dict[tuple[str, int, int | None], float]


def _variant_lufs(plan: Plan, spec: VoiceSpec, idx: int, phone: PhoneLosses | None) -> float:
    lufs = plan.loudness_of(spec.sound, idx, spec.crossfade if spec.loop else None)
    if phone is not None:
        lufs -= phone_loss(plan, spec, idx, phone)
    return lufs


def phone_loss(plan: Plan, spec: VoiceSpec, idx: int, seen: PhoneLosses | None = None) -> float:
    """LU a variant of ``spec`` loses on the telephone line (kept in ``seen``)."""
    xf = spec.crossfade if spec.loop else None
    key = (spec.sound, idx, xf)
    got = None if seen is None else seen.get(key)
    if got is None:
        from ..audio.phone import phone_line

        var = plan.sound(spec.sound).variants[idx]
        if xf is not None:
            buf = plan.loop_for(spec.sound, idx, xf)
            x = np.concatenate([buf.head, buf.body])
        else:
            x = np.asarray(var.samples, np.float32)
        full = integrated_loudness(x, plan.rate)
        # The line's companding depends on level: measure at a speech-like level.
        lift = 10 ** ((-25.0 - full) / 20) if math.isfinite(full) else 1.0
        line = phone_line(x * lift, plan.rate)
        got = full + _db(lift) - integrated_loudness(line.audio, line.rate)
        if not math.isfinite(got):
            got = 0.0
        if seen is not None:
            seen[key] = got
    return got


def play_lufs(
    plan: Plan, spec: VoiceSpec, trim: float, *, phone: PhoneLosses | None = None
) -> float | None:
    """The loudness a voice of ``spec`` plays at, with ``trim`` its gain before the norm
    (a cue's gain; a layer's level in force); with ``phone``, after the telephone line."""
    sound = plan.sound(spec.sound)
    vals = []
    for i, var in enumerate(sound.variants):
        g = trim * sound.gain * var.gain * plan.norm(spec, i) * plan.master_gain
        lufs = _variant_lufs(plan, spec, i, phone)
        if g > 0 and math.isfinite(lufs) and lufs > -70.0:
            vals.append(lufs + _db(g))
    return sum(vals) / len(vals) if vals else None


def scene_levels(
    plan: Plan, *, voice: float | None = None, phone: bool = False, voice_phone: float | None = None
) -> list[PlayLevel]:
    """Every layer and cue of ``plan`` with its loudness and distance from the voice.

    ``voice`` is the reference (default `plan.voice_ref`); with ``phone``, figures are after
    the telephone line and so is the voice: ``voice_phone`` if measured, else the reference
    less `VOICE_PHONE_LOSS_LU`.
    """
    ref = plan.voice_ref if voice is None else voice
    if phone:
        ref = voice_phone if voice_phone is not None else ref - VOICE_PHONE_LOSS_LU
    out: list[PlayLevel] = []
    losses: PhoneLosses | None = {} if phone else None

    def add(kind: str, name: str, where: str | None, spec: VoiceSpec, trim: float) -> None:
        # Under `voice: auto` a voice-relative play follows the voice (within the engine's
        # range): with a measured voice it settles that much away from the reference.
        lufs = play_lufs(plan, spec, trim, phone=losses)
        # An inline file is known as the render's voices call it: its file name.
        name = name.removeprefix("source:").rsplit("/", 1)[-1]
        if lufs is not None and spec.follows_voice and voice is not None and plan.voice_auto:
            lufs += min(max(voice - plan.voice_ref, -FOLLOW_RANGE_DB), FOLLOW_RANGE_DB)
        out.append(PlayLevel(kind, name, where, lufs, ref))

    for lp in plan.layers:
        add("layer", lp.name, None, lp.spec, lp.spec.gain)
        for st in plan.states.values():
            if lp.name in st.levels and st.levels[lp.name][0] != lp.spec.gain:
                add("layer", lp.name, st.name, lp.spec, st.levels[lp.name][0])
    for st in plan.states.values():
        for c in st.cues:
            add("cue", c.sound, st.name, c, c.gain)
        for t in st.timers:
            if t.play is not None:
                add("timer", t.play.sound, st.name, t.play, t.play.gain)
    for tr in plan.transitions:
        if tr.play is not None:
            add("transition", tr.play.sound, tr.on, tr.play, tr.play.gain)
    for sc in plan.scatter:
        # Scatter draws a gain per play from its span: its centre is the typical play.
        mid = (sc.gain.low + sc.gain.high) / 2
        add("scatter", sc.name, None, sc.spec, sc.spec.gain * mid)
    return out
