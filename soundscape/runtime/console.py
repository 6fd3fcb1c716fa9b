"""Console mode: with livekit-agents' ``console`` command there is no room to publish to, so
the scene is mixed into the local speaker output instead.

In livekit-agents 1.8 ``python agent.py console`` plays the agent through a
sounddevice stream whose callback (on the audio thread) asks the console's
`ConsoleAudioOutput.read_into(outdata, frames)` for int16 mono samples at 24 kHz.
`ConsoleSink` wraps that method on the instance: the agent's samples are written
first, untouched, then the scene's are added (saturating). The driver feeds the sink
like any other: render-ahead into a small thread-safe queue that the callback drains.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeGuard

import numpy as np

log = logging.getLogger("soundscape")

Finder = Callable[[], Any]


@dataclass(frozen=True)
class ConsoleTarget:
    """Where console audio goes: its rate, and how to find the output once it exists."""

    rate: int
    find: Finder


class ConsoleOutput(Protocol):
    """What `start(console=...)` mixes into: livekit-agents' ``ConsoleAudioOutput`` has it."""

    @property
    def sample_rate(self) -> int: ...

    def read_into(self, outdata: np.ndarray, frames: int) -> None: ...


def mixable(output: object) -> TypeGuard[ConsoleOutput]:
    """True for an output the speaker callback pulls from (``read_into`` + ``sample_rate``)."""
    return callable(getattr(output, "read_into", None)) and hasattr(output, "sample_rate")


def detect_console() -> ConsoleTarget | None:
    """The console's local output when the agent runs with the ``console`` command."""
    try:
        from livekit.agents import cli
    except ImportError:  # pragma: no cover - livekit-agents is optional for the engine
        return None
    c = cli.AgentsConsole.get_instance()
    if not c.enabled:
        return None
    if getattr(c, "_tcp_transport", None) is not None:
        log.warning(
            "soundscape: `lk agent console` streams the agent's audio to the LiveKit CLI, "
            "which soundscape cannot mix into yet; use `python agent.py console` to hear "
            "the scene locally"
        )
        return None

    def find() -> Any:
        if not c.io_acquired:  # the AgentSession has not started yet
            return None
        out = getattr(c, "_io_audio_output", None)
        return out if mixable(out) else None

    out = find()
    if out is not None:
        return ConsoleTarget(int(out.sample_rate), find)
    from livekit.agents.cli import _legacy  # local: imports rich & co (~1.5 s)

    return ConsoleTarget(_legacy.SAMPLE_RATE, find)


class ConsoleSink:
    """A driver sink drained by the console's speaker callback (see the module docstring).

    ``max_seconds`` bounds the queue: the sound card's clock and the event loop's drift
    apart slowly, and the oldest audio is dropped rather than letting latency grow.
    """

    can_clear = True
    grid: float | None = None

    def __init__(self, target: ConsoleTarget, *, max_seconds: float = 1.0) -> None:
        self.rate = target.rate
        self.channels = 1
        self._find = target.find
        self._max = int(max_seconds * self.rate)
        self._lock = threading.Lock()
        self._queue: deque[np.ndarray] = deque()
        self._size = 0
        self._output: Any = None
        self._wrapper: Callable[[np.ndarray, int], None] | None = None
        self._failed = False
        self._attach()

    @property
    def output(self) -> Any:
        """The console output being mixed into (None until the AgentSession has started)."""
        return self._output

    def _attach(self) -> None:
        out = self._find()
        if out is None or self._output is not None:
            return
        if out.sample_rate != self.rate:
            log.warning(
                "soundscape: the console plays at %d Hz, the scene was started at %d Hz; "
                "not mixing",
                out.sample_rate,
                self.rate,
            )
            self._find = lambda: None
            return
        original = out.read_into

        def read_into(outdata: np.ndarray, frames: int) -> None:
            original(outdata, frames)  # the agent first, as it would be without us
            self.mix_into(outdata, frames)

        out.read_into = read_into
        self._output, self._wrapper = out, read_into
        log.info("soundscape: console mode: mixing the scene into the local speaker output")

    async def capture(self, block: np.ndarray) -> None:
        self._put(block, clear=False)

    async def replace(self, block: np.ndarray) -> None:
        # Under one lock: the speaker's callback runs on its own thread, and between a
        # clear and a capture it would find the queue empty and play a gap.
        self._put(block, clear=True)

    def _put(self, block: np.ndarray, *, clear: bool) -> None:
        if self._output is None:
            self._attach()
        if block.dtype == np.int16:  # one track: voice and scene mixed already
            mono = block[:, 0].astype(np.float32) / 32767.0  # exact back in `mix_into`
        else:
            mono = np.ascontiguousarray(block[:, 0], dtype=np.float32)
        with self._lock:
            if clear:
                self._queue.clear()
                self._size = 0
            self._queue.append(mono)
            self._size += mono.size
            while self._size - self._queue[0].size >= self._max:
                self._size -= self._queue.popleft().size

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()
            self._size = 0

    def take(self, frames: int) -> np.ndarray:
        """The next ``frames`` samples of the scene (zeros where none are queued)."""
        out = np.zeros(frames, dtype=np.float32)
        i = 0
        with self._lock:
            while i < frames and self._queue:
                head = self._queue[0]
                k = min(frames - i, head.size)
                out[i : i + k] = head[:k]
                i += k
                if k == head.size:
                    self._queue.popleft()
                else:
                    self._queue[0] = head[k:]
            self._size -= i
        return out

    def mix_into(self, outdata: np.ndarray, frames: int) -> None:
        """Add the scene to int16 ``outdata`` (frames, ch), saturating; runs on the audio thread."""
        try:
            scene = self.take(frames) * 32767.0
            if not scene.any():
                return
            mixed = outdata[:frames, 0].astype(np.float32) + np.round(scene)
            outdata[:frames, 0] = np.clip(mixed, -32768, 32767).astype(outdata.dtype)
        except Exception:
            # Never break the agent's own playback; say so once.
            if not self._failed:
                self._failed = True
                log.exception("soundscape: mixing into the console output failed")

    async def aclose(self) -> None:
        out = self._output
        if out is not None and out.__dict__.get("read_into") is self._wrapper:
            del out.read_into  # the class's own method again
        self._output = self._wrapper = None
        self.clear()
