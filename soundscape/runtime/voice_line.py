"""`VoiceLine`: the agent's speech on the deck's clock, in one-track mode.

Each frame the session captures is placed where the last one ends, or, when the voice had
run out (the first frame of a speech, a TTS slower than real time), at the first sample that
can still be changed. Such a run *floats* until the driver first pushes audio holding it:
if that push starts later than planned (the loop was late), the run moves there rather than
lose its beginning. The driver adds the line to every block it pushes. Samples are kept as
the int16 the session gave, so with a silent scene the track carries exactly those.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Segment:
    """One playback segment of the session (captures up to a flush or a clear)."""

    number: int
    placed: int = 0  # samples placed on the line (held ones while paused excluded)
    removed: int = 0  # samples placed, then taken back by a clear or a pause
    first: int | None = None  # deck sample of its first sample, once placed
    heard_forgotten: int = 0  # samples already heard and dropped from the line
    flushed: bool = False
    done: bool = False


@dataclass
class _Chunk:
    start: int
    pcm: np.ndarray  # int16 (n, channels)
    segment: Segment
    run: int
    counts: bool = True  # False: the faded tail of a cut, heard again (or never) after it

    @property
    def end(self) -> int:
        return self.start + self.pcm.shape[0]


@dataclass
class VoiceLine:
    channels: int
    chunks: list[_Chunk] = field(default_factory=list)
    _run: int = 0
    _floating: int | None = None  # the run that may still move, if any
    _broken: bool = False  # the next frame starts a new run (after a clear or a pause)

    @property
    def end(self) -> int:
        """The deck sample after the last voice sample (0 with no voice)."""
        return self.chunks[-1].end if self.chunks else 0

    def end_if_anchored(self, at: int) -> int:
        """`end` once a splice at ``at`` has moved a floating run that starts before it."""
        if self._floating is None or not self.chunks or self.chunks[-1].run != self._floating:
            return self.end
        first = next(c for c in self.chunks if c.run == self._floating)
        return self.end + max(at - first.start, 0)

    def place(
        self,
        pcm: np.ndarray,
        *,
        earliest: int,
        segment: Segment,
        pushed: int | None = None,
        append_within: int = 0,
    ) -> int:
        """Put ``pcm`` (int16, (n, channels)) on the line; returns its first deck sample.

        ``pushed``: the end of what the track has queued. A frame that lands in it right
        after the last one is only heard once a splice puts it there, and a splice lands at
        the sample playing *then*: such a frame floats too, so a late splice delays it
        rather than cut its beginning (a TTS keeping pace with real time does this).
        A frame that would land less than ``append_within`` before ``pushed`` is put right at
        ``pushed`` instead: appended, no splice, for a wait of at most that.
        """
        last = self.chunks[-1] if self.chunks else None
        if (
            last is not None
            and not self._broken
            and (
                # A run still floating was never pushed: what follows it joins it and moves
                # with it (else a loop that stalled after its first frame left that frame
                # stranded in the past: never heard, yet counted as heard).
                last.end >= earliest or last.run == self._floating
            )
        ):
            start, run = last.end, last.run
            if run == self._floating:
                pass  # it moves with the run it follows
            elif pushed is not None and 0 < pushed - start <= append_within:
                self._run += 1
                start, run = pushed, self._run
            elif pushed is not None and start < pushed and run != self._floating:
                self._run += 1
                run = self._floating = self._run
        else:
            self._run += 1
            start, run = earliest, self._run
            self._broken = False
            if pushed is not None and 0 < pushed - start <= append_within:
                start = pushed
            else:
                self._floating = run
        self.chunks.append(_Chunk(start, pcm, segment, run))
        segment.placed += pcm.shape[0]
        if segment.first is None:
            segment.first = start
        return start

    def anchor(self, at: int, n: int) -> None:
        """Audio ``at .. at+n`` is about to be pushed: a floating run that would start
        before ``at`` starts there (its beginning is not lost), and one pushed now stays."""
        run = self._floating
        if run is None:
            return
        mine = [c for c in self.chunks if c.run == run]
        if not mine:
            self._floating = None
            return
        if mine[0].start < at:
            shift = at - mine[0].start
            for c in mine:
                if c.segment.first == c.start:
                    c.segment.first = c.start + shift
                c.start += shift
        if mine[0].start < at + n:
            self._floating = None

    def cut(self, at: int, fade: int, segments: list[Segment]) -> list[tuple[Segment, np.ndarray]]:
        """Take back ``segments``' voice from deck sample ``at`` on (faded out over ``fade``
        samples from there: no click); returns what was taken, unfaded, in order."""
        kept: list[_Chunk] = []
        taken: list[tuple[Segment, np.ndarray]] = []
        for c in self.chunks:
            if c.end <= at or not any(c.segment is seg for seg in segments):
                kept.append(c)
                continue
            i = max(at - c.start, 0)
            taken.append((c.segment, c.pcm[i:]))
            j = min(max(at + fade - c.start, 0), c.pcm.shape[0])
            if j > 0:
                k = np.arange(c.start, c.start + j)
                w = np.clip(1.0 - (k - at) / max(fade, 1), 0.0, 1.0)[:, None]
                head = np.rint(c.pcm[:j].astype(np.float32) * w).astype(np.int16)
                if i > 0:
                    kept.append(_Chunk(c.start, head[:i], c.segment, c.run, c.counts))
                kept.append(_Chunk(at if i > 0 else c.start, head[i:], c.segment, c.run, False))
            c.segment.removed += c.pcm.shape[0] - i
        self.chunks = kept
        if self._floating is not None and not any(c.run == self._floating for c in kept):
            self._floating = None
        return taken

    def break_run(self) -> None:
        """The next frame starts a run of its own (not after what is on the line now)."""
        self._run += 1
        self._broken = True

    def heard(self, segment: Segment, playing: int) -> int:
        """Samples of ``segment`` heard before deck sample ``playing``."""
        n = segment.heard_forgotten
        for c in self.chunks:
            if c.segment is segment and c.counts and c.start < playing:
                n += min(playing, c.end) - c.start
        return n

    def last_sample(self, segment: Segment) -> int | None:
        """The deck sample after ``segment``'s last sample on the line (None: none left)."""
        ends = [c.end for c in self.chunks if c.segment is segment]
        return max(ends) if ends else None

    def forget_before(self, at: int) -> None:
        """Drop chunks wholly before ``at`` (heard, and never to be pushed again)."""
        i = 0
        while i < len(self.chunks) and self.chunks[i].end <= at:
            c = self.chunks[i]
            if c.counts:
                c.segment.heard_forgotten += c.pcm.shape[0]
            i += 1
        if i:
            del self.chunks[:i]

    def mix(self, start: int, scene: np.ndarray) -> np.ndarray:
        """``scene`` (float32 (n, channels), deck samples from ``start``) as int16 with the
        voice added, saturating. Where the scene is silent the voice's samples are exact."""
        pcm = np.clip(scene * 32767.0, -32768.0, 32767.0).astype(np.int16)
        n = scene.shape[0]
        end = start + n
        acc: np.ndarray | None = None
        for c in self.chunks:
            if c.end <= start or c.start >= end:
                continue
            if acc is None:
                acc = pcm.astype(np.int32)
            a, b = max(c.start, start), min(c.end, end)
            acc[a - start : b - start] += c.pcm[a - c.start : b - c.start]
        if acc is None:
            return pcm
        return np.clip(acc, -32768, 32767).astype(np.int16)

    def key(self, start: int, n: int) -> np.ndarray | None:
        """The voice over deck samples ``start .. start+n`` as float32 mono (None: silent)."""
        out: np.ndarray | None = None
        end = start + n
        for c in self.chunks:
            if c.end <= start or c.start >= end:
                continue
            if out is None:
                out = np.zeros(n, np.float32)
            a, b = max(c.start, start), min(c.end, end)
            part = c.pcm[a - c.start : b - c.start].astype(np.float32)
            out[a - start : b - start] += part.mean(axis=1) / 32768.0
        return out
