"""`Soundscape`: a scene playing live next to an AgentSession, on its own track."""

from __future__ import annotations

import asyncio
import contextlib
import difflib
import logging
import os
import random
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from livekit import rtc

from ..engine import Engine, Plan, StreamSource, compile_scene
from ..scene.model import Scene
from ..scene.policy import TRUSTED, Policy
from ..scene.units import parse_duration
from .console import ConsoleSink, ConsoleTarget, detect_console, mixable
from .deck import Deck
from .driver import LiveDriver
from .handles import PlayHandle
from .options import LiveOptions
from .publish import CONNECT_TIMEOUT, Publisher, is_connected, wait_connected
from .reload import ReloadResult, Watcher, describe, load_edit, warn_refused
from .session_events import SessionAdapter
from .sink import (
    AudioSourceSink,
    FrameCallback,
    FrameSink,
    Sink,
    calibrate_grid,
    make_audio_source,
)
from .streams import Refresher, feed
from .tools import trigger_tools
from .warm import prewarmed_plan, prewarmed_scene

log = logging.getLogger("soundscape")

Status = Literal["new", "starting", "running", "closing", "closed"]
Listener = Callable[..., Any]
EVENTS = ("state_changed", "trigger", "voice_started", "voice_ended", "closed")


@dataclass(frozen=True)
class StateChanged:
    """Emitted as ``state_changed`` when the new state becomes audible."""

    old_state: str | None
    new_state: str
    event: str | None
    at: int  # sample on the track's clock


def _load_scene(scene: Scene | str | os.PathLike[str], policy: Policy) -> Scene:
    if isinstance(scene, Scene):
        if not policy.trusted and scene.policy.trusted:
            raise ValueError("this Scene was loaded as trusted; load it with the untrusted policy")
        return scene
    warm = prewarmed_scene(scene, policy)
    if warm is not None:
        return warm
    from ..scene import load

    return load(scene, policy=policy)


