"""`voice: auto` live: the agent's speech measured as the session sends it to its audio
output, and the deck's voice-relative levels moved to stay at their distance from it.

The frames are seen by a `VoiceTap` at the top of ``session.output.audio`` (installed when
the session has an output and is not in the middle of a speech, re-installed if the session
replaces its chain). A session hands its output speech faster than it plays (RoomIO queues
it), so each measurement is applied at the sample where the speech it ends on is *heard*:
the output is modelled as playing what it was given back to back from the first frame, and
a `clear_buffer` (an interruption) drops what it held.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import numpy as np

from ..audio.loudness import VoiceMeter
from .deck import Deck
from .driver import LiveDriver
from .voice_line import Segment, VoiceLine

if TYPE_CHECKING:
    from livekit import rtc

    from .voice_tap import VoiceTap

log = logging.getLogger("soundscape")

STEP_DB = 0.5
"""An estimate this far from the last one sent is sent at once. Closer ones wait for
`SETTLE_SECONDS` of speech (each send costs the driver a rewind, and half a decibel on a bed
under the voice is below what a listener notices)..."""
SETTLE_SECONDS = 1.0
FINE_DB = 0.05
"""...and are sent then if they moved at least this much, so levels end where the voice is."""

BUSY_STATES = ("thinking", "speaking")
"""Agent states in which a speech may already hold the output chain (joining it then would
re-attach the chain under a speech and restart its transcript synchronisation)."""


class VoiceFollower:
    """Feeds the agent's speech to a `VoiceMeter` and sends each new estimate to the
    driver's engines whose plan says `voice: auto`; with ``key``, also places it on that
    line for the engines that duck by the voice signal (own track: where RoomIO is modelled
    to play it, to within its queue's few tens of ms)."""

    def __init__(self, driver: LiveDriver, *, key: VoiceLine | None = None) -> None:
        self._driver = driver
        self.key = key
        self._key_segment = Segment(0)
        self._meter: VoiceMeter | None = None
        self._format: tuple[int, int] | None = None
        self._heard_end = 0.0  # loop time at which the speech given so far has played out
        self._sent_heard = 0.0  # ...and at which the speech of the last estimate sent is heard
        self.loudness: float | None = None
        """The last estimate sent (LUFS); None until a second of speech has been heard."""
        self._session: Any = None
        self._tap: VoiceTap | None = None
        self._said_no_output = False

    # -- following a session ----------------------------------------------------------

    def attach(self, session: Any) -> None:
        self._session = session
        session.on("agent_state_changed", self._on_state)
        self.install()

    def close(self) -> None:
        """Stop listening; the tap stays in the chain as a plain pass-through."""
        if self._session is not None:
            try:
                self._session.off("agent_state_changed", self._on_state)
            except Exception:  # already gone: nothing to undo
                log.debug("soundscape: could not unsubscribe the voice follower", exc_info=True)
        if self._tap is not None and self in self._tap.listeners:
            self._tap.listeners.remove(self)
        self._session = self._tap = None

    def _on_state(self, ev: Any) -> None:
        if getattr(ev, "new_state", None) not in BUSY_STATES:
            self.install()

    def install(self) -> None:
        """Join the session's audio output chain if it has one and we are not in it."""
        from .voice_tap import VoiceTap, find_tap  # local: imports livekit.agents

        s = self._session
        if s is None:
            return
        # A duck-typed session (a test stand-in, a custom one) may have no `output` at all.
        io: Any = getattr(s, "output", None)
        out = getattr(io, "audio", None)
        if self._tap is not None and find_tap(out) is self._tap:
            return
        if out is None:
            if not self._said_no_output:
                self._said_no_output = True
                log.debug("soundscape: voice: auto, but the session has no audio output (yet)")
            return
        if getattr(s, "agent_state", None) in BUSY_STATES:
            return  # after this speech (the next state change)
        tap = find_tap(out)  # an earlier Soundscape's, left as a pass-through
        if tap is None:
            tap = VoiceTap(out)
            io.audio = tap
        if self._tap is not None and self in self._tap.listeners:
            self._tap.listeners.remove(self)
        tap.listeners.append(self)
        self._tap = tap
        log.debug("soundscape: measuring the agent's voice at its audio output")

    # -- what the tap shows us ----------------------------------------------------------

    def frame(self, frame: rtc.AudioFrame) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        rate, channels = frame.sample_rate, frame.num_channels
        starts = max(self._heard_end, now)
        self._heard_end = starts + frame.samples_per_channel / rate
        pcm = np.frombuffer(frame.data, dtype=np.int16)
        if self.key is not None:
            self._place_key(pcm.reshape(-1, channels), rate, self._at(starts - now))
        self._measure(pcm, rate, channels, lambda: self._at(self._heard_end - now))

    def _place_key(self, pcm: np.ndarray, rate: int, at: int) -> None:
        d = self._driver
        mono = pcm.mean(axis=1) if pcm.shape[1] > 1 else pcm[:, 0].astype(np.float64)
        if rate != d.rate:  # a key only needs the envelope: linear interpolation will do
            n = round(len(mono) * d.rate / rate)
            mono = np.interp(np.arange(n) * rate / d.rate, np.arange(len(mono)), mono)
        key = np.rint(mono).astype(np.int16)[:, None]
        assert self.key is not None
        placed = self.key.place(key, earliest=at, segment=self._key_segment)
        d.voice_placed(placed)

    def placed(self, pcm: np.ndarray, end: int) -> None:
        """One track: ``pcm`` (int16 (n, ch) at the deck's rate) is heard up to deck sample
        ``end`` exactly, so an estimate applies there (no model of an output's queue)."""
        d = self._driver
        self._heard_end = end / d.rate  # on the deck's clock here: only differences matter
        self._measure(pcm.reshape(-1), d.rate, pcm.shape[1], lambda: end)

    def _measure(self, pcm: np.ndarray, rate: int, channels: int, target: Any) -> None:
        if self._meter is None or self._format != (rate, channels):
            self._meter, self._format = VoiceMeter(rate, channels), (rate, channels)
        if not self._meter.push(pcm):
            return
        lufs = self._meter.loudness
        if lufs is None:
            return
        if self.loudness is not None:
            moved = abs(lufs - self.loudness)
            settled = self._heard_end - self._sent_heard >= SETTLE_SECONDS
            if moved < FINE_DB or (moved < STEP_DB and not settled):
                return
        self.loudness, self._sent_heard = lufs, self._heard_end
        self._send(lufs, target())

    def cleared(self) -> None:
        """The output dropped what it held (an interruption): nothing queued will be heard."""
        self._heard_end = 0.0
        line = self.key
        if line is not None:
            line.break_run()
            seg, fade = self._key_segment, self._driver.rate // 200

            def cut(at: int) -> None:
                line.cut(at, fade, [seg])

            self._driver.change_voice(cut)

    def _at(self, delay: float) -> int:
        """The deck sample heard ``delay`` seconds from now."""
        d = self._driver
        return (d.now_playing() if d.started else 0) + max(round(delay * d.rate), 0)

    def _send(self, lufs: float, target: int) -> None:
        d = self._driver
        if not any(_follows(e) for e in d.deck.engines):
            return  # switched to a scene with a fixed voice: a rewind for nothing

        def apply(deck: Deck, at: int | None) -> None:
            for eng in deck.engines:
                if _follows(eng):
                    eng.set_voice_loudness(lufs, at=deck.on_engine(eng, target))

        d.submit(apply)


def _follows(engine: Any) -> bool:
    plan = getattr(engine, "plan", None)
    return bool(getattr(plan, "voice_auto", False))
