"""Where the driver's audio goes: an `rtc.AudioSource`, or any frame sink the caller supplies."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Protocol

import numpy as np
from livekit import rtc


def to_frame(block: np.ndarray, rate: int) -> rtc.AudioFrame:
    """float32 (n, ch) in -1..1, or int16 already mixed (one track) → an `rtc.AudioFrame`."""
    n, ch = block.shape
    if block.dtype == np.int16:
        pcm = block
    else:
        pcm = np.clip(block * 32767.0, -32768.0, 32767.0).astype(np.int16)
    return rtc.AudioFrame(pcm.tobytes(), rate, ch, n)


class Sink(Protocol):
    """What the driver needs from an output."""

    rate: int
    channels: int
    can_clear: bool
    grid: float | None  # time of one native 10 ms tick, when known

    async def capture(self, block: np.ndarray) -> None: ...

    def clear(self) -> None: ...

    async def replace(self, block: np.ndarray) -> None:
        """`clear` then `capture`, with as little as possible between them: until ``block``
        is queued, whatever drains the queue finds it empty and plays silence."""
        ...

    async def aclose(self) -> None: ...


_grids: weakref.WeakKeyDictionary[rtc.AudioSource, float] = weakref.WeakKeyDictionary()


def make_audio_source(
    rate: int = 48000, channels: int = 1, queue_ms: int = 1000
) -> rtc.AudioSource:
    """An `rtc.AudioSource` whose 10 ms tick grid is known, so rewinds splice exactly.

    Pass it as ``Soundscape.start(audio_source=...)`` when you publish the track yourself.
    """
    source = rtc.AudioSource(rate, channels, queue_size_ms=queue_ms)
    # The native side starts ticking as the constructor returns (measured: ±0.3 ms).
    _grids[source] = time.monotonic()
    return source


async def calibrate_grid(source: rtc.AudioSource, frames: int = 12) -> float:
    """Find the tick grid of a source we did not create by listening to it for ``frames`` ticks.

    The native source emits one frame per tick even when its queue is empty; a local
    `rtc.AudioStream` on it receives each a fraction of a millisecond after its tick, so
    the earliest arrival (relative to a 10 ms grid) pins the grid down.
    """
    track = rtc.LocalAudioTrack.create_audio_track("soundscape-calibration", source)
    stream = rtc.AudioStream.from_track(
        track=track, sample_rate=source.sample_rate, num_channels=source.num_channels
    )
    offsets: list[float] = []
    try:
        async for _ in stream:
            offsets.append(time.monotonic() - len(offsets) * 0.01)
            if len(offsets) >= frames:
                break
    finally:
        await stream.aclose()
    grid = min(offsets) - 0.0003  # arrival trails the tick by ~0.3 ms (measured)
    _grids[source] = grid
    return grid


class AudioSourceSink:
    """Feeds an `rtc.AudioSource` (ours, or one the caller made)."""

    can_clear = True

    def __init__(self, source: rtc.AudioSource, *, owned: bool) -> None:
        self.source = source
        self.grid: float | None = _grids.get(source)
        self.rate = source.sample_rate
        self.channels = source.num_channels
        self._owned = owned

    async def capture(self, block: np.ndarray) -> None:
        await self.source.capture_frame(to_frame(block, self.rate))

    def clear(self) -> None:
        self.source.clear_queue()

    async def replace(self, block: np.ndarray) -> None:
        # The conversion first: the native side copies the frame on a thread of its own after
        # the request, and on a busy machine that copy can already miss the next tick (a
        # 10 ms hole); every moment spent between the clear and the request adds to it.
        frame = to_frame(block, self.rate)
        # No garbage collection between the clear and the request: `capture_frame` allocates
        # before it sends, so a collection could start there (seen in 5 of 260 clears), and
        # a full one in a process holding livekit-agents takes ~100 ms: that much silence.
        # (Paused until the capture returns; when two scapes overlap here, the one that found
        # it on turns it back on.)
        collecting = gc.isenabled()
        gc.disable()
        try:
            self.source.clear_queue()
            await self.source.capture_frame(frame)
        finally:
            if collecting:
                gc.enable()

    async def aclose(self) -> None:
        if self._owned:
            # Bounded: this runs while a job shuts down, where nothing may hang.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.source.aclose(), 2.0)
            return
        # The caller's source outlives us: drop what is still queued (silence after the
        # closing fade), or whoever feeds it next would start up to `ahead` late.
        with contextlib.suppress(Exception):
            self.source.clear_queue()


FrameCallback = Callable[[rtc.AudioFrame], Awaitable[None] | None]


class FrameSink:
    """Calls ``callback(frame)`` for each frame, for custom transports.

    Such a sink cannot take back audio it was given, so events wait behind what was already
    delivered (use a small ``frame``/``ahead`` for quick reaction); the driver still paces
    delivery in real time.
    """

    can_clear = False
    grid: float | None = None

    def __init__(self, callback: FrameCallback, *, rate: int, channels: int) -> None:
        self._cb = callback
        self.rate = rate
        self.channels = channels

    async def capture(self, block: np.ndarray) -> None:
        res = self._cb(to_frame(block, self.rate))
        if res is not None:
            await res

    def clear(self) -> None:  # pragma: no cover - never called: can_clear is False
        raise RuntimeError("a frame sink cannot clear what it was given")

    async def replace(self, block: np.ndarray) -> None:  # pragma: no cover - as clear()
        raise RuntimeError("a frame sink cannot clear what it was given")

    async def aclose(self) -> None:
        return None
