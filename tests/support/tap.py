"""Record what a real `rtc.AudioSource` is given and rebuild what it plays, on the wall clock.

The native source plays its queue in real time and `clear_queue()` drops what was not yet
played (measured in docs/runtime.md). `AudioTap` wraps `capture_frame`/`clear_queue` of a
real source (the calls still go through) and rebuilds the played signal from the call times,
so a test can ask "what was heard 50 ms after the agent started speaking".
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from livekit import rtc


@dataclass
class _Piece:
    start: float  # wall time its first sample plays
    data: np.ndarray  # float32 (n, channels)


@dataclass
class AudioTap:
    source: rtc.AudioSource
    pieces: list[_Piece] = field(default_factory=list)
    captures: int = 0
    clears: int = 0
    t0: float | None = None
    _end: float = 0.0

    def __post_init__(self) -> None:
        cap, clear = self.source.capture_frame, self.source.clear_queue
        rate, ch = self.source.sample_rate, self.source.num_channels

        async def capture_frame(frame: rtc.AudioFrame) -> None:
            now = time.monotonic()
            data = np.frombuffer(frame.data, dtype=np.int16).reshape(-1, ch) / 32768.0
            if self.t0 is None:
                self.t0 = now
            start = max(now, self._end)
            self.pieces.append(_Piece(start, data.astype(np.float32)))
            self._end = start + data.shape[0] / rate
            self.captures += 1
            await cap(frame)

        def clear_queue() -> None:
            now = time.monotonic()
            kept: list[_Piece] = []
            for p in self.pieces:
                if p.start >= now:
                    continue
                n = int((now - p.start) * rate)
                kept.append(_Piece(p.start, p.data[:n]) if n < p.data.shape[0] else p)
            self.pieces = kept
            self._end = min(self._end, now)
            self.clears += 1
            clear()

        self.source.capture_frame = capture_frame  # type: ignore[method-assign]
        self.source.clear_queue = clear_queue  # type: ignore[method-assign]

    @property
    def rate(self) -> int:
        return self.source.sample_rate

    def heard(self) -> np.ndarray:
        """The played signal from the first capture on, float32 (n, channels); gaps are zeros."""
        if self.t0 is None:
            return np.zeros((0, self.source.num_channels), dtype=np.float32)
        n = round((self._end - self.t0) * self.rate) + 1
        out = np.zeros((n, self.source.num_channels), dtype=np.float32)
        for p in self.pieces:
            i = round((p.start - self.t0) * self.rate)
            m = min(p.data.shape[0], n - i)
            out[i : i + m] = p.data[:m]
        return out

    def index(self, t: float) -> int:
        """The sample of `heard()` playing at wall time ``t`` (time.monotonic())."""
        assert self.t0 is not None
        return round((t - self.t0) * self.rate)
