"""Where a started scape's audio goes, chosen once at `start()`: the console's speaker, the
application's frame callback, the application's `rtc.AudioSource`, or a source of our own
that is published on the room."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .console import ConsoleOutput, ConsoleSink, ConsoleTarget, detect_console, mixable
from .options import LiveOptions
from .publish import Publisher, is_connected, wait_connected
from .sink import (
    AudioSourceSink,
    FrameCallback,
    FrameSink,
    Sink,
    calibrate_grid,
    make_audio_source,
)

if TYPE_CHECKING:
    from livekit import rtc

log = logging.getLogger("soundscape")


@dataclass(frozen=True)
class Output:
    """What `start()` was given to play into (at most one of the three is set)."""

    console: ConsoleTarget | None = None
    audio_source: rtc.AudioSource | None = None
    frame_sink: FrameCallback | None = None


def choose_output(
    *,
    room: rtc.Room | None,
    audio_source: rtc.AudioSource | None,
    frame_sink: FrameCallback | None,
    console: bool | ConsoleOutput | None,
) -> Output:
    """The output for `start()`'s arguments, or the error that says which to drop."""
    if audio_source is not None and frame_sink is not None:
        raise ValueError("give either audio_source or frame_sink, not both")
    if room is not None and frame_sink is not None:
        raise ValueError(
            "room= publishes an AudioSource, but with frame_sink= there is none: drop one of them"
        )
    mine = audio_source is not None or frame_sink is not None
    if console is None:
        # Under the console command the job's room is a stand-in (a mock): nobody would
        # hear a track published on it, so the local speaker wins.
        target = None if mine else detect_console()
    elif console is False:
        target = None
    elif mine:
        raise ValueError("console= plays locally; drop audio_source=/frame_sink=")
    elif console is True:
        target = detect_console()
        if target is None:
            raise RuntimeError(
                "console=True, but the agent is not running with the `console` command"
            )
    elif mixable(console):
        target = ConsoleTarget(int(console.sample_rate), lambda: console)
    else:
        raise TypeError(
            "console= takes True/False or a console audio output with "
            f"read_into(outdata, frames) and sample_rate, got {type(console).__name__}"
        )
    return Output(target, audio_source, frame_sink)


def latency_for(out: Output, options: LiveOptions, *, given: bool) -> LiveOptions:
    if out.frame_sink is not None and not given:
        # What a frame sink was given cannot be taken back, so events wait behind it:
        # the default becomes 20 ms frames (a telephony packet), not 400 ms.
        return LiveOptions.preset("low-latency")
    return options


class Opened:
    """An output in use: the sink the driver feeds and, given a room, the track that
    publishes it."""

    def __init__(self, sink: Sink, room: Any, publisher: Publisher | None) -> None:
        self.sink = sink
        self.room = room
        self.publisher = publisher

    @property
    def source(self) -> rtc.AudioSource | None:
        return self.sink.source if isinstance(self.sink, AudioSourceSink) else None

    def waits(self) -> bool:
        """True when a track is to be published on a room that is not connected yet."""
        return self.publisher is not None and not is_connected(self.room)

    async def publish(self) -> None:
        """Publish now (the room is connected): the driver queues audio meanwhile, so the
        track carries the bed from the moment a caller can subscribe."""
        if self.publisher is not None and self.source is not None:
            await self.publisher.publish(self.source)

    async def run_once_connected(self, run: Callable[[], Awaitable[None]], timeout: float) -> None:
        """Wait for the room, then ``run()`` the driver while the track is published. Not
        before: the scene would play its first seconds into a track nobody can hear yet."""
        assert self.publisher is not None
        await wait_connected(self.room, timeout, self.publisher.name)
        publishing = asyncio.ensure_future(self.publish())
        try:
            await run()
        finally:
            if not publishing.done():
                publishing.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await publishing

    async def aclose(self) -> None:
        if self.publisher is not None:
            await self.publisher.unpublish()
        with contextlib.suppress(Exception):
            await self.sink.aclose()


async def open_output(
    out: Output,
    *,
    room: rtc.Room | None,
    track_name: str,
    publish_options: rtc.TrackPublishOptions | None,
    rate: int,
    channels: int,
    options: LiveOptions,
) -> Opened:
    """``out`` opened at ``rate`` × ``channels``; published on ``room`` unless it is the
    console (whose job room is a stand-in) or a frame sink (which has no source)."""
    sink = await _open_sink(out, rate=rate, channels=channels, options=options)
    publisher = None
    if room is not None and isinstance(sink, AudioSourceSink):
        publisher = Publisher(room, track_name, publish_options)
    return Opened(sink, room, publisher)


async def _open_sink(out: Output, *, rate: int, channels: int, options: LiveOptions) -> Sink:
    """The sink the driver feeds for ``out``, at ``rate`` × ``channels``."""
    if out.console is not None:
        log.info(
            "soundscape: console mode (no room): the scene plays through the local "
            "speaker at %d Hz",
            out.console.rate,
        )
        return ConsoleSink(out.console, max_seconds=options.ahead + 0.5)
    if out.frame_sink is not None:
        return FrameSink(out.frame_sink, rate=rate, channels=channels)
    source = out.audio_source
    if source is None:
        # Room for the queue plus a rewind push, so capture_frame never has to wait.
        qms = int((options.ahead + 2 * options.frame) * 1000) + 50
        return AudioSourceSink(make_audio_source(rate, channels, qms), owned=True)
    if (source.sample_rate, source.num_channels) != (rate, channels):
        raise ValueError(
            f"audio_source is {source.sample_rate} Hz × {source.num_channels} ch; this "
            f"Soundscape renders {rate} Hz × {channels} ch (pass rate=/channels= to "
            "Soundscape to match)"
        )
    sink = AudioSourceSink(source, owned=False)
    if sink.grid is None and options.rewind:
        # Exact splices need the source's tick grid: listen for ~120 ms once.
        try:
            sink.grid = await asyncio.wait_for(calibrate_grid(source), 1.0)
        except Exception as e:
            log.warning("soundscape: could not find the source's tick grid (%s)", e)
    return sink
