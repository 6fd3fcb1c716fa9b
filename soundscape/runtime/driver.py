"""The live driver: one asyncio task that renders ahead and rewinds on events.

It keeps ``ahead`` seconds queued in the sink, pushing ``frame``-sized blocks (each
`capture_frame` has a fixed CPU cost, so big blocks are cheap). Before every block it
snapshots the engine. When an event arrives it does not wait behind the queue: it finds
the sample now playing, restores the snapshot of the block holding it, applies the event
at exactly that sample, re-renders to the same queue end, clears the source's queue and
pushes the new audio from the sample playing *now*, crossfaded over ``splice`` with what
it replaces so a continuing bed has no click.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .clock import TICK, PlayClock
from .deck import Deck, DeckSnapshot, EngineLike
from .options import LiveOptions
from .sink import Sink
from .voice_line import VoiceLine

log = logging.getLogger("soundscape")
UNDERRUN_LOG_PERIOD = 10.0  # seconds between "event loop was busy" warnings
LATE_START = 480  # samples (10 ms, one tick) a reaction may start a sound after its splice
RETRY_MAX_COMMANDS = 8  # ...beyond which it is not rendered again to save that start
RETRIES = 3  # ...and how many times, if the loop stalls again while it renders
PREROLL = 3  # ticks of silence before the first audio of a session (see _first_push)
VOICE_GUARD = 0.03
"""One track, while a speech is arriving: the queue ends where the voice ends, so each frame
is appended (no splice: a `clear_queue` that misses its tick on a busy machine would leave
10 ms of silence, voice included). Only when the voice is about to run out is this much scene
queued past it, so the bed never stops; a frame arriving then waits behind at most that."""
STREAM_LEAD = 0.05
"""Seconds between the splice that starts (or resumes) a live `play()` stream and its first
sample: frames that keep coming in real time then land ahead of the render head (the fill
appends them) instead of behind it (a rewind per frame). More on a loop that wakes the driver
late (`_stream_lead`): a later start rather than holes."""
STREAM_LOW = 0.03
"""While the render stops at a live stream's last frame, the queue may run down to this much
before scene is rendered past the stream (`STREAM_GUARD` of it, so the bed never stops; a
frame arriving after that is spliced in at the next tick, seamlessly if the place it fills is
not heard yet): what the loop may be late by. Raised to twice the lateness the driver's
wake-ups show (a busy machine): more splices, no underrun."""
STREAM_GUARD = 0.06
"""Seconds of scene rendered past a live stream that ran low: twice the voice's guard, since
a stream's producer is paced in real time (a TTS's bursts are ahead of it)."""
STREAM_IDLE = 0.25
"""Seconds a live stream may be heard silent, waiting for frames, before the render no longer
stops for it (the queue is short while it does)."""
STREAM_LAG_MAX = 0.05
"""The most loop lateness `STREAM_LOW` follows (so at most 100 ms, the guard 200 ms)."""

Apply = Callable[[Deck, "int | None"], None]
"""A command: change the deck/engine at this deck sample (None: at the render head)."""


@dataclass
class _Block:
    start: int
    snap: DeckSnapshot
    audio: np.ndarray


@dataclass
class _Command:
    apply: Apply
    at: int  # deck sample playing when it arrived
    split: bool  # must run with the deck exactly at `at` (switch, fade-out)
    whole: bool = False  # starts a sound whose beginning must be heard (play())
    engine: bool = True  # changes what the engines render (else only the voice mixed in)
    voice: Callable[[int], None] | None = None  # changes the voice, at the splice sample
    stream: bool = False  # starts or resumes a live stream: applied where no frame is lost
    seam: int | None = None  # ...its frames fill the queue from here if not heard yet
    arrived: int = 0  # ...the sample playing when its frames came


@dataclass
class Metrics:
    """What the driver has done so far; `latency` is the last event's reaction time."""

    blocks: int = 0
    samples: int = 0
    captures: int = 0
    rewinds: int = 0
    remixes: int = 0  # queued audio pushed again with the voice changed, the scene as it was
    kept: int = 0  # reactions whose re-render matched the queue: nothing spliced
    underruns: int = 0
    underrun_seconds: float = 0.0
    latency: float = 0.0
    render_errors: int = 0
    sink_errors: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class LiveDriver:
    """Feeds ``sink`` from ``deck`` in real time; `submit` applies a change at the sample playing now."""

    def __init__(
        self,
        deck: Deck,
        sink: Sink,
        options: LiveOptions,
        *,
        on_engine_event: Callable[[Any, int], None] | None = None,
        on_tick: Callable[[float], None] | None = None,
    ) -> None:
        if sink.rate != deck.rate or sink.channels != deck.channels:
            raise ValueError(
                f"sink is {sink.rate} Hz × {sink.channels} ch but the scene renders "
                f"{deck.rate} Hz × {deck.channels} ch"
            )
        self.deck = deck
        self.sink = sink
        self._underrun_logged_at = -math.inf
        self._silence_unlogged = 0.0
        self._underruns_unlogged = 0
        self.opts = options
        self.rate = deck.rate
        tick = self.rate // 100  # the native source moves in 10 ms ticks: stay on them
        self.frame = max(round(options.frame * 100), 1) * tick
        self.ahead = max(round(options.ahead * 100) * tick, 2 * self.frame)
        self.splice = int(options.splice * self.rate)
        self.clock = PlayClock(self.rate, grid=sink.grid)
        self.metrics = Metrics()
        self._on_engine_event = on_engine_event
        self._on_tick = on_tick
        self._blocks: deque[_Block] = deque()
        self._commands: list[_Command] = []
        self._pending_events: list[tuple[int, Any]] = []  # rendered, not yet scheduled
        self._delivered: list[tuple[int, Any]] = []  # heard, and still inside a rewindable block
        self._scheduled: deque[tuple[int, asyncio.TimerHandle]] = deque()
        self._wake: asyncio.Future[None] | None = None
        self._stopping = False
        self._failing = False  # the sink refused a frame twice: back off one frame
        self._loop: asyncio.AbstractEventLoop | None = None
        self.voice: VoiceLine | None = None
        """The agent's speech on the deck clock: the engines' voice key, and in one-track
        mode mixed into everything pushed (`mix_voice`)."""
        self.mix_voice = False
        self.voice_open = False
        """A speech is still arriving: queue little scene past its end (`VOICE_GUARD`)."""
        self.voice_late = False
        """This speech has run out before its next frame (a TTS slower than real time, or
        jittery): from then on it is kept `VOICE_GUARD` ahead, so the bed never waits on a
        late wake-up and the voice absorbs that much jitter (set back per speech)."""
        self.guard = max(round(VOICE_GUARD * 100), 2) * tick
        self.append_within = self.guard + tick
        """A frame that would land less than this before the queue's end is appended there
        instead of spliced in (see `VOICE_GUARD`)."""
        self.lead = round(STREAM_LEAD * 100) * tick
        self.low = round(STREAM_LOW * 100) * tick
        self.stream_guard = round(STREAM_GUARD * 100) * tick
        self._streams: dict[object, Callable[[], tuple[int, int | None] | None]] = {}
        """Live `play()` streams: where each one's frames run out on the deck clock, from
        the render head, and since when it has played silence for want of them (None: it
        no longer needs watching)."""
        self.idle = round(STREAM_IDLE * self.rate)
        self._held = False  # the last fill stopped at a live stream's frames
        self._lag = 0.0  # how late the loop woke the driver lately (seconds, decaying)
        self._lag_at = 0.0
        for eng in deck.engines:
            self.attach(eng)

    # -- public -------------------------------------------------------------------

    def attach(self, engine: EngineLike) -> None:
        """Route an engine's events (state changes, voices) through the driver's timing."""
        engine.on_event = lambda ev, e=engine: self._engine_event(e, ev)
        if self.voice is not None:
            engine.voice_key = _VoiceKey(self.deck, engine, self.voice)  # type: ignore[attr-defined]

    def carry_voice(self, line: VoiceLine, *, mix: bool = True) -> None:
        """Key the engines on ``line`` and, with ``mix``, add it to everything pushed."""
        self.voice, self.mix_voice = line, mix
        for eng in self.deck.engines:
            self.attach(eng)

    def voice_placed(self, at: int) -> None:
        """Voice was placed from deck sample ``at``: if that is already queued, push the
        queue again from the sample playing (the scene as rendered, the voice added)."""
        if not self.mix_voice and not self._keyed():
            return  # a key nobody listens to (this scene does not duck by the voice)
        if self.started and at < self.clock.pushed:
            for c in self._commands:  # a burst of frames: one splice, from the earliest
                if not c.engine and c.voice is None:
                    c.at = min(c.at, at)
                    break
            else:
                self._commands.append(_Command(_keep, at, False, engine=False))
        self._kick()

    def _keyed(self) -> bool:
        return self.voice is not None and any(_keys_on_voice(e) for e in self.deck.engines)

    def change_voice(self, change: Callable[[int], None]) -> None:
        """Run ``change(at)`` on the voice at the deck sample from which the change is heard
        (the splice: the sample playing when the driver gets to it), then push again."""
        if not self.started:
            change(self.clock.pushed)
            return
        self._commands.append(
            _Command(_keep, self.now_playing(), False, engine=False, voice=change)
        )
        self._kick()

    def voice_limit(self, now: float) -> int:
        """While a speech arrives: where the queue should end — the voice's end, or the
        guard past the sample playing once the voice is within a tick of running out."""
        playing = self.clock.playing(now)
        end = self.voice.end if self.voice is not None else 0
        if end >= playing + (self.guard if self.voice_late else self.clock.tick):
            return end
        self.voice_late = True
        return max(end, playing + self.guard)

    def time_of(self, position: int) -> float | None:
        """Loop time at which deck sample ``position`` is handed to the track (None: not
        pushed yet)."""
        return self.clock.time_of(position)

    def now_playing(self) -> int:
        """The deck sample being heard now."""
        loop = self._loop or asyncio.get_event_loop()
        return self.clock.playing(loop.time())

    def queued_seconds(self) -> float:
        loop = self._loop or asyncio.get_event_loop()
        return self.clock.queued(loop.time()) / self.rate

    @property
    def started(self) -> bool:
        """Whether `run` has begun (a scape waiting for its room to connect has not)."""
        return self._loop is not None

    @property
    def can_rewind(self) -> bool:
        """Whether an event re-renders the queued audio (else it waits behind the queue)."""
        return self.opts.rewind and self.sink.can_clear

    def submit(self, apply: Apply, *, split: bool = False, whole: bool = False) -> None:
        """Apply ``apply`` at the sample playing now (after a rewind), as soon as the task runs.

        ``whole``: it starts a sound; if the driver gets to it late, apply it where it got
        to rather than back where it arrived, so the sound's beginning is not lost.
        """
        self._commands.append(_Command(apply, self.now_playing(), split, whole))
        self._kick()

    # A live stream (`play(async iterator)`) is not buffered: while its frames run out
    # within the queue the driver renders no further than they reach, appends as frames
    # arrive, and once the queue runs low renders a guard of scene past them (the stream
    # voice starved there); a frame arriving then is spliced in at the next tick.

    def watch_stream(self, key: object, end: Callable[[], tuple[int, int | None] | None]) -> None:
        """Render no further than ``end()[0]`` (a deck sample: where a live stream's frames
        run out) while it is a lead of more than `STREAM_LOW` over the sample playing, and
        unless ``end()[1]`` (where it ran dry) was heard more than `STREAM_IDLE` ago."""
        self._streams[key] = end
        self._kick()

    def stream_grew(self) -> None:
        """A watched stream got frames after the render head: render them now."""
        self._kick()

    def submit_stream(self, apply: Apply, seam: int | None = None) -> None:
        """Start (``seam`` None) or resume a live stream with ``apply(deck, at)``, ``at`` the
        sample its next frame is heard from: ``seam`` (where it ran dry in the queued audio)
        if that is not heard yet, else `STREAM_LEAD` after it came (at the splice if later)."""
        now = self.now_playing()
        at = now if seam is None else seam
        cmd = _Command(apply, at, False, True, stream=True, seam=seam, arrived=now)
        self._commands.append(cmd)
        self._kick()

    def stop(self) -> None:
        """Ask the task to finish after its current step."""
        self._stopping = True
        self._kick()

    async def run(self) -> None:
        """The driver task: fill, react, sleep until the queue needs the next block."""
        self._loop = loop = asyncio.get_running_loop()
        try:
            while not self._stopping:
                if self._commands:
                    await self._react()
                await self._fill()
                if self._on_tick is not None:
                    self._safe(self._on_tick, self.queued_seconds())
                queued = self.clock.queued(loop.time())
                room = queued - (self.ahead - self.frame)
                if self._held:  # new frames wake it sooner (`stream_grew`)
                    room = queued - self._stream_low()
                if self.voice_open:  # the voice is about to run out: queue the guard
                    room = min(room, queued - (self.guard if self.voice_late else self.clock.tick))
                wait = max(room / self.rate, 0.002)
                if self._failing:  # try again a frame later, not in a tight loop
                    self._failing, wait = False, self.frame / self.rate
                due = loop.time() + wait
                await self._sleep(wait)
                self._note_lag(loop.time() - due)
        finally:
            for _, h in self._scheduled:
                h.cancel()
            self._scheduled.clear()

    async def drain(self) -> None:
        """Wait (on the loop clock) until everything pushed has been played."""
        loop = self._loop or asyncio.get_running_loop()
        left = self.clock.queued(loop.time()) / self.rate
        if left > 0:
            await asyncio.sleep(left)

    # -- filling --------------------------------------------------------------------

    async def _fill(self) -> None:
        loop = self._loop
        assert loop is not None
        while (
            not self._stopping
            and not self._failing
            and self.clock.queued(loop.time()) <= self.ahead - self.frame
        ):
            n = self.frame
            self._held = False
            limit = self._stream_limit(loop.time())
            if limit is not None:
                n = min(n, max(limit - self.clock.pushed, 0))
                if n < self.clock.tick:
                    self._held = True
                    return
            if self.voice_open and self.voice is not None:
                # No further than the voice (or the guard): a frame arriving then is appended,
                # not spliced into scene already queued.
                limit = self.voice_limit(loop.time())
                tick = self.clock.tick
                n = min(n, (limit - self.clock.pushed) // tick * tick)
                if n < tick:
                    return
            block = self._render_block(n)
            now = loop.time()
            if self.clock.pushed == 0 and self.clock.grid is not None and self.sink.can_clear:
                await self._first_push(block)
                continue
            if self.clock.anchoring(now):
                # A new timeline starts at the tick after this push; pushed right at a tick
                # it may land on either side, and every later splice would be a tick off (a
                # click). (A rewind's push is not delayed: its splice was timed already, and
                # waiting there would leave the cleared queue empty for a tick.)
                now = await self._off_tick()
            await self._push(block, now)
            if self._commands:
                return  # react first: the rest of the queue would be re-rendered anyway

    async def _first_push(self, block: np.ndarray) -> None:
        """Start the session's timeline, led by PREROLL ticks of silence, and make sure of it.

        The native source copies a capture into its queue on a thread of its own, which a
        busy machine can leave waiting past the next tick (12 ms seen): the timeline then
        starts a tick later than modelled, and the first splice skips 10 ms (a click). Only
        a capture that came back before that tick is sure to have made it; one that came
        back within the tick after can only have played silence yet, so it is cleared and
        pushed again (at most twice). Later than that (the loop itself was busy) the retry
        could cut into audio already heard, so the timeline stands.
        """
        loop = self._loop
        assert loop is not None
        lead = PREROLL * self.clock.tick
        audio = np.concatenate([np.zeros((lead, block.shape[1]), dtype=block.dtype), block])
        for attempt in range(3):
            now = await self._off_tick()
            self.clock.restart_at(-lead)  # the lead is deck samples -lead..0
            await self._push(audio, now, clear=attempt > 0)
            late = loop.time() - self.clock.next_tick(now)
            if self._failing or not 0 < late < TICK:
                return
            log.debug("soundscape: the first capture came back late; starting again")

    def _note_lag(self, late: float) -> None:
        """Remember how late a wake-up came (halving every 2 s): a busy machine wakes the
        driver late, and a stream's queue must then not run as low."""
        loop = self._loop
        assert loop is not None
        now = loop.time()
        self._lag = max(late, self._lag * 0.5 ** ((now - self._lag_at) / 2.0))
        self._lag_at = now

    def _stream_low(self) -> int:
        """`STREAM_LOW`, or twice the loop's recent lateness if that is more (in samples)."""
        tick = self.clock.tick
        # Capped: one long stall (a full garbage collection) must not make every splice
        # re-render seconds of scene for the next seconds (which would stall it again).
        lag = min(self._lag, STREAM_LAG_MAX)
        return max(self.low, math.ceil(2 * lag * self.rate / tick) * tick)

    def _stream_lead(self) -> int:
        """`STREAM_LEAD`, or more on a late loop: two ticks past `_stream_low`, so frames
        that come in time still land ahead of the render head."""
        return max(self.lead, self._stream_low() + 2 * self.clock.tick)

    def _stream_guard(self) -> int:
        """The scene rendered past a starved stream: `STREAM_GUARD`, or more on a late loop."""
        return max(self.stream_guard, 2 * self._stream_low())

    def _stream_limit(self, now: float, low: int | None = None) -> int | None:
        """Where rendering stops for the live streams (None: none is watched): short of the
        end of a stream's frames while that is more than ``low`` (`STREAM_LOW`) past the
        sample playing; else `STREAM_GUARD` past it (the stream starves there)."""
        if not self._streams:
            return None
        head, tick = self.deck.position, self.clock.tick
        playing = self.clock.playing(now)
        low = self._stream_low() if low is None else low
        guard = self._stream_guard()
        limit: int | None = None
        for key, watch in list(self._streams.items()):
            got = watch()
            if got is None:  # ended (its length is known) or gone
                del self._streams[key]
                continue
            e, dry = got
            if dry is not None and playing - dry > self.idle:
                # Heard silent for a while (a paused producer, a muted participant): no
                # hold, so the bed gets its whole queue back; its next frame resumes it
                # `STREAM_LEAD` after it comes, as it would from a short queue.
                continue
            if e - playing <= low:
                e = head + max((playing + guard - head) // tick * tick, 0)
            else:
                # A tick of its frames is left for later: if the stream runs dry, the block
                # rendered past them starts with those and fades them out (a block ending
                # right at the last frame would leave it no room: a hard stop, a click).
                e = head + max((e - tick - head) // tick * tick, 0)
            limit = e if limit is None else min(limit, e)
        return limit

    def _render_block(self, n: int) -> np.ndarray:
        start = self.deck.position
        snap = self.deck.snapshot()
        try:
            audio = self.deck.render(n)
        except Exception:
            # Never take the agent down: a broken render becomes silence, and is counted.
            self.metrics.render_errors += 1
            log.exception("soundscape: render failed; sending silence")
            self.deck.restore(snap)
            self.deck.skip(n)
            audio = np.zeros((n, self.deck.channels), dtype=np.float32)
        self._blocks.append(_Block(start, snap, audio))
        self.metrics.blocks += 1
        return audio

    async def _off_tick(self) -> float:
        """Wait until the loop clock is clear of a native tick; return that time."""
        loop = self._loop
        assert loop is not None
        for _ in range(3):
            wait = self.clock.unsafe_for(loop.time())
            if wait <= 0:
                break
            await asyncio.sleep(wait)
        return loop.time()

    async def _push(self, audio: np.ndarray, now: float, *, clear: bool = False) -> None:
        """Hand ``audio`` to the sink (after emptying its queue, with ``clear``: a rewind)."""
        before = self.clock.underrun_seconds
        if self.voice is not None and self.mix_voice:
            start = self.clock.pushed
            self.voice.anchor(start, audio.shape[0])
            audio = self.voice.mix(start, audio)
        self.clock.on_push(audio.shape[0], now)
        if self.clock.underruns > self.metrics.underruns:
            self._silence_unlogged += self.clock.underrun_seconds - before
            self._underruns_unlogged += self.clock.underruns - self.metrics.underruns
            # At most one line per UNDERRUN_LOG_PERIOD: an overloaded process underruns on
            # every push of every session, and thousands of lines help nobody.
            if now - self._underrun_logged_at >= UNDERRUN_LOG_PERIOD:
                log.warning(
                    "soundscape: the event loop was busy for too long; the track played %.0f ms "
                    "of silence in %d underrun(s) (raise `ahead` if this repeats)",
                    1000 * self._silence_unlogged,
                    self._underruns_unlogged,
                )
                self._underrun_logged_at = now
                self._silence_unlogged, self._underruns_unlogged = 0.0, 0
        self.metrics.underruns = self.clock.underruns
        self.metrics.underrun_seconds = self.clock.underrun_seconds
        self.metrics.samples += audio.shape[0]
        self.metrics.captures += 1
        self._forget_played(now)
        try:
            # A rewind: nothing between the clear and the capture (the sink's `replace`):
            # until the new audio is queued, a native tick finds the queue empty and sends
            # 10 ms of silence (bed included).
            await (self.sink.replace(audio) if clear else self.sink.capture(audio))
        except Exception as e:
            self._sink_failed(e)
            try:  # a passing fault: the same frame again, and nothing is heard of it
                await self.sink.capture(audio)
            except Exception as e2:
                self._sink_failed(e2)
                self._drop_queue()
        loop = self._loop
        assert loop is not None
        # Only now: delivering an event runs the application's listeners.
        self._schedule_events(loop.time())

    def _sink_failed(self, exc: Exception) -> None:
        self.metrics.sink_errors += 1
        n = self.metrics.sink_errors
        # The first failure, then every 1000th: a source that keeps failing must not flood
        # the log at ten lines a second.
        if n == 1 or n % 1000 == 0:
            log.error(
                "soundscape: capture_frame failed (%d so far); the track plays silence "
                "while it fails",
                n,
                exc_info=(type(exc), exc, exc.__traceback__),
            )

    def _drop_queue(self) -> None:
        """A frame never reached the source: what it holds no longer matches our clock (the
        track would skip that frame and every later splice would land late). Drop it and go
        on from the render head: a gap of silence, then exact timing again."""
        self._failing = True
        if not self.sink.can_clear:
            return
        try:
            self.sink.clear()
        except Exception:
            log.debug("soundscape: clear_queue failed too", exc_info=True)
        self.clock.restart()

    def _forget_played(self, now: float) -> None:
        playing = self.clock.playing(now)
        while len(self._blocks) > 1 and self._blocks[1].start <= playing:
            self._blocks.popleft()
        if self._blocks:
            oldest = self._blocks[0].start  # nothing before it can be rendered again
            if self._delivered:
                self._delivered = [d for d in self._delivered if d[0] >= oldest]
            if self.voice is not None:
                self.voice.forget_before(min(oldest, playing))

    # -- reacting ---------------------------------------------------------------------

    async def _react(self) -> None:
        loop = self._loop
        assert loop is not None
        cmds, self._commands = self._commands, []
        now = loop.time()
        first = min(c.at for c in cmds)
        blocks = self._blocks
        voiced = [c.voice for c in cmds if c.voice is not None]
        moves_voice = bool(voiced)
        changes_engine = any(c.engine for c in cmds)
        # An engine ducking under the voice signal renders differently once the voice moved.
        keyed = self._keyed()
        can_rewind = (
            self.can_rewind and blocks and first < self.clock.pushed and self.clock.queued(now) > 0
        )
        if not can_rewind:
            # Applied at the render head: heard after what is already queued.
            for change in voiced:
                self._safe(change, self.clock.pushed)
            for c in cmds:
                self._safe(c.apply, self.deck, None)
            self.metrics.latency = self.clock.queued(now) / self.rate
            return
        end = self.clock.pushed
        truncated = False
        if self.voice_open and self.mix_voice and self.voice is not None:
            # A speech starts over a long queue of scene: splice it in and keep the queue
            # to the voice from there, so the frames that follow are appended, not spliced.
            # (To where the voice ends once the splice has moved it: no later than now, so
            # never scene past the voice that the next frame would have to wait behind.
            # Whole ticks only: the source hands over 10 ms at a time, and a queue ending
            # inside one would leave the rest of that tick to silence. The voice's last
            # part-tick waits for the next frame, or the guard, in the fill.)
            end = min(end, self._voice_queue_end(self.clock.playing(now)))
            truncated = end < self.clock.pushed
        if not changes_engine and not keyed and end == self.clock.pushed:
            await self._remix(first, voiced)
            return
        if keyed:
            # The engines must hear the voice as it will be before they render again: change
            # it a tick ahead of the sample playing, where the splice will land.
            at_voice = max(self.clock.playing(now) + self.clock.tick, blocks[0].start)
            for change in voiced:
                self._safe(change, at_voice)
            voiced = []
        i = self._splice_block(first, now)
        base = blocks[i].start
        snap = blocks[i].snap
        old = np.concatenate([b.audio for b in list(blocks)[i:]])
        self._unschedule(max(first, base))
        # A play() that had to wait (the loop was busy) starts at the sample playing now,
        # not where it arrived: what lies between was heard already, so it would lose its
        # beginning (a chime's attack, a stream's first 100 ms). Events keep their sample:
        # the machine's order and its timers stay exact.
        playing = self.clock.playing(now)
        at = {id(c): self._at(c, base, playing) for c in cmds}
        pending = len(self._pending_events)
        new = self._rerender(i, snap, cmds, at, end, pending)
        now = await self._off_tick()  # don't decide the splice right at a tick: it jitters
        cut = max(self.clock.playing(now), base) - base
        for _ in range(RETRIES if len(cmds) <= RETRY_MAX_COMMANDS else 0):
            # The loop stalled while rendering (a full garbage collection lands here often:
            # rendering allocates): start those sounds at the splice instead, a tick ahead
            # of it so that the next render's own few ms don't cut their start. A busy
            # machine can stall the retry too, so look again after it. A big batch (a
            # storm) is late because of its own work: a second render would only make it
            # later.
            late = [
                c
                for c in cmds
                # A stream's frame placed before the splice would be lost (not heard, and
                # not played again): any lateness counts.
                if c.whole and base + cut - at[id(c)] > (0 if c.stream else LATE_START)
            ]
            if not late:
                break
            for c in late:
                at[id(c)] = base + cut + (self._stream_lead() if c.stream else self.clock.tick)
            new = self._rerender(i, snap, cmds, at, end, pending)
            now = await self._off_tick()
            cut = max(self.clock.playing(now), base) - base
        for attempt in range(2):
            spliced = _crossfade(old[cut:], new[cut:], self.splice)
            for _ in range(2):
                # Decided at `now`, pushed now: if the process lost the CPU in between (a busy
                # machine preempts it for milliseconds), a tick may have passed or be due, and
                # the push would land after it (10 ms skipped, or a 10 ms hole). Decide again.
                later = loop.time()
                if self.clock.playing(later) == base + cut and self.clock.unsafe_for(later) <= 0:
                    break
                now = await self._off_tick()
                cut = max(self.clock.playing(now), base) - base
                spliced = _crossfade(old[cut:], new[cut:], self.splice)
            lost = [c for c in cmds if c.stream and base + cut > at[id(c)]]
            if not lost or attempt:
                break
            # That moved the splice past where a stream's frames were placed (never to be
            # heard, nor played again): place them past it instead.
            for c in lost:
                at[id(c)] = base + cut + self._stream_lead()
            new = self._rerender(i, snap, cmds, at, end, pending)
            now = await self._off_tick()
            cut = max(self.clock.playing(now), base) - base
        if not (moves_voice or truncated) and _same_from(new, old, cut):
            # Nothing that will be heard changed (a state with no sound of its own, a user
            # event the scene ignores): keep the queue as it is. A splice is the one timing
            # risk left (a capture that reaches the native queue after its tick leaves 10 ms
            # of silence, docs/performance.md), and a whole queue's capture costs CPU. The
            # blocks re-rendered from the snapshot carry the change for later rewinds.
            self.metrics.kept += 1
            self.metrics.latency = (max(self.clock.playing(now), first) - first) / self.rate
            self._drop_events_before(first)
            self._drop_remixes()
            self._schedule_events(loop.time())
            return
        new = spliced
        if truncated:
            # The queue's end was chosen from the voice placed when the reaction began; on a
            # busy machine the splice can land tens of ms later, past that end (the queue
            # would be cleared to nothing: a gap in voice and bed until the next fill), and
            # the burst has placed more voice meanwhile. Decide it again at the splice.
            target = min(self._voice_queue_end(base + cut), self.clock.pushed)
            if target > end:
                new = np.concatenate([new, self._render_to(target)])
                end = target
        for change in voiced:
            self._safe(change, base + cut)
        # (The render may end short of the old queue end: at a live stream's last frame.)
        self.clock.resync(base + cut, now, self.deck.position - new.shape[0])
        self.metrics.rewinds += 1
        self.metrics.latency = (base + cut - first) / self.rate
        self._drop_events_before(first)
        self._drop_remixes()
        if new.shape[0]:
            await self._push(new, now, clear=True)
        else:
            self.sink.clear()

    def _splice_block(self, first: int, now: float) -> int:
        """The block a reaction re-renders (or re-pushes) from: the one holding ``first``, or
        the one playing if that is earlier. The queue is cleared from the sample playing, so
        the new push must start there: from a later block it would skip what lies between
        (a frame placed ahead in the queue cut that much of the voice's start, and counted
        it as heard)."""
        blocks = self._blocks
        start = min(first, self.clock.playing(now))
        i = 0
        while i + 1 < len(blocks) and blocks[i + 1].start <= start:
            i += 1
        return i

    def _voice_queue_end(self, splice: int) -> int:
        """Where the queue ends, while a speech arrives, when spliced at ``splice``: the
        voice's end once the splice has moved it, in whole ticks, at least a tick past it."""
        assert self.voice is not None
        tick = self.clock.tick
        return max(self.voice.end_if_anchored(splice) // tick, splice // tick + 1) * tick

    def _render_to(self, target: int) -> np.ndarray:
        """Scene rendered on from the render head to deck sample ``target``, in blocks."""
        parts = []
        while self.deck.position < target:
            parts.append(self._render_block(min(self.frame, target - self.deck.position)))
        return np.concatenate(parts)

    def _drop_remixes(self) -> None:
        """A push after a clear mixes in all the voice on the line: the voice-only commands
        waiting now (frames placed during the reaction's awaits) are done by it. (Not when
        an engine ducks by the voice: what it rendered did not hear those frames yet.)"""
        if not self.mix_voice or self._keyed():
            return
        self._commands = [c for c in self._commands if c.engine or c.voice is not None]

    async def _remix(self, first: int, voiced: list[Callable[[int], None]]) -> None:
        """Push the queue again from the sample playing, the scene as it was rendered and the
        voice as it is now (placed, cut or held by ``voiced``, at the splice sample)."""
        loop = self._loop
        assert loop is not None
        blocks = self._blocks
        i = self._splice_block(first, loop.time())
        base = blocks[i].start
        old = np.concatenate([b.audio for b in list(blocks)[i:]])
        end = self.clock.pushed
        now = await self._off_tick()
        for _ in range(2):  # as in `_react`: the push must land before the next tick
            later = loop.time()
            if self.clock.unsafe_for(later) <= 0 and self.clock.playing(later) == (
                self.clock.playing(now)
            ):
                break
            now = await self._off_tick()
        cut = max(self.clock.playing(now), base) - base
        for change in voiced:
            self._safe(change, base + cut)
        new = old[cut:]
        self.clock.resync(base + cut, now, end - new.shape[0])
        self.metrics.remixes += 1
        self._drop_remixes()
        if new.shape[0]:
            await self._push(new, now, clear=True)
        else:
            self.sink.clear()

    def _at(self, c: _Command, base: int, playing: int) -> int:
        """The deck sample at which ``c`` is applied in a rewind from ``base``."""
        if c.stream:
            # A stream's frames fill the hole they left if it is not heard yet (a tick of
            # margin: the splice may land a tick past `playing`); else they resume past it.
            # The lead counts from when its frames came, not from when the driver got to
            # them: a reaction slowed by other work does not delay the stream further (the
            # lead it keeps is the same), as long as the splice can still land before it.
            if c.seam is not None and c.seam >= playing + self.clock.tick:
                return max(c.seam, base)
            return max(c.arrived + self._stream_lead(), playing + 2 * self.clock.tick, base)
        return max(c.at, base, playing if c.whole else base)

    def _rerender(
        self,
        i: int,
        snap: DeckSnapshot,
        cmds: list[_Command],
        at: dict[int, int],
        end: int,
        pending: int,
    ) -> np.ndarray:
        """Restore ``snap`` (block ``i``'s), apply ``cmds`` at ``at``, render again up to
        ``end`` (or a live stream's limit); engine events of an earlier try (past the first
        ``pending``) are forgotten."""
        loop = self._loop
        assert loop is not None
        blocks = self._blocks
        self.deck.restore(snap)
        while len(blocks) > i:
            blocks.pop()
        del self._pending_events[pending:]
        for c in sorted((c for c in cmds if not c.split), key=lambda c: at[id(c)]):
            self._safe(c.apply, self.deck, at[id(c)])
        splits = sorted((c for c in cmds if c.split), key=lambda c: at[id(c)])
        while True:
            # With a live stream, to its limit instead, a guard's worth at least (the splice
            # may land a few ticks after `now`, and the queue pushed from there must outlast
            # a late loop), and past the old end if need be: ending right at the stream's
            # last frame would leave it no room to fade out if it ran dry there (a click).
            limit = self._stream_limit(loop.time(), low=self._stream_guard())
            n = min(self.frame, (end if limit is None else limit) - self.deck.position)
            if n <= 0 or (limit is not None and n < self.clock.tick):
                break
            if splits:
                n = min(n, max(at[id(splits[0])] - self.deck.position, 0)) or n
                while splits and at[id(splits[0])] <= self.deck.position:
                    self._safe(splits.pop(0).apply, self.deck, self.deck.position)
            self._render_block(n)
        for c in splits:  # arrived past the queue end: apply at the head
            self._safe(c.apply, self.deck, None)
        return np.concatenate([b.audio for b in list(blocks)[i:]])

    # -- engine events, delivered when they are heard -------------------------------------

    def _engine_event(self, engine: EngineLike, ev: Any) -> None:
        at = self.deck.to_deck(engine, int(getattr(ev, "at", self.deck.position)))
        self._pending_events.append((at, ev))

    def _drop_events_before(self, first: int) -> None:
        # Re-rendering repeats what happened before the change; those were already scheduled.
        # From the change on, the ones still scheduled were cancelled, but an event at the
        # very sample playing may have been delivered already: each delivered one takes out
        # one identical replay (a multiset, since one sample can hold the same event twice).
        delivered = Counter(_same_event(a, e) for a, e in self._delivered if a >= first)
        kept = []
        for a, e in self._pending_events:
            if a < first:
                continue
            key = _same_event(a, e)
            if delivered[key] > 0:
                delivered[key] -= 1
                continue
            kept.append((a, e))
        self._pending_events = kept

    def _schedule_events(self, now: float) -> None:
        # Forget the ones that fired first, even when nothing new comes: after a storm they
        # would otherwise hold thousands of events until the next one.
        while self._scheduled and self._scheduled[0][1].when() <= now:
            self._scheduled.popleft()
        if not self._pending_events or self._on_engine_event is None:
            self._pending_events.clear()
            return
        loop = self._loop
        assert loop is not None
        playing = self.clock.playing(now)
        for at, ev in self._pending_events:
            delay = (at - playing) / self.rate
            if delay <= 0:
                self._deliver(ev, at)
            else:
                h = loop.call_later(delay, self._deliver, ev, at)
                self._scheduled.append((at, h))
        self._pending_events.clear()

    def _deliver(self, ev: Any, at: int) -> None:
        self._delivered.append((at, ev))
        if self._on_engine_event is not None:
            self._safe(self._on_engine_event, ev, at)

    def _unschedule(self, from_at: int) -> None:
        keep: deque[tuple[int, asyncio.TimerHandle]] = deque()
        for at, h in self._scheduled:
            if at >= from_at:
                h.cancel()
            else:
                keep.append((at, h))
        self._scheduled = keep

    # -- plumbing ---------------------------------------------------------------------------

    def _kick(self) -> None:
        if self._wake is not None and not self._wake.done():
            self._wake.set_result(None)

    async def _sleep(self, seconds: float) -> None:
        loop = self._loop
        assert loop is not None
        if self._commands or self._stopping:
            return
        self._wake = fut = loop.create_future()
        h = loop.call_later(seconds, _resolve, fut)
        try:
            await fut
        finally:
            h.cancel()
            self._wake = None

    @staticmethod
    def _safe(fn: Callable[..., Any], *args: Any) -> None:
        try:
            fn(*args)
        except Exception:
            log.exception("soundscape: error in %s", getattr(fn, "__qualname__", fn))


def _keep(deck: Deck, at: int | None) -> None:
    """The engine part of a command that changes only the voice."""


def _keys_on_voice(engine: EngineLike) -> bool:
    return bool(getattr(getattr(engine, "plan", None), "keys_on_voice", False))


class _VoiceKey:
    """The voice line as one engine hears it: on that engine's clock (a switch offsets it)."""

    def __init__(self, deck: Deck, engine: EngineLike, line: VoiceLine) -> None:
        self._deck, self._engine, self._line = deck, engine, line

    def read(self, start: int, n: int) -> np.ndarray | None:
        return self._line.key(self._deck.to_deck(self._engine, start), n)


def _same_from(new: np.ndarray, old: np.ndarray, cut: int) -> bool:
    """Whether ``new`` would play exactly what is queued, from sample ``cut`` on."""
    return new.shape == old.shape and np.array_equal(new[cut:], old[cut:])


def _crossfade(old: np.ndarray, new: np.ndarray, length: int) -> np.ndarray:
    """``new`` faded in over ``old`` across its first ``length`` samples (a copy)."""
    new = new.copy()
    x = min(length, new.shape[0], old.shape[0])
    if x > 0:
        w = np.linspace(0.0, 1.0, x, endpoint=False, dtype=np.float32)[:, None]
        # Linear: both sides carry the same continuing bed, so amplitudes should sum to one.
        new[:x] = old[:x] * (1.0 - w) + new[:x] * w
    return new


def _same_event(at: int, ev: Any) -> tuple[Any, ...]:
    """What makes two rendered events the same one (engine events hold a dict: unhashable)."""
    return (at, getattr(ev, "kind", None), getattr(ev, "name", None), repr(getattr(ev, "data", ev)))


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)
