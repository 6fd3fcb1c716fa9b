"""Listen to a real `rtc.AudioSource`: what its track actually carries, and the calls it got.

`AudioTap` wraps `capture_frame`/`clear_queue` of a real source (the calls still go
through; we count them and what they carried) and subscribes an `rtc.AudioStream` to a
local track on the source: that stream yields exactly the 10 ms frames the native source
hands to WebRTC (silence included), so `heard()` is the played signal, sample for sample.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import numpy as np
from livekit import rtc

_open: list[AudioTap] = []


async def close_all() -> None:
    """Close every tap made so far (their streams must end before the event loop does)."""
    while _open:
        await _open.pop().aclose()


@dataclass
class AudioTap:
    source: rtc.AudioSource
    pushed: list[tuple[float, int]] = field(default_factory=list)  # (time, samples) per capture
    cleared: list[float] = field(default_factory=list)  # time of each clear_queue()
    _frames: list[tuple[float, np.ndarray]] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None

    def __post_init__(self) -> None:
        cap, clear = self.source.capture_frame, self.source.clear_queue

        async def capture_frame(frame: rtc.AudioFrame) -> None:
            self.pushed.append((time.monotonic(), frame.samples_per_channel))
            await cap(frame)

        def clear_queue() -> None:
            self.cleared.append(time.monotonic())
            clear()

        self.source.capture_frame = capture_frame  # type: ignore[method-assign]
        self.source.clear_queue = clear_queue  # type: ignore[method-assign]
        track = rtc.LocalAudioTrack.create_audio_track("tap", self.source)
        self._stream = rtc.AudioStream.from_track(
            track=track, sample_rate=self.source.sample_rate, num_channels=self.source.num_channels
        )
        self._task = asyncio.ensure_future(self._read())
        _open.append(self)

    async def _read(self) -> None:
        ch = self.source.num_channels
        async for ev in self._stream:
            data = np.frombuffer(ev.frame.data, dtype=np.int16).reshape(-1, ch) / 32768.0
            self._frames.append((time.monotonic(), data.astype(np.float32)))

    @property
    def captures(self) -> int:
        return len(self.pushed)

    @property
    def clears(self) -> int:
        return len(self.cleared)

    def next_tick(self, t: float) -> int:
        """The sample of `heard()` at the first tick after ``t``: where audio pushed after a
        `clear_queue()` at ``t`` starts (what the track had handed over by then stays)."""
        tick = self.rate // 100
        return -(-self.index(t) // tick) * tick

    @property
    def rate(self) -> int:
        return self.source.sample_rate

    def heard(self) -> np.ndarray:
        """Everything the track carried since the tap was made, float32 (n, channels)."""
        if not self._frames:
            return np.zeros((0, self.source.num_channels), dtype=np.float32)
        return np.concatenate([f for _, f in self._frames])

    def index(self, t: float) -> int:
        """The sample of `heard()` the track was playing at ``t`` (time.monotonic()).

        The source emits one frame per 10 ms tick, and each reaches us a little after its
        tick; the earliest arrival relative to the tick grid is the best estimate of the
        grid itself, which places ``t`` to a fraction of a millisecond. Only frames near
        ``t`` are used, so a frame lost or delayed elsewhere cannot shift the answer.
        """
        if not self._frames:
            return 0
        starts = np.cumsum([0] + [f.shape[0] for _, f in self._frames[:-1]]) / self.rate
        arrivals = np.array([a for a, _ in self._frames])
        near = np.abs(arrivals - t) < 0.3
        offsets = (arrivals - starts)[near] if near.any() else arrivals - starts
        return round((t - float(np.min(offsets))) * self.rate)

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
            await self._stream.aclose()
