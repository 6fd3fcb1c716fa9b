"""Feed an async iterator of `rtc.AudioFrame` (any rate, any channels) into a `StreamSource`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

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
    on_ready: object = None,
) -> None:
    """Push every frame of ``frames`` into ``src`` at ``rate``; call ``on_ready()`` once
    ``prefetch`` samples are buffered (or the iterator ended), then keep pushing; `end()` at the end.
    """
    resamplers: dict[tuple[int, int], rtc.AudioResampler] = {}
    buffered = 0
    ready = False

    def fire() -> None:
        nonlocal ready
        if not ready:
            ready = True
            if callable(on_ready):
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
            if buffered >= prefetch:
                fire()
        for rs in resamplers.values():
            for f in rs.flush():
                src.push(frame_to_float(f, src.channels))
    except Exception:
        log.exception("soundscape: the audio iterator given to play() failed; ending it there")
    finally:
        src.end()
        fire()
