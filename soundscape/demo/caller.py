"""A "caller": a participant that joins a room and records every audio track it hears.

Each frame is kept with the moment it arrived (`time.monotonic()`), so recordings of several
tracks can be laid on one timeline and compared with when things happened on the agent's side.
Used by the end-to-end tests, the latency bench and `soundscape demo`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from livekit import rtc

# A gap longer than this between frames means the track really paused (not jitter): the
# next frame is placed at its arrival time instead of right after the previous one.
_GAP = 0.12


@dataclass
class Recording:
    """What one subscription to one track delivered: (arrival time, float32 mono samples)."""

    track_name: str
    participant: str
    rate: int
    frames: list[tuple[float, np.ndarray]] = field(default_factory=list)
    ended: bool = False
    track_sid: str = ""  # two publications of one name (a track replaced) differ here

    @property
    def seconds(self) -> float:
        return sum(len(f) for _, f in self.frames) / self.rate

    def audio(self) -> np.ndarray:
        """Every sample received, back to back."""
        if not self.frames:
            return np.zeros(0, np.float32)
        return np.concatenate([f for _, f in self.frames])

    def sample_times(self) -> np.ndarray:
        """When each sample of `audio()` arrived: its frame's arrival time, minus the samples
        after it in that frame."""
        if not self.frames:
            return np.zeros(0)
        return np.concatenate(
            [t - (len(f) - 1 - np.arange(len(f))) / self.rate for t, f in self.frames]
        )

    def between(self, t0: float, t1: float) -> np.ndarray:
        """The samples of frames that arrived in [t0, t1) (monotonic clock)."""
        parts = [f for t, f in self.frames if t0 <= t < t1]
        return np.concatenate(parts) if parts else np.zeros(0, np.float32)

    def placed(self) -> list[tuple[float, np.ndarray]]:
        """Runs of contiguous audio with the time their first sample arrived.

        Within a run the samples follow each other (network jitter does not stretch them);
        a pause longer than 120 ms starts a new run at its own arrival time.
        """
        runs: list[tuple[float, list[np.ndarray]]] = []
        end = -1e9
        for t, f in self.frames:
            start = t - len(f) / self.rate
            if not runs or start - end > _GAP:
                runs.append((start, [f]))
                end = t
            else:
                runs[-1][1].append(f)
                end += len(f) / self.rate
        return [(t, np.concatenate(fs)) for t, fs in runs]

    def on_timeline(self, t0: float, seconds: float) -> np.ndarray:
        """The recording as float32 mono of ``seconds`` starting at monotonic time ``t0``."""
        return mix_on_timeline([self], t0, seconds, self.rate)


def mix_on_timeline(
    recordings: Iterable[Recording], t0: float, seconds: float, rate: int
) -> np.ndarray:
    """Sum ``recordings`` on one timeline starting at ``t0``: what a listener heard."""
    out = np.zeros(max(int(seconds * rate), 0), np.float32)
    for rec in recordings:
        for start, x in rec.placed():
            i = round((start - t0) * rate)
            a, b = max(i, 0), min(i + len(x), len(out))
            if a < b:
                out[a:b] += x[a - i : b - i]
    return out


async def record_source(source: rtc.AudioSource, rec: Recording) -> None:
    """Record into ``rec`` what ``source`` hands to WebRTC, frame by frame as it goes out
    (a local track on the same source; silence included). Runs until cancelled."""
    track = rtc.LocalAudioTrack.create_audio_track("tap", source)
    stream = rtc.AudioStream.from_track(track=track, sample_rate=rec.rate, num_channels=1)
    try:
        async for ev in stream:
            pcm = np.frombuffer(ev.frame.data, dtype=np.int16).astype(np.float32) / 32768
            rec.frames.append((time.monotonic(), pcm))
    finally:
        with contextlib.suppress(Exception):
            await stream.aclose()


class Caller:
    """Joins a room, subscribes to every audio track and records it (see `Recording`)."""

    def __init__(self, *, rate: int = 48000, identity: str = "caller") -> None:
        self.rate = rate
        self.identity = identity
        self.room = rtc.Room()
        self.recordings: list[Recording] = []
        self.unpublished: list[tuple[float, str]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._changed = asyncio.Event()
        self.room.on("track_subscribed", self._on_subscribed)
        self.room.on("track_unpublished", self._on_unpublished)

    async def join(self, url: str, token: str) -> None:
        await self.room.connect(url, token, rtc.RoomOptions(auto_subscribe=True))

    def _on_subscribed(
        self, track: rtc.Track, pub: rtc.RemoteTrackPublication, who: rtc.RemoteParticipant
    ) -> None:
        if track.kind != rtc.TrackKind.KIND_AUDIO:
            return
        rec = Recording(pub.name, who.identity, self.rate, track_sid=pub.sid)
        self.recordings.append(rec)
        stream = rtc.AudioStream.from_track(track=track, sample_rate=self.rate, num_channels=1)
        task = asyncio.ensure_future(self._record(stream, rec))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        self._changed.set()

    def _on_unpublished(self, pub: rtc.RemoteTrackPublication, who: rtc.RemoteParticipant) -> None:
        self.unpublished.append((time.monotonic(), pub.name))
        self._changed.set()

    async def _record(self, stream: rtc.AudioStream, rec: Recording) -> None:
        try:
            async for ev in stream:
                pcm = np.frombuffer(ev.frame.data, dtype=np.int16).astype(np.float32) / 32768
                rec.frames.append((time.monotonic(), pcm))
        finally:
            rec.ended = True
            with contextlib.suppress(Exception):
                await stream.aclose()

    def tracks(self, name: str) -> list[Recording]:
        """Every subscription to tracks called ``name``, oldest first."""
        return [r for r in self.recordings if r.track_name == name]

    async def wait_for(self, cond: object, timeout: float = 10.0) -> None:
        """Wait until ``cond()`` is true, re-checking on every subscription/unpublish/second."""
        assert callable(cond)
        deadline = time.monotonic() + timeout
        while not cond():
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("caller: condition not met in time")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout=min(left, 0.05))

    async def wait_track(self, name: str, timeout: float = 10.0) -> Recording:
        """The newest recording of track ``name`` once it has received its first frame."""
        await self.wait_for(lambda: any(r.frames for r in self.tracks(name)), timeout)
        return [r for r in self.tracks(name) if r.frames][-1]

    async def aclose(self) -> None:
        with contextlib.suppress(Exception):
            await self.room.disconnect()
        for t in list(self._tasks):
            t.cancel()
        for t in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
