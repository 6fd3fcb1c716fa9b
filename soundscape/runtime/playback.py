"""`Soundscape.play()`'s machinery: what it accepts, the handles it returns, and the tasks
that decode a file or feed a stream for them while one driver runs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..engine import Plan, StreamSource
from ..scene.model import Scene
from ..scene.units import FILE_LEVEL, Loudness, parse_loudness
from .compat import literal_volume, normalize_play
from .deck import Deck, EngineLike
from .driver import LiveDriver
from .handles import PlayHandle
from .streams import LiveStream, feed

if TYPE_CHECKING:
    import os

    from livekit import rtc
    from livekit.agents import AudioConfig, BuiltinAudioClip

    Playable = (
        str
        | os.PathLike[str]
        | BuiltinAudioClip
        | AudioConfig
        | list[AudioConfig]
        | AsyncIterator[rtc.AudioFrame]
    )
    """What `Soundscape.play()` takes: what BackgroundAudioPlayer.play takes."""

log = logging.getLogger("soundscape")


class Playback:
    """The sounds played with `play()` on one driver, from `start()` to `aclose()`.

    ``plan`` gives the plan playing now (a `switch()` or `reload()` changes it)."""

    def __init__(self, driver: LiveDriver, plan: Callable[[], Plan]) -> None:
        self._driver: LiveDriver | None = driver
        self._plan = plan
        self._handles: dict[PlayHandle, EngineLike] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def play(
        self,
        what: Playable,
        *,
        scene: Scene,
        loop: bool,
        gain: float,
        level: Loudness | str | None,
        fade_in: float,
        fade_out: float | None,
    ) -> PlayHandle:
        lv = None if level is None else _level(level)
        if lv is None and literal_volume(what):
            # BackgroundAudioPlayer's inputs keep its contract: the file as it is × volume.
            lv = FILE_LEVEL
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
        plan = self._plan()
        if name not in plan.sounds and name not in plan.extra:
            _check_source(name, scene)
        self._spawn(self._play_file(handle, name, loop, gain, lv, fade_in, fade_out))
        return handle

    def tick(self, queued: float) -> None:
        """Mark the handles whose voice ended done once ``queued`` seconds have played out."""
        d = self._driver
        if not self._handles or d is None:
            return
        loop = asyncio.get_running_loop()
        live = d.deck.engines
        for h, eng in list(self._handles.items()):
            # A voice of a scene switched away from ends with that scene's crossfade.
            if h.voice is not None and (not eng.is_active(h.voice) or eng not in live):
                # Ended at the render head: heard to its end once the queue has played out.
                del self._handles[h]
                loop.call_later(queued, h._mark_done)

    def close(self) -> None:
        """Cancel every task and end every handle (the driver has stopped)."""
        self._driver = None
        me = asyncio.current_task()
        for t in list(self._tasks):
            if t is not me:
                t.cancel()
        for h in list(self._handles):
            h._mark_done()
        self._handles.clear()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        t = asyncio.ensure_future(coro)
        self._tasks.add(t)
        t.add_done_callback(self._tasks.discard)

    async def _play_file(
        self,
        handle: PlayHandle,
        name: str,
        loop: bool,
        gain: float,
        level: Loudness | None,
        fade_in: float,
        fade_out: float | None,
    ) -> None:
        plan = self._plan()
        if _work_left(plan, name, loop, level):
            try:
                # Decode, build the loop and measure the loudness off the event loop (the
                # plan caches them for every later play), so the driver renders without
                # waiting on a decode or an FFT over the whole file.
                await asyncio.to_thread(_prepare, plan, name, loop, level)
            except Exception:
                log.exception("soundscape: cannot play %r", name)
                handle._mark_done()
                return
        self._submit(
            handle, name, loop=loop, gain=gain, level=level, fade_in=fade_in, fade_out=fade_out
        )

    def _submit(self, handle: PlayHandle, what: Any, **kw: Any) -> None:
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
            self._handles[handle] = eng

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
        d = self._driver
        assert d is not None
        src = StreamSource(d.deck.channels)
        if d.can_rewind:
            # Started at its first frame, and rendered only as far as its frames reach; the
            # driver appends later ones, or splices them in where it had to go on without.
            live: LiveStream | None = LiveStream(d, src)
            prefetch = 1
        else:
            # Nothing queued can be redone: the voice starts at the render head and must find
            # a render-ahead's worth there, so it is not starved.
            live, prefetch = None, d.ahead + d.frame

        def start(deck: Deck, at: int | None) -> None:
            if handle.stopped:
                handle._mark_done()
                return
            eng = deck.engine
            handle.voice = eng.play(
                src, at=deck.to_engine(at), gain=gain, fade_in=fade_in, fade_out=fade_out
            )
            self._handles[handle] = eng
            if live is not None:
                live.started(eng, handle.voice)

        def ready() -> None:
            dr = self._driver
            if dr is None or handle.stopped:
                handle._mark_done()
            elif live is not None:
                dr.submit_stream(start)
            else:
                dr.submit(start, whole=True)

        self._spawn(
            feed(
                frames,
                src,
                rate=d.rate,
                prefetch=prefetch,
                on_ready=ready,
                on_more=None if live is None else live.grew,
                gone=lambda: handle.stopped or handle.done(),
            )
        )


def _level(level: Loudness | str) -> Loudness:
    from pydantic_core import PydanticCustomError

    try:
        return parse_loudness(level)
    except PydanticCustomError as e:  # the scene language's own message
        raise ValueError(f"play(): level: {e.message()}") from None


def _seam(plan: Plan, loop: bool) -> int | None:
    """The loop seam `Engine.play` uses (None: a one-shot reads the clip)."""
    return round(0.1 * plan.rate) if loop else None


def _work_left(plan: Plan, name: str, loop: bool, level: Loudness | None) -> bool:
    """Whether playing ``name`` would make the driver decode, build a loop or measure."""
    if name not in plan.sounds and name not in plan.extra:
        return True
    seam = _seam(plan, loop)
    n = len(plan.sound(name).variants)
    if seam is not None and any((name, i, seam) not in plan.loops for i in range(n)):
        return True
    lv = plan.cue_level if level is None else level
    if lv.lufs(plan.voice_ref) is None:
        return False
    return any((name, i, seam) not in plan.loudness for i in range(n))


def _prepare(plan: Plan, name: str, loop: bool, level: Loudness | None) -> None:
    if name not in plan.sounds and name not in plan.extra:
        plan.load_source(name)
    seam = _seam(plan, loop)
    lv = plan.cue_level if level is None else level
    for i in range(len(plan.sound(name).variants)):
        if seam is not None:
            plan.loop_for(name, i, seam)
        if lv.lufs(plan.voice_ref) is not None:
            plan.loudness_of(name, i, seam)


def _check_source(name: str, scene: Scene) -> None:
    """Fail at the call for a name that is neither a sound, a built-in clip nor a file."""
    from ..scene.sources import builtin_names, resolve

    if name.startswith("builtin:"):
        if name.removeprefix("builtin:") not in builtin_names():
            raise ValueError(f"no built-in clip {name!r}; known: {', '.join(builtin_names())}")
        return
    path = resolve(name, scene.base_dir)
    if not path.exists() and not Path(name).exists():
        sounds = ", ".join(sorted(scene.sounds)) or "none"
        raise ValueError(
            f"cannot play {name!r}: not a sound of {scene.file} (sounds: {sounds}) "
            "and no such file exists"
        )
