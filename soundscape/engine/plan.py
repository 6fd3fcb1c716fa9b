"""Compile a validated `Scene` into a `Plan`: decoded clips, loop buffers and tables in samples.

A plan is immutable and holds no per-session state, so many engines (sessions)
share one plan and its decoded audio.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..errors import AssetError
from ..scene.model import Action, Cue, Duck, Scene, Sound, Transition, Trim, _Plays
from ..scene.sources import resolve
from ..scene.units import FILE_LEVEL, MAX_NORM_DB, Loudness, Span, db_to_gain
from ..scene.walk import plays as walk_plays
from .loops import LoopBuffer, loop_buffer

log = logging.getLogger("soundscape")

GATE_LUFS = -70.0

Loader = Callable[[Path, int, int], Any]
"""``loader(path, rate, channels)`` → a Clip (with ``.samples``) or a float32 (frames, ch) array."""


@dataclass(frozen=True)
class VariantPlan:
    """One playable file of a pool, trimmed, at the engine's rate and channel count."""

    source: str
    samples: np.ndarray
    gain: float
    weight: float
    start: Span | Literal["random"] | None
    file: Path | None = None
    """The file the samples were decoded from (None: a custom loader's): keys the loudness."""
    trim: tuple[float, float | None] = (0.0, None)


@dataclass(frozen=True)
class SoundPlan:
    """A sound: its pool and how to pick from it."""

    name: str
    variants: tuple[VariantPlan, ...]
    gain: float
    pick: str
    avoid_repeat: int
    silence: float

    @property
    def weights(self) -> tuple[float, ...]:
        return tuple(v.weight for v in self.variants)


@dataclass(frozen=True)
class DuckPlan:
    depth: float
    attack: int
    release: int
    by: str = "speaking"
    """'speaking' (the agent's state), 'voice' (its voice signal) or 'both' (either)."""
    threshold: float = 0.01
    """With by voice/both: the voice's 10 ms RMS (linear) from which it counts as present."""
    hold: int = 12000
    """With by voice/both: samples the duck stays down after the voice went under."""

    @property
    def on_voice(self) -> bool:
        return self.by != "speaking"

    @property
    def on_speaking(self) -> bool:
        return self.by != "voice"

    @property
    def gate(self) -> tuple[float, int]:
        """What the voice detector must decide for this duck: (threshold, hold)."""
        return (self.threshold, self.hold)


NO_DELAY = Span(0.0, 0.0)


@dataclass(frozen=True)
class VoiceSpec:
    """How to play a sound: shared by layers, cues and scatter."""

    sound: str
    gain: float
    pan: float
    linear: bool
    duck: DuckPlan | None
    loop: bool
    fade_in: int
    fade_out: int
    crossfade: int
    delay: Span = NO_DELAY
    ring: bool = False
    level: Loudness = FILE_LEVEL

    @property
    def follows_voice(self) -> bool:
        """Its loudness is relative to the agent's voice, so it follows a measured voice."""
        return self.level.kind == "voice"


@dataclass(frozen=True)
class LayerPlan:
    name: str
    spec: VoiceSpec
    ramp: int


@dataclass(frozen=True)
class TimerPlan:
    delay: int
    play: VoiceSpec | None
    goto: str | None


@dataclass(frozen=True)
class StatePlan:
    name: str
    cues: tuple[VoiceSpec, ...]
    timers: tuple[TimerPlan, ...]
    levels: dict[str, tuple[float, int | None]]


@dataclass(frozen=True)
class ScatterPlan:
    name: str
    spec: VoiceSpec
    interval: tuple[int, int]
    gain: Span
    pan: Span
    max_voices: int
    states: frozenset[str] | None


@dataclass(frozen=True)
class TransitionPlan:
    """A declared transition; ``sources`` is None for any state."""

    on: str
    sources: frozenset[str] | None
    to: str | None
    when: dict[str, tuple[Any, ...]]
    play: VoiceSpec | None


