"""`StreamSource`: a voice source fed from outside (decoded frames of an async iterator)."""

from __future__ import annotations

from collections import deque

import numpy as np


class StreamSource:
    """Frames pushed by the caller, read by one voice; silence (counted) when starved.

    Reads are by absolute frame index so an engine restored to an earlier snapshot can
    read the same frames again: the last ``keep`` frames behind the newest read are
    retained for that, everything older is dropped (memory stays bounded).

    A *gate* (`gate`) holds frames back until a given engine sample: a live driver that
    already played a starved stream's silence resumes it at its next splice, so a render
    from an older snapshot reads those frames as missing up to there, exactly as the audio
    already heard did (no frame is played twice or skipped).
    """

    def __init__(self, channels: int, *, keep: int = 48000 * 5) -> None:
        self.channels = channels
        self.keep = keep
        self._chunks: deque[tuple[int, np.ndarray]] = deque()  # (first frame index, data)
        self._base = 0  # index of the first retained frame
        self._pushed = 0  # frames pushed so far
        self._ended = False
        self.starved_frames = 0
        self._max_read = 0
        self._hole: int | None = None  # the first frame a read wanted before it was pushed
        self._gates: list[tuple[int, int]] = []  # (first frame, engine sample it is readable)

    def push(self, frames: np.ndarray) -> None:
        """Append float32 frames of shape (n, channels) (mono 1-D accepted)."""
        a = np.asarray(frames, dtype=np.float32)
        if a.ndim == 1:
            a = a[:, None]
        if a.shape[1] != self.channels:
            if self.channels == 1:
                a = a.mean(axis=1, keepdims=True)
            else:
                a = np.repeat(a[:, :1], self.channels, axis=1)
        if not np.isfinite(a).all():
            # One NaN from a broken decoder would poison the whole mix and the limiter.
            a = np.nan_to_num(a, nan=0.0, posinf=1.0, neginf=-1.0)
        if a.shape[0]:
            self._chunks.append((self._pushed, a))
            self._pushed += a.shape[0]

    def end(self) -> None:
        """No more frames will come: the voice ends once it has played what was pushed."""
        self._ended = True

    @property
    def ended(self) -> bool:
        return self._ended

    def finished_at(self, index: int) -> bool:
        """True when a reader at ``index`` has nothing more to play, ever."""
        return self._ended and index >= self._pushed

    @property
    def pushed(self) -> int:
        """Frames pushed so far."""
        return self._pushed

    @property
    def fillable(self) -> bool:
        """Frames arrived that a read found missing: rendering that part again would play them."""
        return self._hole is not None and self._pushed > self._hole

    def refilled(self) -> None:
        """The part read as missing is about to be rendered again (forget the hole)."""
        self._hole = None

    def gate(self, index: int, at: int) -> None:
        """Frames from ``index`` on are readable only at engine samples ``>= at`` (a later
        gate at the same frame replaces it: a driver deciding its splice again)."""
        self._gates = [g for g in self._gates if g[0] < index]
        self._gates.append((index, at))

    def held(self, index: int, t: int) -> tuple[int, int] | None:
        """The gate a reader at frame ``index`` and engine sample ``t`` waits at, if any:
        (its first frame, the sample from which it is readable)."""
        for g in self._gates:
            if g[0] >= index and g[1] > t:
                return g
        return None

    def read(self, index: int, n: int, *, want: int | None = None) -> np.ndarray:
        """Frames ``index .. index+n-1`` padded with silence to ``want`` frames.

        Frames not pushed yet (or already dropped) read as silence; the shortfall
        against ``want`` is counted in `starved_frames` while the stream is open.
        """
        want = n if want is None else want
        out = np.zeros((want, self.channels), dtype=np.float32)
        end = index + n
        for first, data in self._chunks:
            last = first + data.shape[0]
            if last <= index:
                continue
            if first >= end:
                break
            a, b = max(first, index), min(last, end)
            out[a - index : b - index] = data[a - first : b - first]
        have = max(0, min(self._pushed, end) - index)
        if have < want and not self._ended:
            self.starved_frames += want - have
            hole = index + have
            self._hole = hole if self._hole is None else min(self._hole, hole)
        self._max_read = max(self._max_read, end)
        self._trim()
        return out

    def _trim(self) -> None:
        horizon = self._max_read - self.keep
        while self._chunks and self._chunks[0][0] + self._chunks[0][1].shape[0] <= horizon:
            first, data = self._chunks.popleft()
            self._base = first + data.shape[0]
        if self._gates and self._gates[0][0] < horizon:
            self._gates = [g for g in self._gates if g[0] >= horizon]
