"""The `Engine`: a deterministic, sample-accurate mixer driven by timestamped events.

Time is the sample counter `position`; nothing here reads the wall clock. A render
is cut into segments at the samples where something must happen (a posted event,
an `after` timer, a scatter spawn, a scheduled stop); inside a segment each voice
adds one numpy slice. Per-block cost therefore depends only on the voices playing.
"""

from __future__ import annotations

import heapq
import logging
import math
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic_core import PydanticCustomError

from ..scene.events import normalize
from ..scene.sources import resolve
from ..scene.units import Loudness, db_to_gain, parse_loudness
from .adopt import AdoptReport, adopt
from .events import EngineEvent
from .fades import KILL_FADE_SECONDS, MIN_FADE_SECONDS, Ramp, constant, fade_samples, ramp_from
from .limiter import Limiter
from .machine import SceneMachine
from .plan import DuckPlan, Plan, SoundPlan, TimerPlan, VoiceSpec
from .pools import PickState, pick
from .stream import StreamSource
from .voice_gate import Change, Gate, GateState, VoiceGate, fresh
from .voice_key import VoiceKey
from .voices import Voice, pan_gains

log = logging.getLogger("soundscape")

MAX_ACTIONS_PER_SAMPLE = 1000  # guards a goto loop with zero delays


FOLLOW_RANGE_DB = 12.0
"""How far a measured voice may move voice-relative levels from the scene's reference."""


@dataclass(frozen=True)
class _Snapshot:
    position: int
    voices: tuple[Voice, ...]
    streams: tuple[tuple[StreamSource, int], ...]
    queue: tuple[tuple[int, int, str, Any], ...]
    timers: tuple[tuple[int, int, TimerPlan], ...]
    scatter_next: tuple[tuple[str, int | None], ...]
    picks: tuple[tuple[str, PickState], ...]
    rng: dict[str, Any]
    state: str
    ducked: bool
    limiter_db: float
    counters: tuple[int, int]
    prev_state: str | None
    plan: Plan
    master: Ramp | None
    follow: Ramp
    voice_lufs: float | None
    gate: GateState
    voice_on: frozenset[Gate]


