"""A voice: one playing instance (layer, cue, scatter spawn, one-shot) with its gain envelopes.

A voice's whole state is a handful of ints, floats and immutable `Ramp`s plus a
reference to shared, read-only audio, so copying it (for a snapshot) is cheap.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np

from .fades import Ramp, constant
from .loops import LoopBuffer
from .plan import DuckPlan, VoiceSpec
from .stream import StreamSource

_ONE = constant(1.0)


@dataclass
class Voice:
    handle: int
    kind: str  # "layer" | "cue" | "scatter" | "play"
    name: str  # sound (or layer/scatter) name, for events
    owner: str | None  # state that stops it on exit, layer name, or scatter name
    buffer: np.ndarray | LoopBuffer | None  # read-only; a LoopBuffer when looping; None: stream
    stream: StreamSource | None
    loop: bool
    pos: int  # read index into buffer / stream
    start: int  # absolute sample of the first audible sample
    gain: float  # static gain (layer × sound × variant)
    pan: np.ndarray | None  # per-channel gains (stereo) or None
    fade: Ramp  # fade in / fade out (0..1)
    level: Ramp  # per-state level (layers), else constant 1
    duck: Ramp  # 1 or the duck depth
    tail: Ramp | None  # short fade at a one-shot's natural end (no click)
    ends_at: int | None  # absolute sample after the last audible one (stopping)
    fade_out: int  # samples; used by stop() without an explicit fade
    linear: bool
    ring: bool = False
    duck_spec: DuckPlan | None = None
    source: str | None = None
    peak: float = math.inf  # largest |sample| of the source (inf: unknown, e.g. a stream)
    min_fade: int = 240  # samples of the click-safe minimum fade (set by the engine)
    starved: bool = False  # a stream ran dry on the last read
    starved_at: int = 0  # ...at this sample (valid while starved)
    started: bool = False
    end_sample: int = 0  # first sample after the voice ended (valid once it has)
    spec: VoiceSpec | None = None  # what the scene asked for (compared on live reload)
    follow: Ramp = _ONE  # a voice-relative level following the measured voice, else 1
    _key: tuple[object, ...] = ()
    _steady_at: int = 0
    _steady_until: int = 0
    _steady: float = 0.0

    def bound(self) -> float:
        """An upper bound of this voice's |output| while its current ramps last."""
        if self.peak == math.inf:
            return math.inf  # not inf × 0 = nan, which would compare as "quiet"
        f, lv, d, fw = self.fade, self.level, self.duck, self.follow
        return (
            self.peak
            * abs(self.gain)
            * max(f.a, f.b)
            * max(lv.a, lv.b)
            * max(d.a, d.b)
            * max(fw.a, fw.b)
            * (1.0 if self.pan is None else float(self.pan.max()))
        )

    def clone(self) -> Voice:
        return copy.copy(self)

    def render(self, out: np.ndarray, s0: int, emit_start: list[Voice]) -> bool:
        """Add this voice to ``out`` (which covers samples ``s0 ..``); True when it has ended."""
        n = out.shape[0]
        a = self.start - s0
        if a >= n:
            return False
        a = max(0, a)
        if not self.started:
            self.started = True
            emit_start.append(self)
        t = s0 + a
        m = n - a
        done = False
        if self.ends_at is not None and t + m >= self.ends_at:
            m = max(0, self.ends_at - t)
            done = True
        if m > 0:
            src, m2 = self._read(m, t)
            if m2 < m:
                done = True
                m = m2
        if done:
            self.end_sample = t + m
        if m == 0:
            return done
        g = self._gain(t, m)
        dst = out[a : a + m]
        if isinstance(g, float):
            if g == 0.0:
                return done
            if self.pan is not None:
                dst += src * (self.pan * g)
            else:
                dst += src * g if g != 1.0 else src
        else:
            col = g[:, None]
            if self.pan is not None:
                dst += src * col * self.pan
            else:
                dst += src * col
        return done

    def _gain(self, t: int, m: int) -> float | np.ndarray:
        # Most of the time no ramp is moving: answer from a cache keyed by the ramps.
        # Steady = after the fade, level and duck ramps ended and before a one-shot's tail.
        key = (self.fade, self.level, self.duck, self.tail, self.gain, self.follow)
        if key != self._key:
            self._key = key
            self._steady_at = max(self.fade.end, self.level.end, self.duck.end, self.follow.end)
            self._steady_until = (1 << 62) if self.tail is None else self.tail.t0
            tail = 1.0 if self.tail is None else self.tail.a
            self._steady = (
                self.gain * self.fade.b * self.level.b * self.duck.b * tail * self.follow.b
            )
        if self._steady_at <= t and t + m <= self._steady_until:
            return self._steady
        g: float | np.ndarray = self.gain
        for r in (self.fade, self.level, self.duck, self.tail, self.follow):
            if r is None:
                continue
            v = r.over(t, m)
            g = g * v
        if isinstance(g, np.ndarray):
            k = self._steady_at - t
            if 0 <= k < m and t + m <= self._steady_until:
                # Past the last ramp's end: the very value a block starting there gets, so
                # where a block boundary falls changes no sample (not even by rounding).
                g[k:] = self._steady
            return g
        return float(g)

    def _read(self, m: int, t: int) -> tuple[np.ndarray, int]:
        """The next ``m`` source frames (fewer if a one-shot ends first); ``t``: their sample."""
        if self.stream is not None:
            return self._read_stream(m, t)
        buf = self.buffer
        assert buf is not None
        if isinstance(buf, LoopBuffer):
            p = self.pos % buf.frames
            self.pos = (p + m) % buf.frames
            return buf.read(p, m), m
        k = min(m, buf.shape[0] - self.pos)
        chunk = buf[self.pos : self.pos + k]
        self.pos += k
        return chunk, k

    def _read_stream(self, m: int, t: int) -> tuple[np.ndarray, int]:
        s = self.stream
        assert s is not None
        gate = s.held(self.pos, t)
        if gate is not None and gate[1] < t + m:
            # Frames held back until a sample inside this read: read up to there, then on
            # (silence, then the frames faded in: as a starved stream that got data again).
            cut = gate[1] - t
            a, ma = self._read_stream(cut, t)
            if ma < cut:
                return a, ma
            b, mb = self._read_stream(m - cut, gate[1])
            return np.concatenate([a, b]), cut + mb
        if s.finished_at(self.pos):
            return np.zeros((0, s.channels), np.float32), 0
        have = s.pushed if gate is None else min(s.pushed, gate[0])
        k = max(min(m, have - self.pos), 0)
        if s.ended and gate is None:
            m = k
            if self.tail is None:
                # Its length is known now: fade the last few ms like a file's end.
                left = s.pushed - self.pos
                length = max(1, min(self.min_fade, left))
                self.tail = Ramp(1.0, 0.0, t + left - length, length)
        # Starved: play silence but do not skip ahead; late frames play when they come.
        data = s.read(self.pos, k, want=m)
        self.pos += k
        if self.starved and k > 0:
            _fade_edge(data, 0, self.min_fade, out=False)  # frames again: no hard jump
            self.starved = False
        if k < m and not (s.ended and gate is None):
            _fade_edge(data, k, self.min_fade, out=True)  # running dry: no hard cut
            if not self.starved:
                self.starved, self.starved_at = True, t + k
        return data, m


def _fade_edge(data: np.ndarray, at: int, length: int, *, out: bool) -> None:
    """Fade ``data`` (a private copy) linearly to 0 before ``at`` (out) or from 0 at ``at`` (in)."""
    if out:
        n = min(length, at)
        if n > 0:
            data[at - n : at] *= np.linspace(1.0, 0.0, n, dtype=np.float32)[:, None]
    else:
        n = min(length, data.shape[0] - at)
        if n > 0:
            data[at : at + n] *= np.linspace(0.0, 1.0, n, dtype=np.float32)[:, None]


def pan_gains(pan: float, channels: int) -> np.ndarray | None:
    """Constant-power pan gains for stereo (centre = 1/√2 per side × √2 = unity sum power)."""
    if channels != 2:
        return None
    if pan == 0.0:
        return None
    theta = (pan + 1.0) * math.pi / 4
    # Normalised so that centre is (1, 1): a centred voice is unchanged.
    return np.array([math.cos(theta), math.sin(theta)], dtype=np.float32) * math.sqrt(2.0)


def unity() -> Ramp:
    return constant(1.0)
