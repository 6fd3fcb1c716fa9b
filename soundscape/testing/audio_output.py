"""An agent audio output that plays out in real time (on the loop clock) and keeps what it got."""

from __future__ import annotations

import asyncio
import time

import numpy as np
from livekit import rtc
from livekit.agents.voice import io


class RealtimeAudioOutput(io.AudioOutput):
    """Speech 'plays' for as long as its audio lasts, so the session stays in `speaking` that long.

    ``keep=True`` records every frame with its start time (``time.monotonic()``) in `frames`,
    for a demo that mixes the agent's voice with the soundscape track.
    """

    def __init__(self, *, sample_rate: int = 24000, keep: bool = False) -> None:
        super().__init__(
            label="soundscape.testing",
            capabilities=io.AudioOutputCapabilities(pause=False),
            sample_rate=sample_rate,
        )
        self.keep = keep
        self.frames: list[tuple[float, rtc.AudioFrame]] = []
        self._start = 0.0
        self._pushed = 0.0
        self._task: asyncio.Task[None] | None = None
        self._interrupted = asyncio.Event()

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        await super().capture_frame(frame)
        if self._task is not None and not self._task.done():
            await self._task
        if not self._pushed:
            self._start = time.monotonic()
            self._interrupted.clear()
            self.on_playback_started(created_at=time.time())
        if self.keep:
            self.frames.append((self._start + self._pushed, frame))
        self._pushed += frame.duration

    def flush(self) -> None:
        super().flush()
        if self._pushed:
            self._task = asyncio.create_task(self._playout())

    def clear_buffer(self) -> None:
        if self._pushed:
            self._interrupted.set()

    async def _playout(self) -> None:
        left = self._start + self._pushed - time.monotonic()
        try:
            await asyncio.wait_for(self._interrupted.wait(), timeout=max(left, 0.0))
            played = min(time.monotonic() - self._start, self._pushed)
            interrupted = True
        except TimeoutError:
            played, interrupted = self._pushed, False
        self._pushed = 0.0
        self.on_playback_finished(playback_position=played, interrupted=interrupted)

    def mixdown(self, rate: int, t0: float, seconds: float) -> np.ndarray:
        """What was spoken as float32 mono at ``rate``, on a timeline starting at ``t0``."""
        out = np.zeros(int(seconds * rate), dtype=np.float32)
        for start, frame in self.frames:
            pcm = np.frombuffer(frame.data, dtype=np.int16).astype(np.float32) / 32768
            if frame.sample_rate != rate:
                x = np.arange(int(len(pcm) * rate / frame.sample_rate)) * frame.sample_rate / rate
                pcm = np.interp(x, np.arange(len(pcm)), pcm).astype(np.float32)
            i = int((start - t0) * rate)
            if i >= len(out) or i + len(pcm) <= 0:
                continue
            a, b = max(i, 0), min(i + len(pcm), len(out))
            out[a:b] += pcm[a - i : b - i]
        return out