class Soundscape:
    """Plays a scene on a published track, following an AgentSession.

    ``latency`` trades CPU for reaction time: a `LiveOptions`, a preset name
    (``"low-cpu"``, the default; ``"balanced"``; ``"low-latency"``, the default for a
    ``frame_sink``) or a mapping such as ``{"frame": "400ms", "ahead": "850ms"}``. See
    docs/runtime.md.
    """

    def __init__(
        self,
        scene: Scene | str | os.PathLike[str],
        *,
        rate: int = 48000,
        channels: int = 1,
        seed: int | None = None,
        latency: LiveOptions | str | dict[str, Any] | None = None,
        track_name: str = "soundscape",
        publish_options: rtc.TrackPublishOptions | None = None,
        loader: Any = None,
        trusted: bool = True,
        asset_roots: Sequence[str | os.PathLike[str]] = (),
        policy: Policy | None = None,
        watch: bool | float = False,
    ) -> None:
        """``trusted=False`` (with ``asset_roots``) or a `Policy`: for scenes you did not write —
        files only from the asset roots, re-checked when opened, sizes bounded (docs/security.md).
        ``watch=True`` (or a period in seconds) reloads the scene when its files change."""
        if channels not in (1, 2):
            raise ValueError(f"channels must be 1 (mono) or 2 (stereo), got {channels}")
        if policy is None:
            policy = TRUSTED if trusted else Policy.untrusted(asset_roots)
        self.scene = _load_scene(scene, policy)
        self.policy = self.scene.policy
        if loader is None and not self.policy.trusted:
            loader = self.policy.loader()
        self.rate = rate
        self.channels = channels
        self.seed = seed
        self.options = LiveOptions.coerce(latency)
        self._latency_given = latency is not None
        self.track_name = track_name
        self.publish_options = publish_options
        self._loader = loader
        self._plan: Plan | None = None
        self._status: Status = "new"
        self._lock = asyncio.Lock()
        self._closed_fut: asyncio.Future[None] | None = None
        self._listeners: dict[str, list[Listener]] = {k: [] for k in EVENTS}
        self._driver: LiveDriver | None = None
        self._task: asyncio.Task[None] | None = None
        self._sink: Sink | None = None
        self._publisher: Publisher | None = None
        self._adapter: SessionAdapter | None = None
        self._handles: dict[PlayHandle, Engine] = {}
        self._feeders: set[asyncio.Task[None]] = set()
        self._state: str = self.scene.initial_state
        self._last_agent: tuple[str, dict[str, Any]] | None = None
        self._reload_lock = asyncio.Lock()
        self._watcher: Watcher | None = None
        self._job_hooked = False
        if watch:
            self.watch(True if watch is True else float(watch))

    @classmethod
    def load(cls, path: str | os.PathLike[str], **kwargs: Any) -> Soundscape:
        """Load a scene file (validated; a bad scene raises `SceneError` with file:line)."""
        return cls(path, **kwargs)

    # ------------------------------------------------------------------ properties

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
        return self._sink.source if isinstance(self._sink, AudioSourceSink) else None

    @property
    def publication(self) -> Any:
        return self._publisher.publication if self._publisher else None

    @property
    def metrics(self) -> dict[str, Any]:
        """Active voices, underruns, state, latency of the last reaction, queue depth, work done."""
        d = self._driver
        if d is None:
            return {"state": self._state, "active_voices": 0, "underruns": 0, "latency": 0.0}
        m = d.metrics
        return {
            "state": self._state,
            "active_voices": d.deck.active_voices,
            "underruns": m.underruns,
            "underrun_seconds": m.underrun_seconds,
            "latency": m.latency,
            "rewinds": m.rewinds,
            "captures": m.captures,
            "seconds_sent": m.samples / self.rate,
            "queued": d.queued_seconds(),
            "render_errors": m.render_errors,
            "sink_errors": m.sink_errors,
        }

    # ------------------------------------------------------------------ events

    def on(self, event: str, callback: Listener | None = None) -> Any:
        """Register ``callback`` for ``event`` (usable as a decorator). Events: state_changed
        (`StateChanged`), trigger (name, fields), voice_started/voice_ended (EngineEvent), closed."""
        if event not in self._listeners:
            raise ValueError(f"unknown event {event!r}; use one of {', '.join(EVENTS)}")
        if callback is None:
            return lambda cb: self.on(event, cb)
        self._listeners[event].append(callback)
        return callback

    def off(self, event: str, callback: Listener) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self._listeners[event].remove(callback)

    def _emit(self, event: str, *args: Any) -> None:
        for cb in list(self._listeners[event]):
            try:
                cb(*args)
            except Exception:
                log.exception("soundscape: a %r listener raised; the track keeps playing", event)

    # ------------------------------------------------------------------ lifecycle

    def _compile(self) -> Plan:
        if self._plan is None:
            self._plan = self._prewarmed(self.scene) or compile_scene(
                self.scene, self.rate, self.channels, loader=self._loader
            )
        return self._plan

    def _prewarmed(self, scene: Scene) -> Plan | None:
        """``scene``'s plan from `prewarm()` at this format (never with a custom loader)."""
        return None if self._loader else prewarmed_plan(scene, self.rate, self.channels)

    def _new_engine(self, plan: Plan) -> Engine:
        seed = self.seed if self.seed is not None else random.SystemRandom().randrange(2**63)
        return Engine(plan, seed=seed)

    async def start(
        self,
        *,
        room: Any = None,
        agent_session: Any = None,
        audio_source: rtc.AudioSource | None = None,
        frame_sink: FrameCallback | None = None,
        console: Any = None,
        connect_timeout: float = CONNECT_TIMEOUT,
    ) -> None:
        """Start playing: publish a track on ``room`` (or feed ``audio_source`` / call
        ``frame_sink(frame)`` for a custom transport) and follow ``agent_session``.

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
        if audio_source is not None and frame_sink is not None:
            raise ValueError("give either audio_source or frame_sink, not both")
        if room is not None and frame_sink is not None:
            raise ValueError(
                "room= publishes an AudioSource, but with frame_sink= there is none: "
                "drop one of them"
            )
        target = self._console_target(console, room, audio_source, frame_sink)
        self._hook_job_shutdown()
        self._status = "starting"
        self._closed_fut = asyncio.get_running_loop().create_future()
        try:
            async with self._lock:
                await self._start(
                    room, agent_session, audio_source, frame_sink, target, connect_timeout
                )
        except BaseException:
            await self._teardown()
            self._status = "closed"
            self._resolve_closed()
            raise
        self._status = "running"

    async def _start(
        self,
        room: Any,
        session: Any,
        audio_source: rtc.AudioSource | None,
        frame_sink: FrameCallback | None,
        console: ConsoleTarget | None = None,
        connect_timeout: float = CONNECT_TIMEOUT,
    ) -> None:
        if console is not None and (self.rate, self.channels) != (console.rate, 1):
            # Mix at the speaker's own rate: no resampling on the audio thread.
            self.rate, self.channels, self._plan = console.rate, 1, None
        plan = self._plan or self._prewarmed(self.scene)  # prewarmed: no hop to a thread
        if plan is None:
            plan = await asyncio.to_thread(self._compile)
        self._plan = plan
        engine = self._new_engine(plan)
        sink: Sink
        if console is not None:
            sink = ConsoleSink(console, max_seconds=self.options.ahead + 0.5)
            log.info(
                "soundscape: console mode (no room): the scene plays through the local "
                "speaker at %d Hz",
                console.rate,
            )
        elif frame_sink is not None:
            sink = FrameSink(frame_sink, rate=self.rate, channels=self.channels)
            if not self._latency_given:
                # What a frame sink was given cannot be taken back, so events wait behind it:
                # the default becomes 20 ms frames (a telephony packet), not 400 ms.
                self.options = LiveOptions.preset("low-latency")
        elif audio_source is not None:
            if (audio_source.sample_rate, audio_source.num_channels) != (
                self.rate,
                self.channels,
            ):
                raise ValueError(
                    f"audio_source is {audio_source.sample_rate} Hz × {audio_source.num_channels}"
                    f" ch; this Soundscape renders {self.rate} Hz × {self.channels} ch"
                    " (pass rate=/channels= to Soundscape to match)"
                )
            sink = AudioSourceSink(audio_source, owned=False)
            if sink.grid is None and self.options.rewind:
                # Exact splices need the source's tick grid: listen for ~120 ms once.
                try:
                    sink.grid = await asyncio.wait_for(calibrate_grid(audio_source), 1.0)
                except Exception as e:
                    log.warning("soundscape: could not find the source's tick grid (%s)", e)
        else:
            # Room for the queue plus a rewind push, so capture_frame never has to wait.
            qms = int((self.options.ahead + 2 * self.options.frame) * 1000) + 50
            sink = AudioSourceSink(make_audio_source(self.rate, self.channels, qms), owned=True)
        self._sink = sink
        self._state = plan.initial
        self._driver = LiveDriver(
            Deck(engine),
            sink,
            self.options,
            on_engine_event=self._engine_event,
            on_tick=self._tick,
        )
        publisher: Publisher | None = None
        if room is not None and isinstance(sink, AudioSourceSink):
            publisher = self._publisher = Publisher(room, self.track_name, self.publish_options)
        if session is not None:
            self._adapter = SessionAdapter(session, self._session_event, on_close=self._on_close)
            self._adapter.attach()
            for name, fields in self._adapter.current():
                engine.post(name, fields)
                if name.startswith("agent."):
                    self._last_agent = (name, fields)
        if publisher is not None and not is_connected(room):
            self._task = asyncio.create_task(
                self._run_once_connected(publisher, room, connect_timeout),
                name="soundscape-driver",
            )
        else:
            self._task = asyncio.create_task(self._driver.run(), name="soundscape-driver")
        self._task.add_done_callback(self._task_done)
        if publisher is not None and is_connected(room):
            # The driver queues audio while the publish goes on: the track carries the bed
            # from the moment a caller can subscribe, not a stretch of silence.
            await publisher.publish(self._source())

    def _source(self) -> rtc.AudioSource:
        assert isinstance(self._sink, AudioSourceSink)
        return self._sink.source

    async def _run_once_connected(self, publisher: Publisher, room: Any, timeout: float) -> None:
        # Not before: the scene would play its first seconds into a track nobody can hear yet.
        await wait_connected(room, timeout, self.track_name)
        driver = self._driver
        if driver is None:
            return
        publishing = asyncio.ensure_future(publisher.publish(self._source()))
        try:
            await driver.run()
        finally:
            if not publishing.done():
                publishing.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await publishing

    @staticmethod
    def _console_target(
        console: Any, room: Any, audio_source: Any, frame_sink: Any
    ) -> ConsoleTarget | None:
        if console is None:
            if audio_source is not None or frame_sink is not None:
                return None
            # Under the console command the job's room is a stand-in (a mock): nobody would
            # hear a track published on it, so the local speaker wins.
            return detect_console()
        if console is False:
            return None
        if audio_source is not None or frame_sink is not None:
            raise ValueError("console= plays locally; drop audio_source=/frame_sink=")
        if console is True:
            target = detect_console()
            if target is None:
                raise RuntimeError(
                    "console=True, but the agent is not running with the `console` command"
                )
            return target
        if not mixable(console):
            raise TypeError(
                "console= takes True/False or a console audio output with "
                f"read_into(outdata, frames) and sample_rate, got {type(console).__name__}"
            )
        return ConsoleTarget(int(console.sample_rate), lambda: console)

    def _hook_job_shutdown(self) -> None:
        # A job can end without its session closing (`ctx.shutdown()` from the app, SIGTERM):
        # the scape must not outlive it with a driver task and a native source. (The room is
        # already disconnected when shutdown callbacks run, so `aclose()` asks nothing of it.)
        if self._job_hooked:
            return
        try:
            from livekit.agents import get_job_context

            ctx = get_job_context(required=False)
        except Exception:  # not livekit-agents' job machinery: nothing to hook into
            return
        if ctx is not None:
            ctx.add_shutdown_callback(self.aclose)
            self._job_hooked = True

    def _task_done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("soundscape: driver stopped", exc_info=task.exception())

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
                await self._fade_out(self._close_fade(fade))
                await self._teardown()
        finally:
            self._status = "closed"
            self._resolve_closed()
            self._emit("closed")

    def _close_fade(self, fade: float | str | None) -> float:
        if fade is not None:
            return parse_duration(fade) if isinstance(fade, str) else float(fade)
        return min(max((ly.fade_out for ly in self.scene.layers.values()), default=0.0), 2.0)

    async def _fade_out(self, seconds: float) -> None:
        d = self._driver
        if d is None or self._task is None or self._task.done():
            return
        if self._adapter is not None:
            self._adapter.detach()
        if not d.started:  # never published: nothing was heard, nothing to fade
            return
        # Never a hard cut: at least the engine's ~5 ms minimum fade.
        n = max(int(seconds * self.rate), int(0.005 * self.rate))
        d.submit(lambda deck, at: deck.fade_out(n), split=True)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._wait_silent(d), timeout=seconds + 2.0)

    async def _wait_silent(self, d: LiveDriver) -> None:
        # Until the end of the fade has been heard (what is queued after it is silence).
        while True:
            end = d.deck.fade_end
            left = None if end is None else (end - d.now_playing()) / self.rate
            if left is not None and left <= 0:
                return
            await asyncio.sleep(d.opts.frame if left is None else min(left + 0.002, 0.5))

    async def _teardown(self) -> None:
        if self._adapter is not None:
            self._adapter.detach()
            self._adapter = None
        if self._driver is not None:
            self._driver.stop()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        me = asyncio.current_task()
        for t in list(self._feeders):
            if t is not me:
                t.cancel()
        for h in list(self._handles):
            h._mark_done()
        self._handles.clear()
        if self._publisher is not None:
            await self._publisher.unpublish()
            self._publisher = None
        if self._sink is not None:
            with contextlib.suppress(Exception):
                await self._sink.aclose()
            self._sink = None
        self._driver = None

    def _resolve_closed(self) -> None:
        if self._closed_fut is not None and not self._closed_fut.done():
            self._closed_fut.set_result(None)

    def _on_close(self) -> None:
        # The session closed: stop by ourselves (a task, since emit() is synchronous).
        if self._status in ("starting", "running"):
            t = asyncio.ensure_future(self.aclose())
            self._feeders.add(t)
            t.add_done_callback(self._feeders.discard)

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
        name = name.removeprefix("trigger.")
        trig = self.scene.triggers.get(name)
        if trig is None:
            close = difflib.get_close_matches(name, list(self.scene.triggers), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            known = ", ".join(sorted(self.scene.triggers)) or "none"
            raise ValueError(
                f"{self.scene.file}: no trigger named {name!r}{hint} (declared: {known})"
            )
        extra = set(fields) - set(trig.fields)
        if extra:
            raise ValueError(
                f"trigger {name!r} has no field(s) {', '.join(sorted(extra))}; "
                f"declared: {', '.join(sorted(trig.fields)) or 'none'}"
            )
        self._emit("trigger", name, dict(fields))
        self.post(f"trigger.{name}", **fields)

    def llm_tools(self) -> list[Any]:
        """Function tools for the triggers marked ``llm: true`` (pass to your Agent's ``tools=``)."""
        return trigger_tools(self.scene, self.trigger)

    # ------------------------------------------------------------------ engine events out

    def _engine_event(self, ev: Any, at: int) -> None:
        kind = getattr(ev, "kind", "")
        if kind == "state":
            old, self._state = self._state, ev.name
            # The initial state's entry at the first sample is not a change (it was
            # `scape.state` all along), nor is a transition back into the same state.
            if old != ev.name:
                self._emit("state_changed", StateChanged(old, ev.name, ev.data.get("event"), at))
        elif kind == "voice.start":
            self._emit("voice_started", ev)
        elif kind == "voice.stop":
            self._emit("voice_ended", ev)

    def _tick(self, queued: float) -> None:
        if self._watcher is not None and self._watcher.due(asyncio.get_running_loop().time()):
            t = asyncio.ensure_future(self._watch_reload())
            self._feeders.add(t)
            t.add_done_callback(self._feeders.discard)
        if not self._handles:
            return
        loop = asyncio.get_running_loop()
        d = self._driver
        live = d.deck.engines if d is not None else []
        for h, eng in list(self._handles.items()):
            # A voice of a scene switched away from ends with that scene's crossfade.
            if h.voice is not None and (not eng.is_active(h.voice) or eng not in live):
                # Ended at the render head: heard to its end once the queue has played out.
                del self._handles[h]
                loop.call_later(queued, h._mark_done)

    # ------------------------------------------------------------------ play()

    def play(
        self,
        what: Any,
        *,
        loop: bool = False,
        gain: float = 1.0,
        fade_in: float = 0.0,
        fade_out: float | None = None,
    ) -> PlayHandle:
        """Play a scene sound name, a file path, ``'builtin:NAME'``, a `BuiltinAudioClip`, an
        `AudioConfig` (or a list of them, picked by probability), or an async iterator of
        `rtc.AudioFrame` at any rate and channel count. Returns an awaitable, stoppable handle.
        """
        if self._status != "running":
            raise RuntimeError("Soundscape is not started; `await scape.start(...)` first")
        from .compat import normalize_play

        item = normalize_play(what)
        if item is None:  # a list whose probabilities chose silence
            h = PlayHandle()
            h._mark_done()
            return h
        source, vol, fi, fo = item
        gain, fade_in = gain * vol, fade_in or fi
        fade_out = fade_out if fade_out is not None else (fo or None)
        handle = PlayHandle(stop=lambda h, fade: self._stop(h, fade, fade_out))
        if isinstance(source, AsyncIterator) or hasattr(source, "__anext__"):
            if loop:
                raise ValueError(
                    "an async iterator cannot be looped; pass a file path with loop=True "
                    "or make the iterator repeat itself"
                )
            self._play_stream(handle, source, gain, fade_in, fade_out)
            return handle
        name = str(source)
        plan = self._compile()
        if name not in plan.sounds and name not in plan.extra:
            self._check_source(name)
        t = asyncio.ensure_future(self._play_file(handle, name, loop, gain, fade_in, fade_out))
        self._feeders.add(t)
        t.add_done_callback(self._feeders.discard)
        return handle

    def _check_source(self, name: str) -> None:
        from ..scene.sources import builtin_names, resolve

        if name.startswith("builtin:"):
            if name.removeprefix("builtin:") not in builtin_names():
                raise ValueError(f"no built-in clip {name!r}; known: {', '.join(builtin_names())}")
            return
        path = resolve(name, self.scene.base_dir)
        if not path.exists() and not Path(name).exists():
            sounds = ", ".join(sorted(self.scene.sounds)) or "none"
            raise ValueError(
                f"cannot play {name!r}: not a sound of {self.scene.file} (sounds: {sounds}) "
                "and no such file exists"
            )

    async def _play_file(
        self,
        handle: PlayHandle,
        name: str,
        loop: bool,
        gain: float,
        fade_in: float,
        fade_out: float | None,
    ) -> None:
        plan = self._compile()
        if name not in plan.sounds and name not in plan.extra:
            try:
                # Decode off the event loop; the plan caches it for every later play.
                await asyncio.to_thread(plan.load_source, name)
            except Exception:
                log.exception("soundscape: cannot play %r", name)
                handle._mark_done()
                return
        self._submit_play(handle, name, loop=loop, gain=gain, fade_in=fade_in, fade_out=fade_out)

    def _submit_play(self, handle: PlayHandle, what: Any, **kw: Any) -> None:
        d = self._driver
        if d is None or handle.stopped:
            handle._mark_done()
            return

        def apply(deck: Deck, at: int | None) -> None:
            if handle.stopped:
                handle._mark_done()
                return
            eng = deck.engine
            handle.voice = eng.play(what, at=deck.to_engine(at), **kw)
            self._handles[handle] = eng  # type: ignore[assignment]

        d.submit(apply, whole=True)

    def _stop(self, handle: PlayHandle, fade: float | None, default: float | None) -> None:
        d = self._driver
        eng = self._handles.get(handle)
        if d is None or eng is None or handle.voice is None:
            handle._mark_done()
            return
        voice = handle.voice
        f = fade if fade is not None else default

        def apply(deck: Deck, at: int | None) -> None:
            at_e = deck.to_engine(at) if eng is deck.engine else None
            eng.stop(voice, fade=f, at=at_e)

        d.submit(apply)

    def _play_stream(
        self,
        handle: PlayHandle,
        frames: Any,
        gain: float,
        fade_in: float,
        fade_out: float | None,
    ) -> None:
        src = StreamSource(self.channels)
        d = self._driver
        assert d is not None
        if d.can_rewind:
            # Start after a short buffer; frames that arrive once the queue was rendered
            # without them are spliced in by a rewind (the voice waits for them at the hole).
            # A third of the buffer between rewinds leaves two thirds for the loop to stall
            # (a full garbage collection stalls it ~0.1 s in a process holding livekit-agents).
            buffer = d.opts.stream_buffer
            refresher = Refresher(src, lambda: self._refill(handle, src), buffer / 3)
            on_more: Callable[[], None] | None = refresher.poke
        else:
            # Nothing queued can be redone: the voice starts at the render head and must find
            # a render-ahead's worth there, so it is not starved.
            buffer = (d.ahead + d.frame) / self.rate
            refresher, on_more = None, None

        def ready() -> None:
            self._submit_play(handle, src, gain=gain, fade_in=fade_in, fade_out=fade_out)

        async def run() -> None:
            try:
                await feed(
                    frames,
                    src,
                    rate=self.rate,
                    prefetch=max(int(buffer * self.rate), 1),
                    on_ready=ready,
                    on_more=on_more,
                )
            except asyncio.CancelledError:
                if refresher is not None:
                    refresher.cancel()
                raise

        t = asyncio.ensure_future(run())
        self._feeders.add(t)
        t.add_done_callback(self._feeders.discard)

    def _refill(self, handle: PlayHandle, src: StreamSource) -> None:
        d = self._driver
        if d is None or handle.stopped or handle.done():
            return
        d.submit(lambda deck, at: src.refilled())

    # ------------------------------------------------------------------ switch()

    async def switch(
        self, scene: Scene | str | os.PathLike[str], *, crossfade: float | str = "1s"
    ) -> None:
        """Change to another scene live, crossfading (equal-power) over ``crossfade``."""
        if self._status != "running" or self._driver is None:
            raise RuntimeError("Soundscape is not running; start() it before switch()")
        xf = parse_duration(crossfade) if isinstance(crossfade, str) else float(crossfade)
        new_scene = await asyncio.to_thread(_load_scene, scene, self.policy)
        plan = self._prewarmed(new_scene)
        if plan is None:
            plan = await asyncio.to_thread(
                compile_scene, new_scene, self.rate, self.channels, self._loader
            )
        engine = self._new_engine(plan)
        if self._last_agent is not None:
            engine.post(*self._last_agent)
        d = self._driver
        if d is None:
            return
        d.attach(engine)
        self.scene, self._plan = new_scene, plan
        n = max(int(xf * self.rate), 1)
        d.submit(lambda deck, at: deck.switch(engine, n), split=True)

    # ------------------------------------------------------------------ live reload

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
        xf = parse_duration(crossfade) if isinstance(crossfade, str) else float(crossfade)
        async with self._reload_lock:
            got = await asyncio.to_thread(
                load_edit, file, self.policy, self.rate, self.channels, self._loader
            )
            if isinstance(got, list):
                warn_refused(file, got, log.warning)
                return ReloadResult(False, tuple(got), state=self._state)
            scene, plan = got
            if self._watcher is not None:
                self._watcher.track(scene.files)
            result = await self._adopt(plan, max(int(xf * self.rate), 1))
            self.scene, self._plan = scene, plan
            log.info("%s", describe(result, file))
            return result

    async def _adopt(self, plan: Plan, crossfade: int) -> ReloadResult:
        d, task = self._driver, self._task
        if self._status != "running" or d is None or task is None or task.done():
            # Not playing: the new scene is what the next start() plays.
            return ReloadResult.applied(None, plan.initial)
        done: asyncio.Future[ReloadResult] = asyncio.get_running_loop().create_future()

        def apply(deck: Deck, at: int | None) -> None:
            try:
                report = deck.engine.adopt(plan, crossfade)  # type: ignore[attr-defined]
            except BaseException as e:
                if not done.done():
                    done.set_exception(e)
                raise
            if not done.done():
                done.set_result(ReloadResult.applied(report, report.state))

        # split: the engine must stand exactly at the sample playing now, so a later rewind
        # never restores a block that straddles the swap.
        d.submit(apply, split=True)
        # The driver may stop (aclose) before it gets to the command.
        waits: set[asyncio.Future[Any]] = {done, task}
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        if not done.done():
            done.cancel()
            return ReloadResult.applied(None, self._state)
        return done.result()

    async def _watch_reload(self) -> None:
        try:
            await self.reload()
        except Exception:
            log.exception("soundscape: reload after a file change failed; the scene plays on")

    def watch(self, enabled: bool | float = True) -> None:
        """Reload whenever the scene's files change (polled every ~0.3 s on the driver's
        schedule; ``enabled`` may be the period in seconds). ``watch(False)`` stops."""
        if not enabled:
            self._watcher = None
            return
        if self.scene.file.startswith("<"):
            raise ValueError("this scene was not loaded from a file; there is nothing to watch")
        period = 0.3 if enabled is True else float(enabled)
        self._watcher = Watcher(self.scene.files, period)
