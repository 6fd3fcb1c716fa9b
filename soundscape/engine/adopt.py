"""Live reload inside one engine: carry the voices of a running scene over to its edited plan.

A layer or cue whose spec and audio are unchanged keeps its `Voice` object — the same
buffer, read position and envelopes — so it renders exactly the samples it would have
rendered without the reload. Everything else crossfades over ``crossfade`` samples:
changed voices fade out while their replacements fade in, removed ones fade out, new
layers fade in. The state is kept when the new plan still has it (timers too, unless
that state's timers changed); otherwise the engine moves to the new initial state.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from .fades import ramp_from
from .plan import Plan, SoundPlan, VoiceSpec
from .voices import Voice


class ReloadHost(Protocol):
    """What a reload drives: `Engine` implements these (its "reload host" methods).

    Everything else of the engine's state — queue, picks, random generator, limiter — is
    carried over untouched, which is why a kept voice renders the same samples.
    """

    @property
    def plan(self) -> Plan: ...

    @property
    def position(self) -> int: ...

    @property
    def state(self) -> str: ...

    @property
    def min_fade(self) -> int: ...

    def voices(self) -> list[Voice]: ...

    def swap_plan(self, plan: Plan, *, state: str | None, fade: int) -> None: ...

    def start_voice(
        self,
        spec: VoiceSpec,
        *,
        kind: str,
        owner: str | None,
        at: int,
        level: float = 1.0,
        fade_in: int | None = None,
    ) -> int | None: ...

    def stop_voice(self, v: Voice, t: int, length: int) -> None: ...

    def restart_timers(self) -> None: ...

    def reschedule_scatter(self, keep: Collection[str]) -> None: ...

    def exit_state(self, name: str, fade: int | None = None) -> None: ...

    def enter_state(self, name: str, event: str | None) -> None: ...


@dataclass
class AdoptReport:
    """What a reload did, by layer / cue name (``state:sound`` for cues)."""

    kept: list[str] = field(default_factory=list)
    crossfaded: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    state: str = ""
    state_kept: bool = True


def same_sound(a: SoundPlan, b: SoundPlan) -> bool:
    """True when both sounds pick from the same audio the same way."""
    if (a.name, a.gain, a.pick, a.avoid_repeat, a.silence) != (
        b.name,
        b.gain,
        b.pick,
        b.avoid_repeat,
        b.silence,
    ) or len(a.variants) != len(b.variants):
        return False
    for x, y in zip(a.variants, b.variants, strict=True):
        if (x.source, x.gain, x.weight, x.start) != (y.source, y.gain, y.weight, y.start):
            return False
        # The file may have been re-recorded under the same name: compare what it decoded to.
        if x.samples is not y.samples and (
            x.samples.shape != y.samples.shape or not np.array_equal(x.samples, y.samples)
        ):
            return False
    return True


def _sameness(old: Plan, new: Plan) -> Callable[[VoiceSpec, VoiceSpec], bool]:
    cache: dict[str, bool] = {}

    def same(a: VoiceSpec, b: VoiceSpec) -> bool:
        if a != b:
            return False
        if a.follows_voice and old.voice_ref != new.voice_ref:
            return False  # the same distance from another voice is another gain
        if a.sound not in cache:
            try:
                cache[a.sound] = same_sound(old.sound(a.sound), new.sound(b.sound))
            except KeyError:
                cache[a.sound] = False
        return cache[a.sound]

    return same


def adopt(eng: ReloadHost, plan: Plan, crossfade: int) -> AdoptReport:
    """Switch ``eng`` to ``plan`` at its current position (see the module docstring)."""
    old = eng.plan
    if (plan.rate, plan.channels) != (old.rate, old.channels):
        raise ValueError(
            f"the new plan renders {plan.rate} Hz × {plan.channels} ch, the engine "
            f"{old.rate} Hz × {old.channels} ch"
        )
    now = eng.position
    xf = max(crossfade, eng.min_fade)
    same = _sameness(old, plan)
    state = eng.state
    report = AdoptReport(state=state, state_kept=state in plan.states)
    target = state if report.state_kept else plan.initial
    for k, sp in old.extra.items():  # files play() loaded stay loaded
        plan.extra.setdefault(k, sp)

    eng.swap_plan(plan, state=state if report.state_kept else None, fade=xf)
    _layers(eng, plan, target, now, xf, same, report)
    _scatter(eng, old, plan, now, xf, same)
    if report.state_kept:
        _cues(eng, old, plan, state, now, xf, same, report)
        if old.states[state].timers != plan.states[state].timers:
            eng.restart_timers()
    else:
        # The state is gone: leave it (its cues fade with the crossfade) for the new initial.
        eng.exit_state(state, xf)
        eng.enter_state(plan.initial, None)
        report.state = plan.initial
    return report


def _layers(
    eng: ReloadHost,
    plan: Plan,
    state: str,
    now: int,
    xf: int,
    same: Callable[[VoiceSpec, VoiceSpec], bool],
    report: AdoptReport,
) -> None:
    new_layers = {lp.name: lp for lp in plan.layers}
    levels = plan.states[state].levels
    kept: set[str] = set()
    for v in eng.voices():
        if v.kind != "layer" or v.ends_at is not None:
            continue
        name = v.owner or ""
        lp = new_layers.get(name)
        if lp is not None and v.spec is not None and same(v.spec, lp.spec):
            kept.add(name)
            report.kept.append(name)
            level = levels.get(name, (lp.spec.gain, None))[0]
            if v.level.b != level:  # the state's level for it was edited: move there
                v.level = ramp_from(v.level, level, now, xf, v.linear)
            continue
        eng.stop_voice(v, now, xf)
        (report.crossfaded if lp is not None else report.removed).append(name)
    for lp in plan.layers:
        if lp.name in kept:
            continue
        if lp.name not in report.crossfaded:
            report.added.append(lp.name)
        fade = xf if lp.name in report.crossfaded else max(xf, lp.spec.fade_in)
        level = levels.get(lp.name, (lp.spec.gain, None))[0]
        eng.start_voice(lp.spec, kind="layer", owner=lp.name, at=now, level=level, fade_in=fade)


def _cues(
    eng: ReloadHost,
    old: Plan,
    plan: Plan,
    state: str,
    now: int,
    xf: int,
    same: Callable[[VoiceSpec, VoiceSpec], bool],
    report: AdoptReport,
) -> None:
    old_cues = list(old.states[state].cues)
    unchanged: list[VoiceSpec] = []
    fresh: list[VoiceSpec] = []
    for spec in plan.states[state].cues:
        i = next((i for i, o in enumerate(old_cues) if same(o, spec)), None)
        if i is None:
            fresh.append(spec)
        else:
            unchanged.append(old_cues.pop(i))
    for v in eng.voices():
        if v.kind != "cue" or v.owner != state or v.ring or v.ends_at is not None:
            continue
        if v.spec is not None and any(same(v.spec, s) for s in unchanged):
            report.kept.append(f"{state}:{v.name}")
            continue
        eng.stop_voice(v, now, xf)
        report.removed.append(f"{state}:{v.name}")
    for spec in fresh:
        # A one-shot keeps its attack; a loop crossfades with the voice it replaces.
        fade = max(xf, spec.fade_in) if spec.loop else None
        eng.start_voice(spec, kind="cue", owner=state, at=now, fade_in=fade)
        name = spec.sound.removeprefix("source:")
        key = f"{state}:{name}"
        if key in report.removed:
            report.removed.remove(key)
            report.crossfaded.append(key)
        else:
            report.added.append(key)


def _scatter(
    eng: ReloadHost,
    old: Plan,
    plan: Plan,
    now: int,
    xf: int,
    same: Callable[[VoiceSpec, VoiceSpec], bool],
) -> None:
    before = {sc.name: sc for sc in old.scatter}
    unchanged = [
        sc.name
        for sc in plan.scatter
        if (was := before.get(sc.name)) is not None
        and same(was.spec, sc.spec)
        and dataclasses.replace(was, spec=sc.spec) == sc
    ]
    eng.reschedule_scatter(unchanged)
    names = {sc.name for sc in plan.scatter}
    for v in eng.voices():
        if v.kind == "scatter" and v.ends_at is None and v.owner not in names:
            eng.stop_voice(v, now, xf)
