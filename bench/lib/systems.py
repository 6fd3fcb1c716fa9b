"""The systems under test, behind one small interface: start on a room, follow a session.

- ``bap``: livekit-agents' `BackgroundAudioPlayer`, office ambience at 0.3 and keyboard
  typing at 0.6 while thinking (its basic example; scenes/office.yaml plays the same two
  clips at audible levels: the work per frame does not depend on levels).
- ``office`` / ``showcase``: `soundscape.Soundscape` with scenes/office.yaml or
  scenes/showcase.yaml, default latency setting unless ``latency`` is given.
- ``floor``: a bare `rtc.AudioSource` fed silence in ``frame_ms`` frames — the cost of the
  SDK alone, below which no player can go (``pace``: see `FloorPlayer`).

Every system's `rtc.AudioSource` is wrapped by a `Meter` before the first push.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

from livekit import rtc

from .meter import Meter
from .standin import AgentSession, Room

ROOT = Path(__file__).resolve().parents[2]
SCENES = {"office": ROOT / "scenes" / "office.yaml", "showcase": ROOT / "scenes" / "showcase.yaml"}
RATE = 48000
SYSTEMS = ("floor", "bap", "office", "showcase")


class Player:
    """One session's sound: `start` publishes on ``room`` and follows ``session``."""

    meter: Meter
    frame_ms: int  # audio per capture_frame call

    async def start(self, room: Room, session: AgentSession) -> None:
        raise NotImplementedError

    async def aclose(self) -> None:
        raise NotImplementedError

    @property
    def source(self) -> rtc.AudioSource:
        return self.meter.source


class BapPlayer(Player):
    def __init__(self, ambient: Any = None, thinking: Any = None) -> None:
        from livekit.agents import AudioConfig, BackgroundAudioPlayer, BuiltinAudioClip

        self.player = BackgroundAudioPlayer(
            ambient_sound=AudioConfig(ambient or BuiltinAudioClip.OFFICE_AMBIENCE, volume=0.3),
            thinking_sound=AudioConfig(thinking or BuiltinAudioClip.KEYBOARD_TYPING, volume=0.6),
        )
        self.meter = Meter(self.player._audio_source)
        self.frame_ms = 100  # its AudioMixer's blocksize=4800

    async def start(self, room: Room, session: AgentSession) -> None:
        await self.player.start(room=room, agent_session=session)  # type: ignore[arg-type]

    async def aclose(self) -> None:
        await self.player.aclose()


class ScapePlayer(Player):
    def __init__(self, scene: Any, seed: int, latency: Any = None) -> None:
        from soundscape.runtime import Soundscape, make_audio_source

        self.scape = Soundscape(scene, seed=seed, latency=latency)
        o = self.scape.options
        self.frame_ms = round(o.frame * 1000)
        self.ahead_ms = round(o.ahead * 1000)
        # The queue size Soundscape would choose for a source of its own.
        qms = int((o.ahead + 2 * o.frame) * 1000) + 50
        self.meter = Meter(make_audio_source(RATE, 1, qms))

    async def start(self, room: Room, session: AgentSession) -> None:
        await self.scape.start(
            room=room,  # type: ignore[arg-type]  # the stand-ins are duck-typed, not subclasses
            agent_session=session,  # type: ignore[arg-type]
            audio_source=self.meter.source,
        )

    async def aclose(self) -> None:
        await self.scape.aclose(fade=0)
        await self.meter.source.aclose()


class FloorPlayer(Player):
    """Silence into a bare source: the SDK's own cost, below which no player can go.

    ``paced`` (the floor): a frame is pushed each frame period on the loop clock, keeping
    one to two frames queued, so `capture_frame` always finds room and returns at once.
    ``blocking``: frames are pushed back to back into a full two-frame queue and each
    `capture_frame` waits for room, as BackgroundAudioPlayer's mixer task does. (The SDK
    hands every FFI event to every waiting `capture_frame` call, so with many sources
    waiting at once the cost per event grows with their number.)
    """

    def __init__(self, frame_ms: int, pace: str = "paced") -> None:
        if pace not in ("paced", "blocking"):
            raise ValueError(f"pace is 'paced' or 'blocking', not {pace!r}")
        self.n = RATE * frame_ms // 1000
        self.frame_ms = frame_ms
        self.pace = pace
        queue_ms = 3 * frame_ms if pace == "paced" else 2 * frame_ms
        self.meter = Meter(rtc.AudioSource(RATE, 1, queue_size_ms=queue_ms))
        self.frame = rtc.AudioFrame(bytes(2 * self.n), RATE, 1, self.n)
        self.task: asyncio.Task[None] | None = None

    async def start(self, room: Room, session: AgentSession) -> None:
        track = rtc.LocalAudioTrack.create_audio_track("floor", self.source)
        await room.local_participant.publish_track(track)
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        if self.pace == "blocking":
            while True:
                await self.source.capture_frame(self.frame)
        loop = asyncio.get_running_loop()
        period = self.frame_ms / 1000
        t0 = loop.time()
        k = 0
        while True:
            await self.source.capture_frame(self.frame)
            k += 1
            # Frame k is due one period before the queue would run dry.
            await asyncio.sleep(max(t0 + (k - 1) * period - loop.time(), 0.0))

    async def aclose(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        await self.source.aclose()


def make(
    system: str, index: int, *, frame_ms: int = 100, latency: Any = None, pace: str = "paced"
) -> Player:
    """A fresh player of ``system`` for session number ``index``."""
    if system == "bap":
        return BapPlayer()
    if system == "floor":
        return FloorPlayer(frame_ms, pace)
    if system in SCENES:
        return ScapePlayer(_scene(system), seed=index, latency=latency)
    raise ValueError(f"unknown system {system!r}; use one of {', '.join(SYSTEMS)}")


_scenes: dict[str, Any] = {}


def _scene(name: str) -> Any:
    # Loaded once per process, as a worker serving many calls would.
    if name not in _scenes:
        from soundscape.scene import load

        _scenes[name] = load(SCENES[name])
    return _scenes[name]


def default_frame_ms() -> int:
    """soundscape's default frame size, and the other preset worth a row."""
    from soundscape.runtime import LiveOptions

    return round(LiveOptions().frame * 1000)


def other_preset() -> str:
    return "balanced" if default_frame_ms() >= 200 else "low-cpu"
