"""Loop buffers with the seam crossfade baked in, so a looping voice is a plain cyclic read.

A loop of a clip with an ``x``-sample crossfade plays ``head + clip[x : n - x]`` over
and over, where ``head`` is the clip's first ``x`` samples crossfaded with its last
``x``. Only ``head`` is new memory; the rest is a view of the decoded clip, so a
long bed shared between worker processes (memory-mapped by the clip cache) is not
copied into every process by looping it.
"""

from __future__ import annotations

import numpy as np


class LoopBuffer:
    """A read-only cyclic buffer made of a small crossfaded head and a view of the clip."""

    def __init__(self, head: np.ndarray, body: np.ndarray) -> None:
        self.head = head
        self.body = body
        self.frames = head.shape[0] + body.shape[0]
        self.channels = body.shape[1] if body.size else head.shape[1]
        peaks = [float(np.abs(a).max()) for a in (head, body) if a.size]
        self.peak = max(peaks, default=0.0)

    def __len__(self) -> int:
        return self.frames

    def read(self, pos: int, m: int) -> np.ndarray:
        """Frames ``pos .. pos+m-1`` of the endless loop (``0 <= pos < frames``).

        A view when the span lies inside one piece (almost always); a copy only at the
        head/body boundary and the wrap, once per loop length.
        """
        h = self.head.shape[0]
        if pos >= h and pos + m <= self.frames:
            return self.body[pos - h : pos - h + m]
        if pos + m <= h:
            return self.head[pos : pos + m]
        out = np.empty((m, self.channels), dtype=np.float32)
        done = 0
        while done < m:
            p = (pos + done) % self.frames
            if p < h:
                piece = self.head[p : min(h, p + m - done)]
            else:
                piece = self.body[p - h : p - h + (m - done)]
            out[done : done + piece.shape[0]] = piece
            done += piece.shape[0]
        return out


def loop_buffer(samples: np.ndarray, crossfade: int) -> LoopBuffer:
    """The seamless loop of ``samples`` with a ``crossfade``-sample seam.

    The clip's last ``crossfade`` samples are faded out over its first ``crossfade``
    samples and dropped from the end: the sample after the loop's last one is the
    crossfade's first, which continues the dropped tail.

    The law follows the material: uncorrelated ends (noise beds, ambience) get an
    equal-power crossfade, which keeps their loudness; strongly correlated ends (a
    steady tone, a drone) would swell by up to +3 dB with it, so they get a linear
    (equal-gain) crossfade instead.
    """
    n = samples.shape[0]
    x = min(max(0, crossfade), n // 2)
    if x < 2:
        return LoopBuffer(samples[:0], samples)
    t = (np.arange(x, dtype=np.float64) + 0.5) / x
    head = samples[:x].astype(np.float64)
    tail = samples[n - x :].astype(np.float64)
    denom = float(np.sqrt((head * head).sum() * (tail * tail).sum()))
    corr = float((head * tail).sum()) / denom if denom > 0 else 1.0
    if corr >= 0.5:
        fade_in, fade_out = t, 1.0 - t
    else:
        fade_in, fade_out = np.sin(t * (np.pi / 2)), np.cos(t * (np.pi / 2))
    mixed = (head * fade_in[:, None] + tail * fade_out[:, None]).astype(np.float32)
    mixed.setflags(write=False)
    return LoopBuffer(mixed, samples[x : n - x])
