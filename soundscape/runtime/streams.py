"""Feed an async iterator of `rtc.AudioFrame` (any rate, any channels) into a `StreamSource`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

import numpy as np
from livekit import rtc

from ..engine import StreamSource

if TYPE_CHECKING:
    from .deck import Deck, EngineLike
    from .driver import LiveDriver

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
    gone: Callable[[], bool] = lambda: False,
) -> None:
    """Push every frame of ``frames`` into ``src`` at ``rate``; call ``on_ready()`` once
    ``prefetch`` samples are buffered (or the iterator ended), then ``on_more()`` after each
    later frame; `end()` at the end. Once ``gone()`` (its sound was stopped or has ended),
    stop reading and close ``frames``: nothing would read what it pushes (an endless stream,
    a relayed participant, would grow `src` for ever) and the producer can stop its work.
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
            if gone():
                break
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
        else:
            for rs in resamplers.values():
                for f in rs.flush():
                    src.push(frame_to_float(f, src.channels))
            return
        close = getattr(frames, "aclose", None)
        if close is not None:
            await close()
    except Exception:
        log.exception("soundscape: the audio iterator given to play() failed; ending it there")
    finally:
        src.end()
        fire()


class LiveStream:
    """One `play()` stream as the driver watches it: where its frames run out on the deck
    clock, and what to do when more arrive (render on, or splice them in)."""

    def __init__(self, driver: LiveDriver, src: StreamSource) -> None:
        self.driver = driver
        self.src = src
        self.engine: EngineLike | None = None
        self.voice: int | None = None
        self._resuming = False  # a resume is queued: later frames ride on it

    def started(self, engine: EngineLike, voice: int) -> None:
        """The voice playing ``src`` was started on ``engine``: watch it."""
        self.engine, self.voice = engine, voice
        self.driver.watch_stream(self, self.end)

    def end(self) -> tuple[int, int | None] | None:
        """Where the frames pushed so far run out and where it ran dry, if it did (deck
        samples; None: stop watching)."""
        eng, d = self.engine, self.driver
        if eng is None or self.voice is None or eng not in d.deck.engines:
            return None
        st = eng.stream_state(self.voice)
        if st is None:
            return None
        dry = None if st[1] is None else d.deck.to_deck(eng, st[1])
        return d.deck.to_deck(eng, st[0]), dry

    def grew(self) -> None:
        """Frames were pushed: appended if the render has not passed the stream's end yet,
        else a resume from where it ran dry (filled seamlessly if not heard yet)."""
        eng, d = self.engine, self.driver
        if eng is None or self.voice is None:
            return
        st = eng.stream_state(self.voice)
        if st is None or st[1] is None:
            d.stream_grew()
            return
        if self._resuming:
            return
        self._resuming = True
        index = st[2]  # the frame it stopped at: held back until the splice if heard dry
        eng_ = eng

        def resume(deck: Deck, at: int | None) -> None:
            self._resuming = False
            if at is not None and eng_ in deck.engines:
                self.src.gate(index, deck.on_engine(eng_, at))

        d.submit_stream(resume, d.deck.to_deck(eng, st[1]))