class Engine:
    """Renders one scene instance. See docs/engine.md for the model."""

    def __init__(self, plan: Plan, seed: int = 0, block: int = 480) -> None:
        self.plan = plan
        self.rate = plan.rate
        self.channels = plan.channels
        if int(block) <= 0:
            raise ValueError(f"block must be a positive number of frames, got {block}")
        self.block = int(block)
        self.seed = seed
        self.position = 0
        self.on_event: Callable[[EngineEvent], None] | None = None
        self.voice_key: VoiceKey | None = None
        """The agent's voice on this engine's clock, for ducks keyed by the voice signal
        (None: no voice known, so they are released). Settable at any time."""
        self._rng = np.random.Generator(np.random.PCG64(seed))
        self._voices: dict[int, Voice] = {}  # insertion order = age
        self._queue: list[tuple[int, int, str, Any]] = []  # (at, seq, kind, payload)
        self._timers: list[tuple[int, int, TimerPlan]] = []
        self._scatter_next: dict[str, int | None] = {sc.name: None for sc in plan.scatter}
        self._picks: dict[str, PickState] = {}
        self._seq = 0
        self._next_handle = 1
        self._ducked = False
        self._now = 0
        self._prev_state: str | None = None
        # Never above full scale, whatever the scene's ceiling says (+6 dB is a valid level).
        self._limiter = Limiter(min(plan.ceiling, 1.0), plan.rate)
        self._min_fade = fade_samples(0.0, self.rate)
        self._kill_fade = fade_samples(KILL_FADE_SECONDS, self.rate)
        self._started: list[Voice] = []
        self._master: Ramp | None = None  # master gain moving after a reload changed it
        # What voice-relative levels are multiplied by: 1 at the plan's voice reference,
        # gliding to follow a measured voice (`set_voice_loudness`).
        self._follow: Ramp = constant(1.0)
        self._voice_lufs: float | None = None
        self._gate = VoiceGate(plan.rate)
        self._gate_state = fresh(0)
        self._voice_on: frozenset[Gate] = frozenset()  # voice gates on at the render point
        self._key_failed = False
        self._bound = 0.0  # upper bound of |mix| in the current render (limiter shortcut)
        self._machine = SceneMachine(plan, self)
        for lp in plan.layers:
            self.start_voice(lp.spec, kind="layer", owner=lp.name, at=0, level=lp.spec.gain)
        # Entering the initial state is deferred to the first render so that an `on_event`
        # set after construction still sees it.
        self._push(0, "enter", plan.initial)

    # ----------------------------------------------------------------- public API

    @property
    def state(self) -> str:
        return self._machine.state

    @property
    def active_voices(self) -> int:
        return len(self._voices)

    def post(
        self, event: str, fields: Mapping[str, Any] | None = None, *, at: int | None = None
    ) -> None:
        """Queue ``event`` to apply at sample ``at`` (default / past: the current position)."""
        if not isinstance(event, str):
            raise TypeError(f"an event name is a string like 'agent.thinking', got {event!r}")
        if fields is not None and not isinstance(fields, Mapping):
            raise TypeError(f"event fields must be a mapping, got {type(fields).__name__}")
        t = self.position if at is None or at < self.position else int(at)
        self._push(t, "event", (event, dict(fields or {})))

    @property
    def voice_loudness(self) -> float:
        """The voice loudness (LUFS) voice-relative levels are heading for: the scene's
        reference until `set_voice_loudness` was called."""
        return self.plan.voice_ref if self._voice_lufs is None else self._voice_lufs

    def set_voice_loudness(self, lufs: float, *, at: int | None = None, glide: bool = True) -> None:
        """The agent's voice measures ``lufs``: voice-relative levels glide (over the scene's
        `voice.glide`) to stay at their distance from it, from sample ``at`` (default: now).

        The move is kept within ±`FOLLOW_RANGE_DB` of the scene's reference, so a whisper or
        a shout measured by mistake cannot bury or blast the bed. ``glide=False`` jumps
        there: for an engine not heard yet (a scene about to crossfade in).
        """
        if not (isinstance(lufs, int | float) and math.isfinite(lufs)):
            raise ValueError(f"set_voice_loudness(): expected a finite LUFS value, got {lufs!r}")
        t = self.position if at is None or at < self.position else int(at)
        if t > self.position:
            self._push(t, "voice", (float(lufs), glide))
            return
        self._follow_voice(float(lufs), t, glide)

    def _follow_voice(self, lufs: float, t: int, glide: bool = True) -> None:
        ref = self.plan.voice_ref
        lufs = min(max(lufs, ref - FOLLOW_RANGE_DB), ref + FOLLOW_RANGE_DB)
        self._voice_lufs = lufs
        target = db_to_gain(lufs - ref)
        if target == self._follow.b and t >= self._follow.end:
            return
        length = self.plan.voice_glide if glide else 1
        self._follow = ramp_from(self._follow, target, t, length, True)
        for v in self._voices.values():
            if v.spec is not None and v.spec.follows_voice:
                v.follow = self._follow

    def play(
        self,
        what: str | StreamSource,
        *,
        loop: bool = False,
        gain: float = 1.0,
        level: Loudness | str | None = None,
        fade_in: float = 0.0,
        fade_out: float | None = None,
        at: int | None = None,
    ) -> int:
        """Start a one-shot (or loop) outside the scene's states; returns its handle.

        ``what`` is a scene sound name, a file path, 'builtin:NAME' or a `StreamSource`.
        ``level`` is a loudness as in a scene ('-30 LUFS', 'voice -12 LU', 'file'; default:
        the scene's `levels.cue`) and ``gain`` a linear trim on top; a stream, whose
        loudness is not known before it plays, plays at ``gain`` as it comes.
        The voice is not stopped by state changes; stop it with `stop`.
        """
        lv = self.plan.cue_level if level is None else _loudness(level)
        for label, value in (("gain", gain), ("fade_in", fade_in), ("fade_out", fade_out or 0.0)):
            if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
                raise ValueError(f"play(): {label} must be a finite number >= 0, got {value!r}")
        t = self.position if at is None or at < self.position else int(at)
        fo = fade_samples(fade_out or 0.0, self.rate)
        if isinstance(what, StreamSource):
            if what.channels != self.channels:
                raise ValueError(
                    f"stream has {what.channels} channel(s) but the engine renders {self.channels}"
                )
            h = self._new_handle()
            v = Voice(
                h, "play", "stream", None, None, what, False, 0, t, float(gain), None,
                Ramp(0.0, 1.0, t, fade_samples(fade_in, self.rate)), constant(1.0),
                constant(1.0), None, None, fo, False, min_fade=self._min_fade,
            )  # fmt: skip
            self._admit(v, t)
            return h
        sound = self._sound(what)
        spec = VoiceSpec(
            sound.name, float(gain), 0.0, False, None, loop,
            round(fade_in * self.rate), fo, round(0.1 * self.rate), level=lv,
        )  # fmt: skip
        started = self.start_voice(spec, kind="play", owner=None, at=t)
        # None: the pool chose silence; hand out a handle that is already done.
        return self._new_handle() if started is None else started

    def stop(self, handle: int, *, fade: float | None = None, at: int | None = None) -> None:
        """Stop a voice with ``fade`` seconds (default: its own fade_out), at sample ``at``."""
        if fade is not None and not (
            isinstance(fade, int | float) and math.isfinite(fade) and fade >= 0
        ):
            raise ValueError(f"stop(): fade must be a finite number >= 0 or None, got {fade!r}")
        t = self.position if at is None or at < self.position else int(at)
        if t > self.position:
            self._push(t, "stop", (handle, fade))
            return
        self._stop_handle(handle, fade, t)

    def stop_all(self, *, fade: float | None = None, at: int | None = None) -> None:
        """Fade every playing voice out (each with its own fade_out unless ``fade`` is given).

        States, timers and scatter keep running: a later entry or timer starts new cues.
        """
        for h in list(self._voices):
            self.stop(h, fade=fade, at=at)

    def is_active(self, handle: int) -> bool:
        """False once the voice has fully ended (or never played)."""
        return handle in self._voices

    def stream_state(self, handle: int) -> tuple[int, int | None, int] | None:
        """Where live stream voice ``handle`` stands at the render head: (the sample at which
        its pushed frames run out if rendering goes on from here, the sample from which it
        has been playing silence for want of frames or None, the frame it will read next).
        None: not a stream voice, no longer playing, or its stream has ended (its length
        is known, so it needs no watching)."""
        v = self._voices.get(handle)
        if v is None or v.stream is None or v.stream.ended:
            return None
        s, head = v.stream, max(self.position, v.start)
        gate = s.held(v.pos, head)
        if gate is None:
            end = head + s.pushed - v.pos
        else:  # waits at a gate: the frames from there play once it opens
            end = max(head + gate[0] - v.pos, gate[1]) + s.pushed - gate[0]
        starved = v.starved_at if v.starved and gate is None else None
        return end, starved, v.pos

    def render(self, frames: int | None = None) -> np.ndarray:
        """The next ``frames`` frames (default: one `block`): float32 (frames, channels),
        after master gain and limiter."""
        if frames is None:
            frames = self.block
        if not isinstance(frames, int | np.integer) or frames < 0:
            raise ValueError(f"render() takes a number of frames >= 0, got {frames!r}")
        frames = int(frames)
        out = np.zeros((frames, self.channels), dtype=np.float32)
        pos0 = s = self.position
        end = pos0 + frames
        # A scene without voice-keyed ducks never reads the key: not one operation more.
        changes = self._voice_changes(pos0, end) if self.plan.keys_on_voice else ()
        ci = 0
        while s < end:
            # The voice gates first: a voice an event starts on this sample sees them moved.
            while ci < len(changes) and changes[ci][0] <= s:
                self._set_voice_duck(changes[ci][1], changes[ci][2], changes[ci][0])
                ci += 1
            self._run_due(s)
            nxt = min(end, self._next_due())
            if ci < len(changes):
                nxt = min(nxt, changes[ci][0])
            if nxt <= s:
                nxt = s + 1  # defensive: never stall
            self._mix(out[s - pos0 : nxt - pos0], s)
            s = nxt
        self.position = end
        self._now = end
        bound, self._bound = self._bound * self._apply_master(out, pos0), 0.0
        return self._limiter.process(out, bound=bound)

    def _apply_master(self, out: np.ndarray, pos0: int) -> float:
        """Scale by the master gain (ramping after a reload changed it); returns its maximum."""
        ramp = self._master
        if ramp is None:
            if self.plan.master_gain != 1.0:
                out *= self.plan.master_gain
            return self.plan.master_gain
        g = ramp.over(pos0, out.shape[0])
        if isinstance(g, np.ndarray):
            out *= g[:, None]
            return max(ramp.a, ramp.b)
        if pos0 >= ramp.end:
            self._master = None
        if g != 1.0:
            out *= g
        return float(g)

    def adopt(self, plan: Plan, crossfade: int) -> AdoptReport:
        """Carry on playing under ``plan`` (the same scene, edited): see `engine.adopt`."""
        return adopt(self, plan, crossfade)

    def snapshot(self) -> object:
        """An opaque copy of everything that changes while rendering (cheap: no audio copied)."""
        streams = tuple((v.stream, v.pos) for v in self._voices.values() if v.stream is not None)
        return _Snapshot(
            self.position,
            tuple(v.clone() for v in self._voices.values()),
            streams,
            tuple(self._queue),
            tuple(self._timers),
            tuple(self._scatter_next.items()),
            tuple((k, p.copy()) for k, p in self._picks.items()),
            dict(self._rng.bit_generator.state),
            self._machine.state,
            self._ducked,
            self._limiter.gain_db,
            (self._seq, self._next_handle),
            self._prev_state,
            self.plan,
            self._master,
            self._follow,
            self._voice_lufs,
            self._gate_state,
            self._voice_on,
        )

    def restore(self, snap: object) -> None:
        """Return to a `snapshot`: rendering again yields the same samples."""
        if not isinstance(snap, _Snapshot):
            raise TypeError("restore() takes what snapshot() returned")
        self.position = self._now = snap.position
        if snap.plan is not self.plan:  # back to before a reload
            self._set_plan(snap.plan)
        self._master = snap.master
        self._follow = snap.follow
        self._voice_lufs = snap.voice_lufs
        self._gate_state = snap.gate
        self._voice_on = snap.voice_on
        self._voices = {v.handle: v.clone() for v in snap.voices}
        self._queue = list(snap.queue)
        self._timers = list(snap.timers)
        self._scatter_next = dict(snap.scatter_next)
        self._picks = {k: p.copy() for k, p in snap.picks}
        self._rng.bit_generator.state = snap.rng
        self._machine.set_state(snap.state)
        self._ducked = snap.ducked
        self._limiter.gain_db = snap.limiter_db
        self._seq, self._next_handle = snap.counters
        self._prev_state = snap.prev_state

    def _set_plan(self, plan: Plan) -> None:
        self.plan = plan
        self._machine = SceneMachine(plan, self)
        if min(plan.ceiling, 1.0) != self._limiter.ceiling:
            gain_db = self._limiter.gain_db
            self._limiter = Limiter(min(plan.ceiling, 1.0), plan.rate)
            self._limiter.gain_db = gain_db

    # ------------------------------------------------ machine host (called by SceneMachine)

    def enter_state(self, name: str, event: str | None) -> None:
        now = self._now
        st = self.plan.states[name]
        for tp in st.timers:
            self._timers.append((now + tp.delay, self._tick(), tp))
        for spec in st.cues:
            self.start_voice(spec, kind="cue", owner=name, at=now + self._draw_delay(spec))
        for lp in self.plan.layers:
            target, ramp = st.levels.get(lp.name, (lp.spec.gain, None))
            length = lp.ramp if ramp is None else ramp
            for v in self._voices.values():
                if v.kind == "layer" and v.owner == lp.name and v.level.b != target:
                    if not v.started and v.start >= now:
                        v.level = constant(target)  # not heard yet: start at the state's level
                    else:
                        v.level = ramp_from(v.level, target, now, max(1, length), v.linear)
        for sc in self.plan.scatter:
            allowed = sc.states is None or name in sc.states
            if not allowed:
                self._scatter_next[sc.name] = None
            elif self._scatter_next[sc.name] is None:
                self._scatter_next[sc.name] = now + self._draw_interval(sc.interval)
        self._emit("state", name, now, {"from": self._prev_state, "event": event})

    def exit_state(self, name: str, fade: int | None = None) -> None:
        """Leave ``name``: its timers stop, its cues fade out (over ``fade`` samples, default
        each cue's own fade_out); rings play on."""
        now = self._now
        self._prev_state = name
        self._timers.clear()
        for v in list(self._voices.values()):
            if v.kind == "cue" and v.owner == name and not v.ring:
                self.stop_voice(v, now, v.fade_out if fade is None else fade)

    def transition_play(self, spec: VoiceSpec) -> None:
        self.start_voice(
            spec, kind="cue", owner=self._machine.state, at=self._now + self._draw_delay(spec)
        )

    # ---------------------------------------- reload host (called by engine.adopt.adopt)
    # `ReloadHost` in adopt.py names what a reload may do; `start_voice` and `stop_voice`
    # (with the voice internals below) complete it.

    @property
    def min_fade(self) -> int:
        """The shortest fade in samples: anything shorter would click."""
        return self._min_fade

    def voices(self) -> list[Voice]:
        """The voices playing or fading out, oldest first (a copy: stopping one is safe)."""
        return list(self._voices.values())

    def swap_plan(self, plan: Plan, *, state: str | None, fade: int) -> None:
        """Render under ``plan`` from the current position, its master gain reached over
        ``fade`` samples. The machine is put in ``state`` without entering it (None: the
        plan's initial state, not entered yet either). Voices, timers and scatter are the
        caller's to carry over."""
        now = self._now = self.position
        if self.plan.master_gain != plan.master_gain:
            cur = self.plan.master_gain if self._master is None else self._master.at(now - 1)
            self._master = Ramp(cur, plan.master_gain, now, fade, True)
        ref_moved = plan.voice_ref != self.plan.voice_ref
        self._set_plan(plan)
        self._voice_on = frozenset(g for g in self._voice_on if g in plan.voice_gates)
        if self._voice_lufs is not None and not plan.voice_auto:
            # A fixed voice reference now: what was measured no longer moves anything.
            self._voice_lufs = None
            self._follow = ramp_from(self._follow, 1.0, now, plan.voice_glide, True)
            for v in self._voices.values():
                if v.spec is not None and v.spec.follows_voice:
                    v.follow = self._follow
        elif ref_moved and self._voice_lufs is not None:
            # Voices that follow the voice are started again under the new reference.
            lufs, self._follow = self._voice_lufs, constant(1.0)
            self._follow_voice(lufs, now)
        if state is not None:
            self._machine.set_state(state)

    def restart_timers(self) -> None:
        """The current state's `after` timers count again from now."""
        now = self._now
        self._timers = [
            (now + tp.delay, self._tick(), tp) for tp in self.plan.states[self.state].timers
        ]

    def reschedule_scatter(self, keep: Collection[str]) -> None:
        """Scatter sounds named in ``keep`` spawn when they would have; the others of the plan
        draw a fresh interval from now if the current state allows them."""
        now, state = self._now, self.state
        nxt: dict[str, int | None] = {}
        for sc in self.plan.scatter:
            if sc.name in keep:
                nxt[sc.name] = self._scatter_next.get(sc.name)
            elif sc.states is None or state in sc.states:
                nxt[sc.name] = now + self._draw_interval(sc.interval)
            else:
                nxt[sc.name] = None
        self._scatter_next = nxt

    # ---------------------------------------------------------------- internals

    def _tick(self) -> int:
        self._seq += 1
        return self._seq

    def _new_handle(self) -> int:
        h = self._next_handle
        self._next_handle += 1
        return h

    def _push(self, at: int, kind: str, payload: Any) -> None:
        heapq.heappush(self._queue, (at, self._tick(), kind, payload))

    def _emit(self, kind: str, name: str, at: int, data: dict[str, Any]) -> None:
        if self.on_event is not None:
            try:
                self.on_event(EngineEvent(kind, name, at, data))
            except Exception:
                # A listener's bug must not leave the engine half-way through a render.
                log.exception("soundscape: on_event listener raised on %s %s", kind, name)

    def _next_due(self) -> int:
        t = self._queue[0][0] if self._queue else 1 << 62
        for at, _, _ in self._timers:
            t = min(t, at)
        for at2 in self._scatter_next.values():
            if at2 is not None:
                t = min(t, at2)
        return t

    def _run_due(self, s: int) -> None:
        """Apply everything due at or before sample ``s``, in time then arrival order."""
        self._now = s
        for _ in range(MAX_ACTIONS_PER_SAMPLE):
            best: tuple[int, int] | None = None
            src = ""
            if self._queue and self._queue[0][0] <= s:
                best, src = (self._queue[0][0], self._queue[0][1]), "queue"
            for i, (at, seq, _) in enumerate(self._timers):
                if at <= s and (best is None or (at, seq) < best):
                    best, src = (at, seq), f"timer{i}"
            for name, at2 in self._scatter_next.items():
                if at2 is not None and at2 <= s and (best is None or (at2, 0) < best):
                    best, src = (at2, 0), "scatter:" + name
            if best is None:
                return
            if src == "queue":
                _, _, kind, payload = heapq.heappop(self._queue)
                if kind == "event":
                    self._apply_event(payload[0], payload[1])
                elif kind == "enter":
                    self.enter_state(payload, None)
                elif kind == "voice":
                    self._follow_voice(payload[0], s, payload[1])
                else:
                    self._stop_handle(payload[0], payload[1], s)
            elif src.startswith("timer"):
                _, _, tp = self._timers.pop(int(src[5:]))
                self._run_timer(tp)
            else:
                self._spawn(src.removeprefix("scatter:"))
        # Nothing is lost: the rest run on the next sample. Zero-delay goto loops are refused
        # when the scene loads (SC303), so this is an event storm landing on one sample.
        log.warning(
            "more than %d events/timers due at sample %d; the rest run from the next sample",
            MAX_ACTIONS_PER_SAMPLE,
            s,
        )

    def _apply_event(self, name: str, fields: dict[str, Any]) -> None:
        now = self._now
        event = normalize(name, self.plan.triggers)
        self._emit("event", name, now, {"fields": fields, "known": event is not None})
        if event is None:
            log.debug("ignoring unknown event %r at sample %d", name, now)
            return
        if event.startswith("trigger."):
            self._emit("trigger", event.removeprefix("trigger."), now, dict(fields))
        if event.startswith("agent."):
            self._set_duck(event == "agent.speaking", now)
        self._machine.fire(event, fields)

    def _run_timer(self, tp: TimerPlan) -> None:
        # Move first, as a transition does: played before the move, the cue would belong
        # to the state being left and be stopped at once (`{play: x, goto: y}` was silent).
        if tp.goto is not None:
            self._machine.goto(tp.goto, reason="after")
        if tp.play is not None:
            self.transition_play(tp.play)

    def _set_duck(self, down: bool, now: int) -> None:
        if down == self._ducked:
            return
        self._ducked = down
        for v in self._voices.values():
            d = v.duck_spec
            if d is None or not d.on_speaking:
                continue
            if d.on_voice:  # both: one duck, down while either the state or the voice says so
                self._duck_to(v, down or d.gate in self._voice_on, now)
                continue
            target, length = (d.depth, d.attack) if down else (1.0, d.release)
            v.duck = ramp_from(v.duck, target, now, max(1, length), v.linear)

    def _set_voice_duck(self, gate: Gate, on: bool, now: int) -> None:
        self._voice_on = self._voice_on | {gate} if on else self._voice_on - {gate}
        for v in self._voices.values():
            d = v.duck_spec
            if d is not None and d.on_voice and d.gate == gate:
                self._duck_to(v, on or (d.on_speaking and self._ducked), now)

    def _duck_to(self, v: Voice, down: bool, now: int) -> None:
        d = v.duck_spec
        assert d is not None
        target, length = (d.depth, d.attack) if down else (1.0, d.release)
        if v.duck.b != target:
            # The voice can open and close a duck every millisecond: never faster than the
            # click-safe fade, whatever the scene says.
            v.duck = ramp_from(v.duck, target, now, max(self._min_fade, length), v.linear)

    def _ducked_now(self, d: DuckPlan) -> bool:
        return (d.on_speaking and self._ducked) or (d.on_voice and d.gate in self._voice_on)

    def _voice_changes(self, s: int, e: int) -> list[Change]:
        """Read the voice key over ``s .. e`` and return where voice gates open and close."""
        voice = None
        key = self.voice_key
        if key is not None and e > s:
            try:
                got = key.read(s, e - s)
                if got is not None:
                    voice = np.asarray(got, dtype=np.float32).reshape(-1)
                    if voice.shape[0] != e - s:
                        raise ValueError(
                            f"voice key read({s}, {e - s}) returned {voice.shape[0]} samples"
                        )
            except Exception:
                # A broken key must not stop the scene: it is heard as no voice.
                voice = None
                if not self._key_failed:
                    self._key_failed = True
                    log.exception("soundscape: reading the voice key failed; ducks keyed by "
                                  "the voice hear no voice")  # fmt: skip
        self._gate_state, changes = self._gate.advance(
            self._gate_state, voice, s, e, self.plan.voice_gates, self._voice_on
        )
        return changes

    def _spawn(self, name: str) -> None:
        sc = next(x for x in self.plan.scatter if x.name == name)
        now = self._now
        self._scatter_next[name] = now + self._draw_interval(sc.interval)
        playing = sum(
            1 for v in self._voices.values()
            if v.kind == "scatter" and v.owner == name and v.ends_at is None
        )  # fmt: skip
        if playing >= sc.max_voices:
            return
        g = self._uniform(sc.gain.low, sc.gain.high)
        p = self._uniform(sc.pan.low, sc.pan.high)
        self.start_voice(sc.spec, kind="scatter", owner=name, at=now, gain=g, pan=p)

    def _draw_interval(self, iv: tuple[int, int]) -> int:
        return max(1, int(self._rng.integers(iv[0], iv[1] + 1)))

    def _uniform(self, lo: float, hi: float) -> float:
        return lo if lo == hi else float(self._rng.uniform(lo, hi))

    def _draw_delay(self, spec: VoiceSpec) -> int:
        return round(self._uniform(spec.delay.low, spec.delay.high) * self.rate)

    def _sound(self, what: str) -> SoundPlan:
        if what in self.plan.sounds:
            return self.plan.sounds[what]
        if what in self.plan.extra:
            return self.plan.extra[what]
        looks_like_file = what.startswith("builtin:") or "/" in what or "." in what
        if not looks_like_file or not (
            what.startswith("builtin:")
            or resolve(what, self.plan.base_dir).exists()
            or Path(what).exists()
        ):
            names = ", ".join(sorted(n for n in self.plan.sounds if not n.startswith("source:")))
            raise ValueError(
                f"cannot play {what!r}: it is not a sound of this scene"
                f" ({names or 'the scene has no sounds'}) and no such file exists"
            )
        return self.plan.load_source(what)

    def start_voice(
        self,
        spec: VoiceSpec,
        *,
        kind: str,
        owner: str | None,
        at: int,
        gain: float = 1.0,
        pan: float | None = None,
        level: float = 1.0,
        fade_in: int | None = None,
    ) -> int | None:
        """Start ``spec`` at sample ``at`` as a voice of ``kind`` (layer, cue, scatter, play)
        belonging to ``owner``; its handle, or None when the pool picked silence."""
        sound = self.plan.sound(spec.sound)
        ps = self._picks.get(sound.name)
        if ps is None:
            ps = self._picks[sound.name] = PickState()
        idx = pick(
            self._rng, ps, weights=sound.weights, mode=sound.pick,
            avoid_repeat=sound.avoid_repeat, silence=sound.silence,
        )  # fmt: skip
        if idx is None:
            self._emit("voice.silent", sound.name, at, {"kind": kind, "owner": owner})
            return None
        var = sound.variants[idx]
        buf = self.plan.loop_for(sound.name, idx, spec.crossfade) if spec.loop else var.samples
        size = len(buf)
        offset = self._offset(var.start, size)
        h = self._new_handle()
        linear = spec.linear
        tail = None
        if not spec.loop:
            remaining = size - offset
            length = min(self._min_fade, remaining)
            tail = Ramp(1.0, 0.0, at + remaining - length, length, linear)
        duck = constant(1.0)
        if spec.duck is not None and self._ducked_now(spec.duck):
            duck = constant(spec.duck.depth)
        norm = self.plan.norm(spec, idx)
        v = Voice(
            h, kind, sound.name.removeprefix("source:"), owner, buf, None, spec.loop, offset, at,
            (spec.gain if kind != "layer" else 1.0) * sound.gain * var.gain * gain * norm,
            pan_gains(spec.pan if pan is None else pan, self.channels),
            Ramp(0.0, 1.0, at, fade_samples((fade_in or spec.fade_in) / self.rate, self.rate), linear),
            constant(level), duck, tail, None,
            max(self._min_fade, spec.fade_out), linear, spec.ring, spec.duck, var.source,
            self.plan.peak_of(buf), spec=spec,
        )  # fmt: skip
        if spec.follows_voice:
            v.follow = self._follow
        self._admit(v, at)
        return h

    def _admit(self, v: Voice, at: int) -> None:
        """Add a voice, stealing the oldest non-layer voice beyond the cap."""
        live = [x for x in self._voices.values() if x.ends_at is None]
        if len(live) >= self.plan.max_voices:
            victim = next((x for x in live if x.kind != "layer"), None)
            if victim is not None:
                self._emit("voice.steal", victim.name, self._now, {"handle": victim.handle})
                self.stop_voice(victim, max(self._now, min(at, victim.start)), self._kill_fade)
        self._voices[v.handle] = v

    def _offset(self, start: Any, size: int) -> int:
        if start is None:
            return 0
        if start == "random":
            return int(self._rng.integers(0, size))
        s = round(self._uniform(start.low, start.high) * self.rate)
        return min(max(0, s), size - 1)

    def _stop_handle(self, handle: int, fade: float | None, t: int) -> None:
        v = self._voices.get(handle)
        if v is None:
            return
        length = v.fade_out if fade is None else fade_samples(fade, self.rate)
        self.stop_voice(v, t, length)

    def stop_voice(self, v: Voice, t: int, length: int) -> None:
        """Fade ``v`` out over ``length`` samples from sample ``t`` (never faster than
        `min_fade`; a voice not heard yet is dropped)."""
        if t <= v.start and not v.started:
            # Never heard: drop it without a trace.
            self._drop(v)
            return
        length = max(self._min_fade, length)
        if v.ends_at is not None and v.ends_at <= t + length:
            return
        v.fade = ramp_from(v.fade, 0.0, t, length, v.linear)
        v.ends_at = t + length

    def _drop(self, v: Voice) -> None:
        self._voices.pop(v.handle, None)

    def _mix(self, out: np.ndarray, s0: int) -> None:
        started = self._started
        finished: list[Voice] = []
        bound = 0.0
        for v in self._voices.values():
            bound += v.bound()
            if v.render(out, s0, started):
                finished.append(v)
        self._bound = max(self._bound, bound)
        if started:
            for v in started:
                self._emit("voice.start", v.name, v.start, self._voice_data(v))
            started.clear()
        for v in finished:
            self._drop(v)
            self._emit("voice.stop", v.name, v.end_sample, self._voice_data(v))

    def _voice_data(self, v: Voice) -> dict[str, Any]:
        return {
            "handle": v.handle,
            "kind": v.kind,
            "owner": v.owner,
            "source": v.source,
        }


def _loudness(level: Loudness | str) -> Loudness:
    try:
        return parse_loudness(level)
    except PydanticCustomError as e:  # the scene language's own message, as lint gives it
        raise ValueError(f"play(): level: {e.message()}") from None


__all__ = ["FOLLOW_RANGE_DB", "MIN_FADE_SECONDS", "Engine"]
