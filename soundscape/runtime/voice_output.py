"""`OneTrackOutput`: soundscape *as* the AgentSession's audio output (one-track mode).

The session gives its speech to this output as it would to RoomIO's: frames go onto the
driver's `VoiceLine` at the first sample that can still be changed (or right after the
frame before), and the driver mixes them into what it pushes, so the caller receives voice
and scene on one track. Everything an audio output owes the session is reported from the
sample clock, not guessed: `playback_started` when the first sample is handed to the track,
`playback_finished` with the position actually heard (a `clear_buffer` cuts at the sample
playing, with a few ms of fade), `pause`/`resume` hold and give back what was not heard.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from typing import Any

import numpy as np
from livekit import rtc
from livekit.agents.voice import io

from .driver import LiveDriver
from .voice_line import Segment, VoiceLine

log = logging.getLogger("soundscape")

FADE = 0.005
"""Seconds over which a clear or a pause fades the voice out (and a resume fades it in)."""
POLL = 0.05
"""Seconds between looks at the clock while a segment waits for audio to be pushed."""


class OneTrackOutput(io.AudioOutput):
    """The session's audio output: its speech mixed with the scene on the scape's track."""

    def __init__(self, driver: LiveDriver, *, channels: int) -> None:
        super().__init__(
            label="soundscape",
            capabilities=io.AudioOutputCapabilities(pause=True),
            next_in_chain=None,
            sample_rate=driver.rate,
        )
        self._driver = driver
        self._channels = channels
        self._fade = max(int(FADE * driver.rate), 1)
        # A cut fades out one tick after the splice: a splice whose capture reaches the
        # source a tick late (a busy machine) still finds the voice whole there, not a jump.
        self._margin = driver.rate // 100
        self.line = VoiceLine(channels)
        driver.carry_voice(self.line)
        self._numbers = itertools.count(1)
        self._pending: list[Segment] = []  # captured, not yet reported finished
        self._capturing: Segment | None = None
        self._started: dict[int, float] = {}  # segment → when playback_started said so
        self._paused = False
        self._held: list[tuple[Segment, np.ndarray]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._resampler: tuple[int, int, rtc.AudioResampler] | None = None
        self.subscribed: asyncio.Future[None] | None = None
        """Set by the run: speech waits for the track's first subscriber, as RoomIO's does
        (so a greeting is not spoken to nobody). None: nothing to wait for."""
        self.closed = False
        self.listeners: list[Any] = []
        """Told of each frame placed, ``placed(pcm, end)`` (`voice: auto` measures it)."""

    # -- what the session calls ------------------------------------------------------

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        sub = self.subscribed
        if sub is not None and not sub.done():
            await asyncio.shield(sub)
        await super().capture_frame(frame)
        pcm = self._pcm(frame)
        if pcm is None or pcm.shape[0] == 0:
            return
        seg = self._capturing
        if seg is None:
            seg = self._capturing = Segment(next(self._numbers))
            self._pending.append(seg)
            self._driver.voice_late = False
        if self._paused:
            self._held.append((seg, pcm))
            return
        self._driver.voice_open = True
        d = self._driver
        at = self.line.place(
            pcm,
            earliest=self._earliest(),
            segment=seg,
            pushed=d.clock.pushed if d.started else None,
            append_within=d.append_within,
        )
        self._driver.voice_placed(at)
        self._watch()
        for listener in self.listeners:
            try:
                listener.placed(pcm, at + pcm.shape[0])
            except Exception:
                log.exception("soundscape: measuring the agent's voice failed")

    def flush(self) -> None:
        super().flush()
        seg, self._capturing = self._capturing, None
        self._driver.voice_open = False
        if seg is not None:
            seg.flushed = True
            self._watch()

    def clear_buffer(self) -> None:
        segs = [s for s in self._pending if not s.done]
        self._capturing = None
        self._driver.voice_open = False
        self._held = []
        if not segs:
            return
        self.line.break_run()  # the next speech does not queue behind the one cut here
        for seg in segs:
            seg.done = True  # nothing more of it is placed; reported at the cut

        def cut(at: int) -> None:
            at += self._margin
            self.line.cut(at, self._fade, segs)
            for seg in segs:
                self._finish(seg, self.line.heard(seg, at), interrupted=True)

        self._driver.change_voice(cut)

    def pause(self) -> None:
        super().pause()
        if self._paused:
            return
        self._paused = True
        self._driver.voice_open = False
        segs = [s for s in self._pending if not s.done]
        self.line.break_run()

        def hold(at: int) -> None:
            at += self._margin
            taken = self.line.cut(at, self._fade, segs)
            # Before what was captured while the pause waited for the driver.
            # (Not a segment cleared meanwhile: an interruption after the pause drops it.)
            self._held[:0] = [(seg, pcm) for seg, pcm in taken if pcm.shape[0] and not seg.done]

        self._driver.change_voice(hold)

    def resume(self) -> None:
        super().resume()
        if not self._paused:
            return
        self._paused = False
        self._driver.voice_open = self._capturing is not None

        def give_back(at: int) -> None:
            held, self._held = self._held, []
            first = True
            for seg, pcm in held:
                if seg.done:
                    continue
                if first:  # it starts mid-word: fade in, no click
                    pcm = _fade_in(pcm, self._fade)
                    first = False
                self.line.place(pcm, earliest=at, segment=seg)
            self._watch()

        # Through the driver, after the pause's own change: held audio is only known then.
        self._driver.change_voice(give_back)

    # -- when it is heard --------------------------------------------------------------

    def _earliest(self) -> int:
        d = self._driver
        return d.now_playing() if d.started else d.clock.pushed

    def _finish(self, seg: Segment, heard: int, *, interrupted: bool) -> None:
        if seg in self._pending:
            self._pending.remove(seg)
        seg.done = True
        position = heard / self._driver.rate
        started = self._started.pop(seg.number, None)
        if started is None and heard > 0:  # heard before the clock was looked at
            started = time.time() - position
            self.on_playback_started(created_at=started)
        if started is not None and heard > 0:
            # One run from its first sample (a pause inside it is not told apart).
            self.on_playback_progressed(started_at=started, offset=0.0, duration=position)
        self.on_playback_finished(playback_position=position, interrupted=interrupted)

    def _watch(self) -> None:
        """Look at the clock again when the next segment starts or ends being heard."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.closed:
            return
        loop = asyncio.get_running_loop()
        playing = self._driver.now_playing() if self._driver.started else -1
        when: float | None = None
        for seg in list(self._pending):
            if seg.done:
                continue
            if seg.number not in self._started and seg.first is not None:
                if playing > seg.first:
                    self._started[seg.number] = now = time.time()
                    self.on_playback_started(created_at=now)
                else:
                    when = _earliest_of(when, self._driver.time_of(seg.first))
            if seg.flushed and not self._paused:
                end = self.line.last_sample(seg)
                if end is None or playing >= end:
                    # All of it was heard: each sample the session gave once (the few ms a
                    # pause faded out and gave back again count once).
                    self._finish(seg, seg.placed - seg.removed, interrupted=False)
                    continue
                when = _earliest_of(when, self._driver.time_of(end - 1))
        if any(not s.done for s in self._pending):
            at = when if when is not None else loop.time() + POLL
            # A few hundred µs after the tick that hands the sample over.
            self._timer = loop.call_at(max(at + 0.0005, loop.time()), self._watch)

    def _pcm(self, frame: rtc.AudioFrame) -> np.ndarray | None:
        """The frame as int16 (n, channels) at the driver's rate."""
        rate = self._driver.rate
        if frame.sample_rate != rate:
            # The session resamples to `sample_rate` for us; a caller feeding us directly
            # may not have.
            key = (frame.sample_rate, frame.num_channels)
            if self._resampler is None or self._resampler[:2] != key:
                rs = rtc.AudioResampler(frame.sample_rate, rate, num_channels=frame.num_channels)
                self._resampler = (*key, rs)
            out = self._resampler[2].push(frame)
            if not out:
                return None
            frame = out[0] if len(out) == 1 else rtc.combine_audio_frames(out)
        pcm = np.frombuffer(frame.data, dtype=np.int16).reshape(-1, frame.num_channels)
        if frame.num_channels == self._channels:
            return pcm.copy()
        if self._channels == 1:
            return np.rint(pcm.mean(axis=1, keepdims=True)).astype(np.int16)
        return np.repeat(pcm[:, :1], self._channels, axis=1)

    def close(self) -> None:
        """The scape stopped: report what is still pending as heard so far (nothing waits)."""
        self.closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        playing = self._driver.now_playing() if self._driver.started else 0
        for seg in list(self._pending):
            self._finish(seg, self.line.heard(seg, playing), interrupted=True)


def _fade_in(pcm: np.ndarray, n: int) -> np.ndarray:
    n = min(n, pcm.shape[0])
    out = pcm.copy()
    w = (np.arange(n, dtype=np.float32) / max(n, 1))[:, None]
    out[:n] = np.rint(pcm[:n].astype(np.float32) * w).astype(np.int16)
    return out


def _earliest_of(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def find_room_output(out: Any) -> tuple[Any, Any] | None:
    """In the chain from ``out``: (the link holding RoomIO's audio output, that output).

    The link is the `_AudioSinkProxy` livekit-agents puts at the bottom of a wrapped chain
    for exactly this (a sink swapped without disturbing the wrappers above), or None when
    the room output is the session's output itself."""
    from livekit.agents.voice.room_io._output import _ParticipantAudioOutput

    above = None
    while out is not None:
        if isinstance(out, _ParticipantAudioOutput):
            return above, out
        above, out = out, out.next_in_chain
    return None
