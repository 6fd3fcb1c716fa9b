"""A zero-latency peak limiter: output never exceeds the ceiling, and costs ~nothing when idle.

No look-ahead (which would delay every onset): the gain is computed per 32-sample
chunk from the chunk's peak, released smoothly (in dB) afterwards, interpolated
between chunks, and finally bounded per sample so a transient inside a chunk
cannot pass the ceiling. When the block's peak is below the ceiling and the gain
is back at unity the block is returned untouched.
"""

from __future__ import annotations

import numpy as np

CHUNK = 32


class Limiter:
    def __init__(self, ceiling: float, rate: int, *, release: float = 0.25) -> None:
        self.ceiling = float(ceiling)
        # dB of recovery per chunk: the full release time recovers 20 dB.
        self.release_db = 20.0 * CHUNK / max(1.0, release * rate)
        self.gain_db = 0.0  # gain at the end of the last processed chunk

    def process(self, x: np.ndarray, *, bound: float = float("inf")) -> np.ndarray:
        """Limit ``x`` (frames, ch) in place and return it.

        ``bound`` is an upper bound of ``|x|`` known to the caller (from voice gains and
        clip peaks): when it is below the ceiling even the peak scan is skipped.
        """
        if self.gain_db >= 0.0:
            if bound <= self.ceiling:
                return x
            hi = float(x.max(initial=0.0))
            lo = float(x.min(initial=0.0))
            if max(hi, -lo) <= self.ceiling:
                return x
        n = x.shape[0]
        peak = np.abs(x).max(axis=1)
        chunks = -(-n // CHUNK)
        padded = np.zeros(chunks * CHUNK, dtype=np.float32)
        padded[:n] = peak
        cpk = padded.reshape(chunks, CHUNK).max(axis=1)
        with np.errstate(divide="ignore"):
            need = np.minimum(0.0, 20.0 * np.log10(self.ceiling / np.maximum(cpk, 1e-12)))
        # L[k] = min(need[k], L[k-1] + release): a min-plus recursion, solved in closed form.
        k = np.arange(chunks, dtype=np.float64)
        c = self.release_db
        acc = np.minimum.accumulate(need - c * k) + c * k
        level = np.minimum(0.0, np.minimum(acc, self.gain_db + c * (k + 1.0)))
        prev = np.concatenate(([self.gain_db], level[:-1]))
        # Interpolate from the previous chunk's gain to this one's within each chunk.
        t = (np.arange(CHUNK, dtype=np.float64) + 1.0) / CHUNK
        curve = prev[:, None] + (level - prev)[:, None] * t[None, :]
        g = np.power(10.0, curve.reshape(-1)[:n] / 20.0)
        # Per-sample bound: whatever the smoothing says, never pass the ceiling.
        with np.errstate(divide="ignore"):
            safe = self.ceiling * (1.0 - 1e-6)  # float32 rounding must not tip a sample over
            cap = np.where(peak > safe, safe / np.maximum(peak, 1e-12), 1.0)
        g = np.minimum(g, cap).astype(np.float32)
        x *= g[:, None]
        self.gain_db = float(level[-1]) if chunks else self.gain_db
        if self.gain_db > -1e-4:
            self.gain_db = 0.0
        return x
