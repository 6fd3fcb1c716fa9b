"""`SoundscapeMetrics`: what `Soundscape.metrics` reports — a snapshot, taken when read."""

from __future__ import annotations

from dataclasses import dataclass

from .driver import LiveDriver


@dataclass(frozen=True, kw_only=True)
class SoundscapeMetrics:
    """A scape's health at the moment `Soundscape.metrics` was read (zeros before start)."""

    state: str
    """The scene state being heard."""
    active_voices: int = 0
    underruns: int = 0
    """Times the queue ran dry (the event loop was blocked longer than ``ahead``)."""
    underrun_seconds: float = 0.0
    """The silence those underruns left, in seconds."""
    latency: float = 0.0
    """Seconds from the last event's arrival to the sample where it was applied in what is
    heard: a few ms with rewind, the queue depth without."""
    rewinds: int = 0
    captures: int = 0
    """Frames handed to the output."""
    seconds_sent: float = 0.0
    queued: float = 0.0
    """Seconds of audio rendered ahead and not yet heard."""
    render_errors: int = 0
    """Renders that raised (each replaced by silence and logged)."""
    sink_errors: int = 0
    """Frames the output refused."""

    @classmethod
    def of(cls, driver: LiveDriver | None, *, state: str, rate: int) -> SoundscapeMetrics:
        if driver is None:
            return cls(state=state)
        m = driver.metrics
        return cls(
            state=state,
            active_voices=driver.deck.active_voices,
            underruns=m.underruns,
            underrun_seconds=m.underrun_seconds,
            latency=m.latency,
            rewinds=m.rewinds,
            captures=m.captures,
            seconds_sent=m.samples / rate,
            queued=driver.queued_seconds(),
            render_errors=m.render_errors,
            sink_errors=m.sink_errors,
        )
