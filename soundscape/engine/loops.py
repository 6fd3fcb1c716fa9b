"""Loop buffers with the seam crossfade baked in, so a looping voice is a plain cyclic read."""

from __future__ import annotations

import numpy as np


def loop_buffer(samples: np.ndarray, crossfade: int) -> np.ndarray:
    """A buffer that plays seamlessly when read cyclically.

    The clip's last ``crossfade`` samples are faded out over its first ``crossfade``
    samples, and the buffer is the clip without that tail: the sample after the
    buffer's last one is the crossfade's first, which continues the tail.

    The law follows the material: uncorrelated ends (noise beds, ambience) get an
    equal-power crossfade, which keeps their loudness; strongly correlated ends (a
    steady tone, a drone) would swell by up to +3 dB with it, so they get a linear
    (equal-gain) crossfade instead.
    """
    n = samples.shape[0]
    x = min(max(0, crossfade), n // 2)
    if x < 2:
        out = np.array(samples, dtype=np.float32, copy=True)
        out.setflags(write=False)
        return out
    body = np.array(samples[: n - x], dtype=np.float32, copy=True)
    t = (np.arange(x, dtype=np.float64) + 0.5) / x
    head = samples[:x].astype(np.float64)
    tail = samples[n - x :].astype(np.float64)
    denom = float(np.sqrt((head * head).sum() * (tail * tail).sum()))
    corr = float((head * tail).sum()) / denom if denom > 0 else 1.0
    if corr >= 0.5:
        fade_in = t.astype(np.float32)[:, None]
        fade_out = (1.0 - t).astype(np.float32)[:, None]
    else:
        fade_in = np.sin(t * (np.pi / 2)).astype(np.float32)[:, None]
        fade_out = np.cos(t * (np.pi / 2)).astype(np.float32)[:, None]
    body[:x] = samples[:x] * fade_in + samples[n - x :] * fade_out
    body.setflags(write=False)
    return body