@dataclass(frozen=True)
class Plan:
    """Everything an `Engine` needs, in samples, with decoded audio."""

    rate: int
    channels: int
    file: str
    base_dir: Path
    sounds: dict[str, SoundPlan]
    layers: tuple[LayerPlan, ...]
    states: dict[str, StatePlan]
    initial: str
    transitions: tuple[TransitionPlan, ...]
    follow_agent: bool
    scatter: tuple[ScatterPlan, ...]
    triggers: frozenset[str]
    master_gain: float
    ceiling: float
    max_voices: int
    loader: Loader = field(repr=False, compare=False)
    voice_ref: float = -20.0
    """The voice loudness (LUFS) voice-relative levels are computed for."""
    voice_auto: bool = False
    """`voice: auto`: the runtime measures the agent's speech and levels follow it."""
    voice_glide: int = 72000
    """Samples a voice-following level takes to reach a new measurement."""
    cue_level: Loudness = FILE_LEVEL
    """The level of `play()` when none is given (the scene's `levels.cue`)."""
    # Integrated loudness of each (sound, variant, loop seam or None) a voice reads.
    loudness: dict[tuple[str, int, int | None], float] = field(
        default_factory=dict, repr=False, compare=False
    )
    # Filled at compile for every looping use; `loop_for` adds any others lazily.
    loops: dict[tuple[str, int, int], LoopBuffer] = field(
        default_factory=dict, repr=False, compare=False
    )

    # Sounds that `Engine.play` loaded by path at run time (shared by engines of this plan).
    extra: dict[str, SoundPlan] = field(default_factory=dict, repr=False, compare=False)

    def sound(self, name: str) -> SoundPlan:
        return self.sounds[name] if name in self.sounds else self.extra[name]

    @cached_property  # the plan is immutable: worked out once
    def voice_gates(self) -> tuple[tuple[float, int], ...]:
        """The distinct (threshold, hold) of every duck keyed by the voice signal."""
        return tuple(
            sorted({s.duck.gate for s in _specs(self) if s.duck is not None and s.duck.on_voice})
        )

    @property
    def keys_on_voice(self) -> bool:
        """True when a duck of this plan follows the voice signal (`duck: {by: voice}` or
        `both`): only then does the agent's voice arriving change what the engine renders."""
        return bool(self.voice_gates)

    # Peak of every buffer voices read (keyed by id: the plan keeps the buffers alive).
    peaks: dict[int, float] = field(default_factory=dict, repr=False, compare=False)

    def peak_of(self, buf: np.ndarray | LoopBuffer) -> float:
        """The largest |sample| of a buffer of this plan (cached)."""
        if isinstance(buf, LoopBuffer):
            return buf.peak
        p = self.peaks.get(id(buf))
        if p is None:
            p = float(np.abs(buf).max()) if buf.size else 0.0
            self.peaks[id(buf)] = p
        return p

    def loop_for(self, sound: str, index: int, crossfade: int) -> LoopBuffer:
        """The seam-crossfaded loop buffer of one variant (cached; shared by engines)."""
        key = (sound, index, crossfade)
        buf = self.loops.get(key)
        if buf is None:
            buf = loop_buffer(self.sound(sound).variants[index].samples, crossfade)
            self.loops[key] = buf
        return buf

    def loudness_of(self, sound: str, index: int, crossfade: int | None) -> float:
        """Integrated loudness (LUFS) of what a voice of ``sound``'s variant ``index`` reads:
        the loop buffer with that seam, or the clip (``crossfade`` None). Measured once."""
        key = (sound, index, crossfade)
        got = self.loudness.get(key)
        if got is None:
            from ..audio.loudness import measured  # local: numpy FFTs, only when levels need it

            var = self.sound(sound).variants[index]
            file = var.file if self.loader is default_loader else None
            kind = f"loudness@{self.rate}x{self.channels}"
            if crossfade is None:
                got = measured(file, kind, var.trim, lambda: var.samples, self.rate)
            else:
                got = measured(
                    file,
                    f"{kind}/loop{crossfade}",
                    var.trim,
                    lambda: _one_cycle(self.loop_for(sound, index, crossfade)),
                    self.rate,
                )
            self.loudness[key] = got
        return got

    def norm(self, spec: VoiceSpec, index: int) -> float:
        """The gain that brings a voice of ``spec`` (variant ``index``) to its `level`,
        for the compiled voice reference (a measured voice moves it on top)."""
        target = spec.level.lufs(self.voice_ref)
        if target is None:
            return 1.0
        lufs = self.loudness_of(spec.sound, index, spec.crossfade if spec.loop else None)
        if lufs <= GATE_LUFS:
            return 1.0  # silence has no loudness to bring anywhere (lint says so: SC404)
        return db_to_gain(min(target - lufs, MAX_NORM_DB))

    def load_source(self, source: str) -> SoundPlan:
        """A one-variant sound for a file path or 'builtin:NAME' not named in the scene."""
        path = resolve(source, self.base_dir)
        if not source.startswith("builtin:") and not path.exists() and Path(source).exists():
            path = Path(source)
        samples = _load(self.loader, path, self.rate, self.channels)
        sp = SoundPlan(
            source, (VariantPlan(source, samples, 1.0, 1.0, None, path),), 1.0, "random", 0, 0.0
        )
        self.extra[source] = sp
        return sp


