"""`VoiceKey`: the agent's voice on an engine's clock, for ducks keyed by the voice signal.

The runtime (one-track output, where the voice is mixed by soundscape) and the offline
render attach one to `Engine.voice_key`; the engine reads exactly the span it renders,
once per render, in order (after a `restore` it reads the re-rendered span again).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np


class VoiceKey(Protocol):
    def read(self, start: int, n: int) -> np.ndarray | None:
        """The agent's voice on this engine's clock, samples start..start+n: float32 mono (n,),
        or None when there is no voice anywhere in that span (the cheap common case)."""


class ArrayVoiceKey:
    """A voice held in memory, its first sample at sample ``at`` of the engine's clock.

    Multi-channel audio is keyed by the mean of its channels. A span outside the
    recording, or digitally silent inside it, reads as None (nothing to follow).
    """

    def __init__(self, samples: np.ndarray, at: int = 0) -> None:
        a = np.asarray(samples, dtype=np.float32)
        if a.ndim == 2:
            a = a.mean(axis=1, dtype=np.float32) if a.shape[1] > 1 else a[:, 0]
        if a.ndim != 1:
            raise ValueError(f"a voice key is (frames,) or (frames, channels) audio, got {a.shape}")
        self.samples = np.ascontiguousarray(a)
        self.samples.flags.writeable = False
        self.at = int(at)

    @property
    def end(self) -> int:
        """The sample after the recording's last."""
        return self.at + self.samples.shape[0]

    def read(self, start: int, n: int) -> np.ndarray | None:
        a, b = max(start, self.at), min(start + n, self.end)
        if b <= a:
            return None
        chunk = self.samples[a - self.at : b - self.at]
        if not chunk.any():
            return None
        if (a, b) == (start, start + n):
            return chunk
        out = np.zeros(n, np.float32)
        out[a - start : b - start] = chunk
        return out


__all__ = ["ArrayVoiceKey", "VoiceKey"]
