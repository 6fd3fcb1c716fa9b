"""`Run`: one `start()` → `aclose()` of a `Soundscape` — its output, the driver task that
feeds it, the AgentSession it follows and the sounds `play()` started — and how it ends:
the closing fade heard to its end, then everything stopped and freed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from ..engine import Plan
from ..engine.adopt import AdoptReport
from .deck import Deck, EngineLike
from .driver import LiveDriver
from .one_track import OneTrack
from .output import Opened
from .playback import Playback
from .reload import ReloadResult
from .session_events import SessionAdapter
from .voice_follow import VoiceFollower
from .voice_line import VoiceLine
from .voice_output import OneTrackOutput

log = logging.getLogger("soundscape")


class Run:
    def __init__(self, output: Opened, driver: LiveDriver, playback: Playback) -> None:
        self.output = output
        self.driver = driver
        self.playback = playback
        self.adapter: SessionAdapter | None = None
        self.voice: VoiceFollower | None = None
        self.task: asyncio.Task[None] | None = None
        self.one: OneTrack | None = None
        """One-track mode: the session's speech goes through the driver."""
        self.session_closed = False
        self._rescue: set[asyncio.Future[None]] = set()

    def follow(
        self,
        session: Any,
        post: Callable[[str, dict[str, Any]], None],
        *,
        on_close: Callable[[], None],
    ) -> list[tuple[str, dict[str, Any]]]:
        """Turn ``session``'s events into scene events from now on; returns the events that
        bring the scene to where the session is already (its current agent state)."""
        self.adapter = SessionAdapter(session, post, on_close=on_close)
        self.adapter.attach()
        return self.adapter.current()

    def carry_voice(self, session: Any, room: Any, *, console: Any = None) -> None:
        """One track: become ``session``'s audio output (now, or when its speech allows);
        under the console command, in place of the speaker's output (``console`` finds it)."""
        out = OneTrackOutput(self.driver, channels=self.driver.deck.channels)
        if self.output.publisher is not None:
            # Speech waits for a subscriber to our track, as it would for RoomIO's.
            out.subscribed = asyncio.get_running_loop().create_future()
            self.output.publisher.on_published.append(self._wait_subscribed)
        self.one = OneTrack(out, session, room, console=console)
        self.one.install()

    def _wait_subscribed(self, publication: Any) -> None:
        one = self.one
        fut = one.output.subscribed if one is not None else None
        if fut is None or fut.done():
            return
        wait = getattr(publication, "wait_for_subscription", None)
        if not callable(wait):  # a stand-in room: nobody to wait for
            fut.set_result(None)
            return

        async def subscribed() -> None:
            with contextlib.suppress(Exception):
                await wait()
            if not fut.done():
                fut.set_result(None)

        t = asyncio.ensure_future(subscribed())
        fut.add_done_callback(lambda _: t.cancel())

    def follow_voice(self, plan: Plan) -> None:
        """With `voice: auto` or a duck by the voice (and a session), listen to the agent's
        speech from now on."""
        keyed = bool(getattr(plan, "keys_on_voice", False))
        if not (plan.voice_auto or keyed) or self.voice is not None or self.adapter is None:
            return
        if self.one is not None:  # the speech goes through us: placed, keyed, measured exactly
            self.voice = VoiceFollower(self.driver)
            self.one.output.listeners.append(self.voice)
            return
        # Own track: the speech is observed on its way to RoomIO's output.
        key = VoiceLine(1)
        self.driver.carry_voice(key, mix=False)
        self.voice = VoiceFollower(self.driver, key=key)
        self.voice.attach(self.adapter.session)

    def give_voice(self, engine: EngineLike) -> None:
        """Bring a new engine (not heard yet) to the voice loudness measured so far."""
        lufs = self.voice.loudness if self.voice is not None else None
        if lufs is not None and engine.plan.voice_auto:
            engine.set_voice_loudness(lufs, glide=False)

    async def start(self, connect_timeout: float) -> None:
        """Run the driver; publish the track now, or once the room connects."""
        waits = self.output.waits()
        run = self.driver.run
        coro = self.output.run_once_connected(run, connect_timeout) if waits else run()
        self.task = asyncio.create_task(coro, name="soundscape-driver")
        self.task.add_done_callback(_log_driver_stop)
        self.task.add_done_callback(self._driver_stopped)
        if not waits:
            await self.output.publish()

    def _driver_stopped(self, task: asyncio.Task[None]) -> None:
        # One track: a driver that died would take the agent's voice with it. Never.
        if self.one is not None and self.one.installed and not self.session_closed:
            if task.cancelled() or task.exception() is None:
                return
            t = asyncio.ensure_future(self._give_voice_back())
            self._rescue.add(t)
            t.add_done_callback(self._rescue.discard)

    async def _give_voice_back(self) -> None:
        if self.one is None:
            return
        pub = self.output.publisher
        name = pub.name if pub is not None else "roomio_audio"
        from .one_track import voice_publish_options

        options = pub.options if pub is not None else voice_publish_options()
        await self.one.restore(track_name=name, options=options)

    @property
    def playing(self) -> bool:
        return self.task is not None and not self.task.done()

    def switch(self, engine: EngineLike, crossfade: int) -> None:
        """Crossfade (equal-power) from the scene playing to ``engine``'s over ``crossfade``
        samples, from the sample playing now."""
        self.driver.attach(engine)
        self.driver.submit(lambda deck, at: deck.switch(engine, crossfade), split=True)

    async def adopt(self, plan: Plan, crossfade: int, state: str) -> ReloadResult:
        """Swap ``plan`` (an edit of the scene playing) into its engine at the sample playing
        now: what is unchanged plays on, what changed crossfades over ``crossfade`` samples.
        ``state`` is the one reported if the driver stops before it gets to it."""
        if self.task is None or not self.playing:
            return ReloadResult.applied(None, state)
        done: asyncio.Future[AdoptReport] = asyncio.get_running_loop().create_future()

        def apply(deck: Deck, at: int | None) -> None:
            try:
                report = deck.engine.adopt(plan, crossfade)  # type: ignore[attr-defined]
            except BaseException as e:
                if not done.done():
                    done.set_exception(e)
                raise
            if not done.done():
                done.set_result(report)

        # split: the engine must stand exactly at the sample playing now, so a later rewind
        # never restores a block that straddles the swap.
        self.driver.submit(apply, split=True)
        waits: set[asyncio.Future[Any]] = {done, self.task}
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        if not done.done():
            done.cancel()
            return ReloadResult.applied(None, state)
        report = done.result()
        return ReloadResult.applied(report, report.state)

    async def fade_out(self, seconds: float) -> None:
        """Stop following the session and fade everything out over ``seconds``; return once
        the end of the fade has been heard (at most 2 s later than due)."""
        d = self.driver
        if not self.playing:
            return
        if self.adapter is not None:
            self.adapter.detach()
        if not d.started:  # never published: nothing was heard, nothing to fade
            return
        # Never a hard cut: at least the engine's ~5 ms minimum fade.
        n = max(int(seconds * d.rate), int(0.005 * d.rate))
        d.submit(lambda deck, at: deck.fade_out(n), split=True)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(_heard_silent(d), timeout=seconds + 2.0)

    async def aclose(self) -> None:
        """Stop everything and free it: session handlers, driver, handles, track, source."""
        if self.adapter is not None:
            self.adapter.detach()
            self.adapter = None
        if self.voice is not None:
            self.voice.close()
            self.voice = None
        if self.one is not None:
            if self.session_closed:
                self.one.output.close()
            else:  # the session speaks on: on a track of its own again, before ours goes
                await self._give_voice_back()
            await self.one.aclose()
            self.one = None
        self.driver.stop()
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task
        self.playback.close()
        await self.output.aclose()


def close_with_job(aclose: Callable[[], Coroutine[None, None, None]]) -> bool:
    """Have the livekit-agents job running us call ``aclose`` when it shuts down; False
    outside a job. (The room is already disconnected when shutdown callbacks run, so
    ``aclose`` must ask nothing of it.)"""
    try:
        from livekit.agents import get_job_context

        ctx = get_job_context(required=False)
    except Exception:  # not livekit-agents' job machinery: nothing to hook into
        return False
    if ctx is None:
        return False
    ctx.add_shutdown_callback(aclose)
    return True


def _log_driver_stop(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("soundscape: driver stopped", exc_info=task.exception())


async def _heard_silent(d: LiveDriver) -> None:
    # Until the end of the closing fade has been heard (what is queued after it is silence).
    while True:
        end = d.deck.fade_end
        left = None if end is None else (end - d.now_playing()) / d.rate
        if left is not None and left <= 0:
            return
        await asyncio.sleep(d.opts.frame if left is None else min(left + 0.002, 0.5))