def _one_cycle(buf: LoopBuffer) -> np.ndarray:
    return np.concatenate([buf.head, buf.body]) if buf.head.size else buf.body


def default_loader(path: Path, rate: int, channels: int) -> Any:
    from ..audio import load_clip  # local: decoding pulls in PyAV

    return load_clip(path, rate, channels)


def _load(loader: Loader, path: Path, rate: int, channels: int) -> np.ndarray:
    got = loader(path, rate, channels)
    arr = np.asarray(getattr(got, "samples", got), dtype=np.float32)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] == 0:
        raise AssetError(str(path), "decodes to no audio (zero length)")
    if arr.shape[1] != channels:
        # A custom loader may ignore the channel request: mix down or copy up.
        arr = (
            arr.mean(axis=1, keepdims=True) if channels == 1 else np.repeat(arr[:, :1], channels, 1)
        )
    return arr


def compile_scene(
    scene: Scene, rate: int = 48000, channels: int = 1, loader: Loader | None = None
) -> Plan:
    """Decode every sound and turn the scene into sample-based tables.

    Raises `AssetError` (naming the file) when a file is missing or does not decode.
    """
    if channels not in (1, 2):
        raise ValueError(f"channels must be 1 or 2, got {channels}")
    ld = loader or default_loader
    sec = lambda s: round(s * rate)  # noqa: E731
    sounds: dict[str, SoundPlan] = {}

    def sound_plan(name: str, snd: Sound, where: tuple[Any, ...]) -> SoundPlan:
        variants = []
        for i, v in enumerate(snd.pool()):
            at = (*where, "variants", i) if snd.variants is not None else where
            try:
                variants.append(
                    _variant(
                        v.source,
                        v.start,
                        v.trim,
                        v.gain,
                        v.weight,
                        scene.base_dir,
                        ld,
                        rate,
                        channels,
                    )
                )
            except AssetError as e:
                raise _located(e, scene, at, name) from None
        return SoundPlan(name, tuple(variants), snd.gain, snd.pick, snd.avoid_repeat, snd.silence)

    for name, snd in scene.sounds.items():
        sounds[name] = sound_plan(name, snd, ("sounds", name))

    def sound_of(p: _Plays, where: tuple[Any, ...] = ()) -> str:
        if p.sound is not None:
            return p.sound
        assert p.source is not None
        key = f"source:{p.source}"
        if key not in sounds:
            sounds[key] = sound_plan(key, Sound(source=p.source), where)
        return key

    # Inline sources first, with where they are written, for errors that point at the scene.
    for path, plays_ in walk_plays(scene):
        sound_of(plays_, path)

    def duck(d: Duck | None) -> DuckPlan | None:
        if d is None:
            return None
        return DuckPlan(d.depth, sec(d.attack), sec(d.release), d.by, d.threshold, sec(d.hold))

    def cue_spec(c: Cue, ring_by_default: bool = False) -> VoiceSpec:
        ring = c.on_exit == "ring" or (c.on_exit is None and ring_by_default and not c.loop)
        return VoiceSpec(
            sound_of(c), c.gain, c.pan, c.curve == "linear", duck(c.duck), c.loop,
            sec(c.fade_in), sec(c.fade_out), sec(c.crossfade), c.delay, ring,
            scene.levels.of(c),
        )  # fmt: skip

    layers = tuple(
        LayerPlan(
            name,
            VoiceSpec(
                sound_of(lay),
                lay.gain,
                lay.pan,
                lay.curve == "linear",
                duck(lay.duck),
                True,
                sec(lay.fade_in),
                sec(lay.fade_out),
                sec(lay.crossfade),
                level=scene.levels.of(lay),
            ),
            sec(lay.ramp),
        )
        for name, lay in scene.layers.items()
    )

    def timer(delay: float, a: Action) -> TimerPlan:
        return TimerPlan(sec(delay), cue_spec(a.play) if a.play else None, a.goto)

    states = {
        name: StatePlan(
            name,
            tuple(cue_spec(c) for c in st.cues),
            tuple(sorted((timer(d, a) for d, a in st.after.items()), key=lambda t: t.delay)),
            {k: (v.gain, None if v.ramp is None else sec(v.ramp)) for k, v in st.layers.items()},
        )
        for name, st in scene.states.items()
    }
    if not states:
        states = {scene.initial_state: StatePlan(scene.initial_state, (), (), {})}

    transitions = tuple(_transition(t, cue_spec) for t in scene.transitions)
    scatter = tuple(
        ScatterPlan(
            name,
            VoiceSpec(
                sound_of(sc),
                1.0,
                0.0,
                sc.curve == "linear",
                duck(sc.duck),
                False,
                0,
                0,
                0,
                level=scene.levels.of(sc),
            ),
            (sec(sc.interval.low), max(1, sec(sc.interval.high))),
            sc.gain,
            sc.pan,
            sc.max_voices,
            None if sc.states is None else frozenset(sc.states),
        )
        for name, sc in scene.scatter.items()
    )
    plan = Plan(
        rate=rate,
        channels=channels,
        file=scene.file,
        base_dir=scene.base_dir,
        sounds=sounds,
        layers=layers,
        states=states,
        initial=scene.initial_state,
        transitions=transitions,
        follow_agent=scene.follow_agent,
        scatter=scatter,
        triggers=frozenset(scene.triggers),
        master_gain=scene.master.gain,
        ceiling=scene.master.ceiling,
        max_voices=scene.master.max_voices,
        loader=ld,
        voice_ref=scene.voice.reference,
        voice_auto=scene.voice.auto,
        voice_glide=max(1, sec(scene.voice.glide)),
        cue_level=scene.levels.cue,
    )
    # Bake loop seams now so the first render of a session does no allocation spikes.
    looping = [lp.spec for lp in layers] + [c for st in states.values() for c in st.cues if c.loop]
    for spec in looping:
        for i in range(len(sounds[spec.sound].variants)):
            plan.loop_for(spec.sound, i, spec.crossfade)
    # Measure now what levels need, so no voice start waits for an FFT over a long clip.
    for spec in _specs(plan):
        if spec.level.kind != "file":
            for i in range(len(plan.sound(spec.sound).variants)):
                plan.loudness_of(spec.sound, i, spec.crossfade if spec.loop else None)
    log.debug("compiled %s: %d sounds, %d states", scene.file, len(sounds), len(states))
    return plan


