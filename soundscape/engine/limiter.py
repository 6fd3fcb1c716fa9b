"""A zero-latency peak limiter: output never exceeds the ceiling, and costs ~nothing when idle.

No look-ahead (it would delay every onset). Per sample, the gain (in dB) is the
lowest of what this sample needs to stay under the ceiling and what the previous
gain allows after releasing at a fixed rate:

    L[n] = min(0, need[n], L[n-1] + release)

This min-plus recursion has a closed form, ``L[n] = min(0, c·n + min_{j≤n}(need[j] −
c·j), L[-1] + c·(n+1))``, computed with one `np.minimum.accumulate`: no Python loop
per sample, and no chunk grid, so the result does not depend on where blocks are
cut (up to float rounding). Attack is instant, release is smooth (20 dB per
``release`` seconds), which keeps ordinary scenes from pumping. When the mix is
below the ceiling and the gain is at unity the block is returned untouched.
"""

from __future__ import annotations

import numpy as np


class Limiter:
    def __init__(self, ceiling: float, rate: int, *, release: float = 0.25) -> None:
        self.ceiling = float(ceiling)
        self.release_db = 20.0 / max(1.0, release * rate)  # dB of recovery per sample
        self.gain_db = 0.0  # gain at the last processed sample

    def process(self, x: np.ndarray, *, bound: float = float("inf")) -> np.ndarray:
        """Limit ``x`` (frames, ch) in place and return it.

        ``bound`` is an upper bound of ``|x|`` known to the caller (from voice gains and
        clip peaks): when it is below the ceiling even the peak scan is skipped.
        """
        n = x.shape[0]
        if n == 0:
            return x
        if self.gain_db >= 0.0:
            if bound <= self.ceiling:
                return x
            hi = float(x.max(initial=0.0))
            lo = float(x.min(initial=0.0))
            if max(hi, -lo) <= self.ceiling:
                return x
        peak = np.abs(x).max(axis=1).astype(np.float64)
        safe = self.ceiling * (1.0 - 1e-6)  # float32 rounding must not tip a sample over
        with np.errstate(divide="ignore"):
            need = np.minimum(0.0, 20.0 * np.log10(safe / np.maximum(peak, 1e-30)))
        c = self.release_db
        k = np.arange(n, dtype=np.float64) * c
        level = np.minimum.accumulate(need - k)
        level += k
        np.minimum(level, self.gain_db + c + k, out=level)
        np.minimum(level, 0.0, out=level)
        x *= np.power(10.0, level / 20.0).astype(np.float32)[:, None]
        self.gain_db = float(level[-1])
        return x
