"""Loop buffers with the seam crossfade baked in, so a looping voice is a plain cyclic read."""

from __future__ import annotations

import numpy as np


def loop_buffer(samples: np.ndarray, crossfade: int) -> np.ndarray:
    """A buffer that plays seamlessly when read cyclically.

    The clip's last ``crossfade`` samples are faded out over its first ``crossfade``
    samples (equal-power), and the buffer is the clip without that tail: the sample
    after the buffer's last one is the crossfade's first, which continues the tail.
    """
    n = samples.shape[0]
    x = min(max(0, crossfade), n // 2)
    if x < 2:
        out = np.array(samples, dtype=np.float32, copy=True)
        out.setflags(write=False)
        return out
    body = np.array(samples[: n - x], dtype=np.float32, copy=True)
    t = (np.arange(x, dtype=np.float64) + 0.5) / x
    fade_in = np.sin(t * (np.pi / 2)).astype(np.float32)[:, None]
    fade_out = np.cos(t * (np.pi / 2)).astype(np.float32)[:, None]
    body[:x] = samples[:x] * fade_in + samples[n - x :] * fade_out
    body.setflags(write=False)
    return body
