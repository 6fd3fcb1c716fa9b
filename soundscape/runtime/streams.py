"""Feed an async iterator of `rtc.AudioFrame` (any rate, any channels) into a `StreamSource`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable

import numpy as np
from livekit import rtc

from ..engine import StreamSource

log = logging.getLogger("soundscape")


def frame_to_float(frame: rtc.AudioFrame, channels: int) -> np.ndarray:
    """int16 interleaved → float32 (n, channels), down- or up-mixing the channel count."""
    pcm = np.frombuffer(frame.data, dtype=np.int16).reshape(-1, frame.num_channels)
    a = pcm.astype(np.float32) / 32768.0
    if frame.num_channels == channels:
        return a
    if channels == 1:
        return a.mean(axis=1, keepdims=True)
    return np.repeat(a[:, :1], channels, axis=1) if frame.num_channels == 1 else a[:, :channels]


async def feed(
    frames: AsyncIterator[rtc.AudioFrame],
    src: StreamSource,
    *,
    rate: int,
    prefetch: int,
    on_ready: Callable[[], None] | None = None,
    on_more: Callable[[], None] | None = None,
) -> None:
    """Push every frame of ``frames`` into ``src`` at ``rate``; call ``on_ready()`` once
    ``prefetch`` samples are buffered (or the iterator ended), then ``on_more()`` after each
    later frame; `end()` at the end.
    """
    resamplers: dict[tuple[int, int], rtc.AudioResampler] = {}
    buffered = 0
    ready = False

    def fire() -> None:
        nonlocal ready
        if not ready:
            ready = True
            if on_ready is not None:
                on_ready()

    try:
        async for frame in frames:
            if frame.sample_rate != rate:
                key = (frame.sample_rate, frame.num_channels)
                rs = resamplers.get(key)
                if rs is None:
                    rs = resamplers[key] = rtc.AudioResampler(
                        frame.sample_rate, rate, num_channels=frame.num_channels
                    )
                outs = rs.push(frame)
            else:
                outs = [frame]
            for f in outs:
                a = frame_to_float(f, src.channels)
                src.push(a)
                buffered += a.shape[0]
            if ready:
                if on_more is not None:
                    on_more()
            elif buffered >= prefetch:
                fire()
        for rs in resamplers.values():
            for f in rs.flush():
                src.push(frame_to_float(f, src.channels))
    except Exception:
        log.exception("soundscape: the audio iterator given to play() failed; ending it there")
    finally:
        src.end()
        fire()


class Refresher:
    """Asks for a re-render when a live stream's frames arrive after the queued audio was
    rendered without them (the voice waits at the hole; a re-render from the sample playing
    plays them). At most one request per ``period`` seconds: each costs a rewind.
    """

    def __init__(self, src: StreamSource, request: Callable[[], None], period: float) -> None:
        self.src = src
        self.request = request
        self.period = period
        self._last = -float("inf")
        self._timer: asyncio.TimerHandle | None = None

    def poke(self) -> None:
        """New frames were pushed: schedule a request unless one is pending."""
        if self._timer is not None or not self.src.fillable:
            return
        loop = asyncio.get_running_loop()
        wait = max(0.0, self._last + self.period - loop.time())
        self._timer = loop.call_later(wait, self._fire, loop)

    def _fire(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = None
        if self.src.fillable:
            self._last = loop.time()
            self.request()

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
