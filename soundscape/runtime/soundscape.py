"""`Soundscape`: a scene playing live next to an AgentSession, on its own track.

This is the facade: configuration, the lifecycle (new → running → closed) and the calls an
application makes. Each of its other jobs has a module of its own: `output` chooses where
the audio goes, `playback` runs `play()` and its handles, `reload` reads an edited scene
and swaps it in, `events` defines what it emits, `warm` is what `prewarm()` kept.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, Literal

from livekit import rtc

from ..engine import Engine, Plan
from ..engine.events import EngineEvent
from ..scene.model import Scene
from ..scene.policy import TRUSTED, Policy
from ..scene.units import Loudness, parse_duration
from .console import ConsoleOutput
from .deck import Deck
from .driver import LiveDriver
from .events import (
    ClosedEvent,
    Emitter,
    StateChangedEvent,
    TriggerEvent,
    check_trigger,
    voice_event,
)
from .handles import PlayHandle
from .metrics import SoundscapeMetrics
from .one_track import ROOM_TRACK, room_track_of, voice_publish_options
from .options import LiveOptions
from .output import Output, choose_output, latency_for, open_output
from .playback import Playback
from .publish import CONNECT_TIMEOUT
from .reload import Reloader, ReloadResult
from .run import Run, close_with_job
from .sink import FrameCallback
from .tools import trigger_tools
from .warm import load_scene, plan_for, warm_plan

if TYPE_CHECKING:
    from livekit.agents import AgentSession

    from .playback import Playable

log = logging.getLogger("soundscape")

Status = Literal["new", "starting", "running", "closing", "closed"]


class Soundscape(Emitter):
    """Plays a scene on its own track, following an AgentSession.

    ``Soundscape(path)`` loads and validates the scene (a bad one raises `SceneError` with
    file:line:col); ``await scape.start(room=..., agent_session=...)`` plays it. Events
    (``scape.on("state_changed", cb)``): see `soundscape.runtime.events`.
    """

    def __init__(
        self,
        scene: Scene | str | os.PathLike[str],
        *,
        rate: int = 48000,
        channels: int = 1,
        seed: int | None = None,
        latency: LiveOptions | str | dict[str, Any] | None = None,
        track_name: str | None = None,
        policy: Policy | None = None,
        watch: bool | float = False,
    ) -> None:
        """``latency`` trades CPU for reaction time: a `LiveOptions`, a preset name
        (``"low-cpu"``, the default; ``"balanced"``; ``"low-latency"``, the default for a
        ``frame_sink``) or a mapping such as ``{"frame": "400ms", "ahead": "850ms"}``.
        ``policy=Policy.untrusted(asset_roots)`` for scenes you did not write: files only from
        the asset roots, re-checked when opened, sizes bounded (docs/security.md).
        ``watch=True`` (or a period in seconds) reloads the scene when its files change."""
        super().__init__()
        if channels not in (1, 2):
            raise ValueError(f"channels must be 1 (mono) or 2 (stereo), got {channels}")
        self.scene = load_scene(scene, policy or TRUSTED)
        self.policy = self.scene.policy
        # An untrusted scene's clips are opened through its policy, which re-checks each path.
        self._loader = None if self.policy.trusted else self.policy.loader()
        self.rate = rate
        self.channels = channels
        self.seed = seed
        self.options = LiveOptions.coerce(latency)
        self._latency_given = latency is not None
        self._track_name_given = track_name is not None
        self.track_name = track_name or "soundscape"
        self._plan: Plan | None = None
        self._status: Status = "new"
        self._lock = asyncio.Lock()
        self._closed_fut: asyncio.Future[None] | None = None
        self._run: Run | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._state: str = self.scene.initial_state
        self._last_agent: tuple[str, dict[str, Any]] | None = None
        self._reloader = Reloader()
        self._job_hooked = False
        if watch:
            self.watch(True if watch is True else float(watch))

    # ------------------------------------------------------------------ what it is doing

    @property
    def state(self) -> str:
        """The scene state being heard now."""
        return self._state

    @property
    def running(self) -> bool:
        return self._status == "running"

    async def wait_closed(self) -> None:
        """Return once the scape has stopped (after `aclose()` or its session closing)."""
        if self._closed_fut is not None:
            await asyncio.shield(self._closed_fut)

    @property
    def audio_source(self) -> rtc.AudioSource | None:
        """The `rtc.AudioSource` being fed (None with a frame sink or when not started)."""
        return self._run.output.source if self._run is not None else None

    @property
    def publication(self) -> rtc.LocalTrackPublication | None:
        pub = self._run.output.publisher if self._run is not None else None
        return pub.publication if pub is not None else None

    @property
    def _driver(self) -> LiveDriver | None:
        return self._run.driver if self._run is not None else None

    @property
    def metrics(self) -> SoundscapeMetrics:
        """Active voices, underruns, state, latency of the last reaction, queue depth, work done."""
        return SoundscapeMetrics.of(self._driver, state=self._state, rate=self.rate)

    # ------------------------------------------------------------------ events out

    def _engine_event(self, ev: EngineEvent, at: int) -> None:
        if ev.kind == "state":
            old, self._state = self._state, ev.name
            # The initial state's entry at the first sample is not a change (it was
            # `scape.state` all along), nor is a transition back into the same state.
            if old != ev.name:
                data = ev.data.get("event")
                self.emit(
                    "state_changed",
                    StateChangedEvent(old_state=old, new_state=ev.name, event=data, at=at),
                )
        elif (voice := voice_event(ev, at)) is not None:
            self.emit(voice.type, voice)

    # ------------------------------------------------------------------ lifecycle

    def _compile(self) -> Plan:
        if self._plan is None:
            self._plan = plan_for(self.scene, self.rate, self.channels, self._loader)
        return self._plan

    def _new_engine(self, plan: Plan) -> Engine:
        seed = self.seed if self.seed is not None else random.SystemRandom().randrange(2**63)
        return Engine(plan, seed=seed)

    async def start(
        self,
        *,
        room: rtc.Room | None = None,
        agent_session: AgentSession | None = None,
        track_publish_options: rtc.TrackPublishOptions | None = None,
        audio_source: rtc.AudioSource | None = None,
        frame_sink: FrameCallback | None = None,
        console: bool | ConsoleOutput | None = None,
        connect_timeout: float = CONNECT_TIMEOUT,
        one_track: bool = False,
    ) -> None:
        """Start playing: publish a track on ``room`` (with ``track_publish_options``, default
        `default_publish_options()`), or feed ``audio_source`` / call ``frame_sink(frame)``
        for a custom transport, and follow ``agent_session``.

        ``one_track=True``: become the session's audio output instead of RoomIO's, so the
        agent's speech and the scene leave on one track (the agent's voice track, named and
        published as RoomIO's would be: ``roomio_audio``, source microphone). The speech is
        neither delayed nor changed; interruptions, pauses and playback positions are exact.
        Works before or after ``session.start()``; docs/runtime.md says when to choose it.

        Any order works in a job: before ``ctx.connect()`` / ``session.start()`` (which
        connects), between them, or after. A room that is not connected yet is waited for in
        the background — `start()` returns at once — and the scene starts when its track is
        published, so the caller hears it from its first sample. If the room is still not
        connected after ``connect_timeout`` seconds, one error is logged saying what to call.

        Console mode: under livekit-agents' ``console`` command (no real room), the scene is
        mixed into the local speaker output, by itself unless ``audio_source``/``frame_sink``
        is given (the console job's ``room`` is a stand-in and is not published to);
        ``console=False`` turns that off, and ``console=output`` mixes into that console output
        (an object with ``read_into(outdata, frames)``, as ``ConsoleAudioOutput`` has)."""
        if self._status in ("starting", "running"):
            raise RuntimeError(
                "this Soundscape is already started; call `await scape.aclose()` before "
                "starting it again, or make another Soundscape for another session"
            )
        if self._status == "closing":
            raise RuntimeError("this Soundscape is closing; await aclose() before restarting it")
        out = choose_output(
            room=room, audio_source=audio_source, frame_sink=frame_sink, console=console
        )
        if one_track and agent_session is None:
            raise ValueError(
                "one_track=True mixes the agent's speech into the scene's track: pass the "
                "session it comes from (agent_session=session)"
            )
        # A job can end without its session closing (`ctx.shutdown()`, SIGTERM): the scape
        # must not outlive it with a driver task and a native source.
        self._job_hooked = self._job_hooked or close_with_job(self.aclose)
        self._status = "starting"
        self._closed_fut = asyncio.get_running_loop().create_future()
        try:
            async with self._lock:
                await self._start(
                    out, room, agent_session, track_publish_options, connect_timeout, one_track
                )
        except BaseException:
            await self._teardown()
            self._status = "closed"
            self._resolve_closed()
            raise
        self._status = "running"

    async def _start(
        self,
        out: Output,
        room: rtc.Room | None,
        session: AgentSession | None,
        publish_options: rtc.TrackPublishOptions | None,
        connect_timeout: float,
        one_track: bool = False,
    ) -> None:
        if out.console is not None and (self.rate, self.channels) != (out.console.rate, 1):
            # Mix at the speaker's own rate: no resampling on the audio thread.
            self.rate, self.channels, self._plan = out.console.rate, 1, None
        plan = self._plan or warm_plan(self.scene, self.rate, self.channels, self._loader)
        if plan is None:  # prewarmed: no hop to a thread
            plan = await asyncio.to_thread(self._compile)
        self._plan = plan
        engine = self._new_engine(plan)
        self.options = latency_for(out, self.options, given=self._latency_given)
        track_name = self.track_name
        if one_track and out.console is None:
            found = room_track_of(session)
            name, opts = found if found is not None else (ROOM_TRACK, None)
            track_name = self.track_name if self._track_name_given else name
            publish_options = publish_options or opts or voice_publish_options()
        output = await open_output(
            out,
            room=room,
            track_name=track_name,
            publish_options=publish_options,
            rate=self.rate,
            channels=self.channels,
            options=self.options,
        )
        self._state = plan.initial
        driver = LiveDriver(
            Deck(engine),
            output.sink,
            self.options,
            on_engine_event=self._engine_event,
            on_tick=self._tick,
        )
        self._run = run = Run(output, driver, Playback(driver, self._compile))
        if one_track:
            run.carry_voice(session, room, console=out.console.find if out.console else None)
        if session is not None:
            for name, fields in run.follow(session, self._session_event, on_close=self._on_close):
                engine.post(name, fields)
                if name.startswith("agent."):
                    self._last_agent = (name, fields)
            run.follow_voice(plan)
        await run.start(connect_timeout)

    async def aclose(self, *, fade: float | str | None = None) -> None:
        """Fade out (default: the scene's longest layer fade_out, at most 2 s), stop, unpublish.

        Safe to call at any time and more than once; a restart with `start()` works after it.
        """
        if self._status in ("new", "closed"):
            return
        if self._status == "closing":
            assert self._closed_fut is not None
            await asyncio.shield(self._closed_fut)
            return
        self._status = "closing"
        try:
            async with self._lock:  # waits for a start in progress
                if self._run is not None:
                    await self._run.fade_out(self._close_fade(fade))
                await self._teardown()
        finally:
            self._status = "closed"
            self._resolve_closed()
            self.emit("closed", ClosedEvent())

    def _close_fade(self, fade: float | str | None) -> float:
        if fade is not None:
            return _seconds(fade)
        return min(max((ly.fade_out for ly in self.scene.layers.values()), default=0.0), 2.0)

    async def _teardown(self) -> None:
        me = asyncio.current_task()
        for t in list(self._tasks):
            if t is not me:
                t.cancel()
        run, self._run = self._run, None
        if run is not None:
            await run.aclose()

    def _resolve_closed(self) -> None:
        if self._closed_fut is not None and not self._closed_fut.done():
            self._closed_fut.set_result(None)

    def _on_close(self) -> None:
        # The session closed: stop by ourselves (a task, since emit() is synchronous).
        if self._run is not None:
            self._run.session_closed = True
        if self._status in ("starting", "running"):
            self._spawn(self.aclose())

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        t = asyncio.ensure_future(coro)
        self._tasks.add(t)
        t.add_done_callback(self._tasks.discard)

    def _tick(self, queued: float) -> None:
        if self._reloader.due(asyncio.get_running_loop().time()):
            self._spawn(self._watch_reload())
        if self._run is not None:
            self._run.playback.tick(queued)

    async def __aenter__(self) -> Soundscape:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # ------------------------------------------------------------------ events in

    def _session_event(self, name: str, fields: dict[str, Any]) -> None:
        if name.startswith("agent."):
            self._last_agent = (name, fields)
        self.post(name, **fields)

    def post(self, event: str, **fields: Any) -> None:
        """Send any scene event (e.g. ``'agent.thinking'``) as if it happened now."""
        d = self._driver
        if d is None or (self._status != "running" and self._status != "starting"):
            return
        d.submit(lambda deck, at: deck.engine.post(event, fields, at=deck.to_engine(at)))

    def trigger(self, name: str, **fields: Any) -> None:
        """Fire the scene's trigger ``name`` (declared under `triggers:`) with string fields."""
        if self._status != "running":
            raise RuntimeError("Soundscape is not running; `await scape.start(...)` first")
        name = check_trigger(self.scene, name, fields)
        self.emit("trigger", TriggerEvent(name=name, fields=dict(fields)))
        self.post(f"trigger.{name}", **fields)

    def llm_tools(self) -> list[Any]:
        """Function tools for the triggers marked ``llm: true`` (pass to your Agent's ``tools=``)."""
        return trigger_tools(self.scene, self.trigger)

    def play(
        self,
        what: Playable,
        *,
        loop: bool = False,
        gain: float = 1.0,
        level: Loudness | str | None = None,
        fade_in: float = 0.0,
        fade_out: float | None = None,
    ) -> PlayHandle:
        """Play a scene sound name, a file path, ``'builtin:NAME'``, a `BuiltinAudioClip`, an
        `AudioConfig` (or a list of them, picked by probability), or an async iterator of
        `rtc.AudioFrame` at any rate and channel count. Returns an awaitable, stoppable handle.

        ``level`` is a loudness as a scene writes it (``'-30 LUFS'``, ``'voice -12 LU'``,
        ``'file'``); by default the scene's cue level (`levels.cue`). ``gain`` trims on top.
        BackgroundAudioPlayer's own inputs (`AudioConfig`, `BuiltinAudioClip`) play the file
        as it is at their ``volume``, as BackgroundAudioPlayer does, unless ``level`` is given.
        A stream plays as it comes (its loudness is not known before it plays).
        """
        if self._status != "running" or self._run is None:
            raise RuntimeError("Soundscape is not started; `await scape.start(...)` first")
        return self._run.playback.play(
            what,
            scene=self.scene,
            loop=loop,
            gain=gain,
            level=level,
            fade_in=fade_in,
            fade_out=fade_out,
        )

    # ------------------------------------------------------------------ another scene

    async def switch(
        self, scene: Scene | str | os.PathLike[str], *, crossfade: float | str = "1s"
    ) -> None:
        """Change to another scene live, crossfading (equal-power) over ``crossfade``."""
        if self._status != "running" or self._run is None:
            raise RuntimeError("Soundscape is not running; start() it before switch()")
        n = max(int(_seconds(crossfade) * self.rate), 1)
        new_scene = await asyncio.to_thread(load_scene, scene, self.policy)
        plan = warm_plan(new_scene, self.rate, self.channels, self._loader)
        if plan is None:
            plan = await asyncio.to_thread(
                plan_for, new_scene, self.rate, self.channels, self._loader
            )
        engine = self._new_engine(plan)
        if self._last_agent is not None:
            engine.post(*self._last_agent)
        if self._run is None:  # closed meanwhile
            return
        self._run.give_voice(engine)
        self._run.switch(engine, n)
        self._run.follow_voice(plan)
        self.scene, self._plan = new_scene, plan

    async def reload(self, *, crossfade: float | str = "300ms") -> ReloadResult:
        """Read the scene file (and what it extends/includes) again and apply it live.

        Unchanged layers and cues keep playing untouched; changed ones crossfade over
        ``crossfade``, new ones fade in, removed ones fade out; the state is kept if it still
        exists. An invalid edit is refused: the old scene plays on, a warning is logged, and
        the result (falsy) carries the diagnostics with file:line:col. Never raises for a
        bad edit.
        """
        file = self.scene.file
        if file.startswith("<"):
            raise ValueError("this scene was not loaded from a file; there is nothing to reload")
        n = max(int(_seconds(crossfade) * self.rate), 1)

        async def apply(scene: Scene, plan: Plan) -> ReloadResult:
            run = self._run if self._status == "running" else None
            if run is None or not run.playing:
                result = ReloadResult.applied(None, plan.initial)  # the next start() plays it
            else:
                result = await run.adopt(plan, n, self._state)
                run.follow_voice(plan)
            self.scene, self._plan = scene, plan
            return result

        return await self._reloader.reload(
            file,
            policy=self.policy,
            rate=self.rate,
            channels=self.channels,
            loader=self._loader,
            state=self._state,
            apply=apply,
        )

    async def _watch_reload(self) -> None:
        try:
            await self.reload()
        except Exception:
            log.exception("soundscape: reload after a file change failed; the scene plays on")

    def watch(self, enabled: bool | float = True) -> None:
        """Reload whenever the scene's files change (polled every ~0.3 s on the driver's
        schedule; ``enabled`` may be the period in seconds). ``watch(False)`` stops."""
        if enabled and self.scene.file.startswith("<"):
            raise ValueError("this scene was not loaded from a file; there is nothing to watch")
        self._reloader.watch(self.scene.files, enabled)


def _seconds(value: float | str) -> float:
    return parse_duration(value) if isinstance(value, str) else float(value)
