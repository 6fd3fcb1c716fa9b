"""Gain ramps: the one envelope primitive every fade, level change and duck is made of.

A `Ramp` is immutable and defined on the absolute sample clock, so evaluating it
never depends on how the timeline was cut into blocks: the same sample gets the
same gain whether it is rendered in one call or in a thousand.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

MIN_FADE_SECONDS = 0.005
"""Every start and stop gets at least this much fade so nothing clicks."""

KILL_FADE_SECONDS = 0.010
"""Fade of a voice stolen by the voice cap."""


class Ramp(NamedTuple):
    """Gain going from ``a`` to ``b`` over ``length`` samples starting at sample ``t0``.

    The first sample of the ramp (``t0``) already moves away from ``a`` and sample
    ``t0 + length - 1`` is exactly ``b``, so a fade-in's onset sample is audible and a
    fade-out's last sample is silent.
    """

    a: float
    b: float
    t0: int
    length: int
    linear: bool = False

    @property
    def end(self) -> int:
        """First sample at which the value is ``b`` for good."""
        return self.t0 + self.length - 1

    def at(self, s: int) -> float:
        """The gain at sample ``s``."""
        if s < self.t0:
            return self.a
        if s >= self.end:
            return self.b
        return float(_shape(self.a, self.b, (s - self.t0 + 1) / self.length, self.linear))

    def over(self, s0: int, n: int) -> float | np.ndarray:
        """The gain over samples ``s0 .. s0+n-1``: a scalar when constant there, else an array."""
        if s0 >= self.end:
            return self.b
        if s0 + n <= self.t0:
            return self.a
        x = np.arange(s0 - self.t0 + 1, s0 - self.t0 + 1 + n, dtype=np.float64)
        x *= 1.0 / self.length
        np.clip(x, 0.0, 1.0, out=x)
        x = x.astype(np.float32)  # float32 trig is twice as fast and exact enough for gains
        g = np.asarray(_shape(self.a, self.b, x, self.linear), dtype=np.float32)
        g[x >= 1.0] = self.b  # exact end value (cos(pi/2) is 6e-17, not 0)
        return g


def constant(value: float) -> Ramp:
    """A ramp that is ``value`` forever."""
    return Ramp(value, value, 0, 1)


def ramp_from(current: Ramp, target: float, t0: int, length: int, linear: bool) -> Ramp:
    """A ramp from wherever ``current`` is at ``t0`` to ``target``."""
    start = current.at(t0 - 1)
    return Ramp(start, target, t0, max(1, length), linear)


def _shape(a: float, b: float, x: np.ndarray | float, linear: bool) -> np.ndarray | float:
    if linear or a == b:
        return a + (b - a) * x
    # Equal-power law: a fade-in follows sin, a fade-out cos, so two uncorrelated
    # voices crossing keep a constant total power. Levels between two non-zero
    # values use the same shapes, anchored at the two ends.
    if b > a:
        return a + (b - a) * np.sin(x * (math.pi / 2))
    return b + (a - b) * np.cos(x * (math.pi / 2))


def fade_samples(seconds: float, rate: int, *, minimum: float = MIN_FADE_SECONDS) -> int:
    """A fade length in samples, never below the click-safe minimum."""
    return max(1, round(max(seconds, minimum) * rate))