def _specs(plan: Plan) -> list[VoiceSpec]:
    out = [lp.spec for lp in plan.layers] + [sc.spec for sc in plan.scatter]
    for st in plan.states.values():
        out += st.cues
        out += [t.play for t in st.timers if t.play is not None]
    out += [t.play for t in plan.transitions if t.play is not None]
    return out


def _located(e: AssetError, scene: Scene, path: tuple[Any, ...], name: str) -> AssetError:
    """The same error, saying which sound needs the file and where the scene names it."""
    merged = scene._positions
    pos = merged.pos((*path, "source")) if merged is not None else None
    what = f"sound '{name}'" if not name.startswith("source:") else "/".join(map(str, path))
    where = f" at {pos}" if pos is not None else f" in {scene.file}"
    return AssetError(e.path, f"{e.reason} (needed by {what}{where})", hint=e.hint)


def _variant(
    source: str,
    start: Any,
    trim: Trim | None,
    gain: float,
    weight: float,
    base: Path,
    ld: Loader,
    rate: int,
    channels: int,
) -> VariantPlan:
    path = resolve(source, base)
    samples = _load(ld, path, rate, channels)
    if trim is not None:
        a = min(round(trim.start * rate), samples.shape[0] - 1)
        b = samples.shape[0] if trim.end is None else round(trim.end * rate)
        samples = samples[a : max(a + 1, b)]
    cut = (0.0, None) if trim is None else (trim.start, trim.end)
    return VariantPlan(source, samples, gain, weight, start, path, cut)


def _transition(t: Transition, cue_spec: Callable[[Cue, bool], VoiceSpec]) -> TransitionPlan:
    when = {k: v if isinstance(v, tuple) else (v,) for k, v in t.when.items()}
    sources = None if "*" in t.from_ else frozenset(t.from_)
    # A one-shot answering an event rings out; an unrelated state change must not cut it.
    play = cue_spec(t.play, True) if t.play else None
    return TransitionPlan(t.on, sources, t.to, when, play)
