"""The 1 kHz tone cue the latency parts measure, and reading back what a source sends.

`Tap` stamps every 10 ms frame an `rtc.AudioStream` on the source yields with its arrival
time; `tone_level` follows the tone's amplitude sample by sample (bench/parts/latency.py's
docstring says why that way).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import wave
from pathlib import Path

import numpy as np
from livekit import rtc

from .systems import RATE, Player

TONE_HZ = 1000
TONE_AMP = 0.5


def write_tone(path: Path, seconds: float = 12.0) -> None:
    n = int(seconds * RATE)
    x = TONE_AMP * np.sin(2 * np.pi * TONE_HZ * np.arange(n) / RATE)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes((x * 32767).astype(np.int16).tobytes())


class Tap:
    """Reads back what a source sends, with the arrival time of every 10 ms frame."""

    def __init__(self, source: rtc.AudioSource) -> None:
        track = rtc.LocalAudioTrack.create_audio_track("bench-tap", source)
        self.stream = rtc.AudioStream.from_track(track=track, sample_rate=RATE, num_channels=1)
        self.frames: list[tuple[float, np.ndarray]] = []
        self.task = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        async for ev in self.stream:
            pcm = np.frombuffer(ev.frame.data, dtype=np.int16).astype(np.float32) / 32768.0
            self.frames.append((time.monotonic(), pcm))

    async def aclose(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        await self.stream.aclose()

    def signal(self) -> tuple[np.ndarray, np.ndarray]:
        """(samples, time of each sample)."""
        x = np.concatenate([f for _, f in self.frames])
        t = np.concatenate([a + np.arange(f.shape[0]) / RATE for a, f in self.frames])
        return x, t


def tone_level(x: np.ndarray) -> np.ndarray:
    """The 1 kHz amplitude at every sample: complex demodulation, averaged over one period."""
    period = RATE // TONE_HZ
    z = x * np.exp(-2j * np.pi * TONE_HZ * np.arange(x.shape[0]) / RATE)
    c = np.concatenate([[0], np.cumsum(z)])
    avg = np.zeros(x.shape[0], dtype=complex)
    avg[period - 1 :] = (c[period:] - c[:-period]) / period
    return np.abs(avg) * 2.0  # level at the window's last sample: causal


async def close(taps: list[Tap], players: list[Player]) -> None:
    """Close what a measurement opened: left to the garbage collector, the SDK's handles are
    disposed at a random moment later in the process (a smoke test run in-process crashed in
    `FfiHandle.__del__` that way)."""
    for tap in taps:
        await tap.aclose()
    for p in players:
        await p.aclose()
