"""Loudness (ITU-R BS.1770 / EBU R128) of clips, once, and of a live voice, as it plays.

`clip_loudness` is what a `level:` target normalises to: the integrated loudness of the
samples a voice reads (the decoded, trimmed clip; a loop's crossfaded buffer). Clips shorter
than one 400 ms gating block, which BS.1770 cannot gate, are measured as one block over
their length, so a 120 ms click gets the loudness an ear gives it rather than silence.
`measured` keeps each result beside the decoded-clip cache (`audio.facts`), so a clip is
measured once per machine, not once per job.

`VoiceMeter` follows the agent's speech: K-weighted power per 100 ms hop, averaged over
the last 3 s of *speech* (hops quieter than the silence gate or far below the running
estimate are pauses, not a quieter voice), as EBU R128's short-term loudness is over 3 s.

`loop_loudness_range` is how much a looping bed's short-term loudness moves (EBU Tech 3342's
loudness range, taken around the loop): what `soundscape lint` calls pumping (SC704).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from pathlib import Path

import numpy as np

from . import facts
from .analysis import SILENCE_DB, integrated_loudness, k_weighting

GATE_LUFS = -70.0
"""BS.1770's absolute gate: anything quieter is silence."""


def _block_lufs(x: np.ndarray, rate: int) -> float:
    n = x.shape[0]
    nfft = 1 << (n + rate // 10 - 1).bit_length()
    k = k_weighting(rate, nfft)
    y = np.fft.irfft(np.fft.rfft(x, nfft, axis=0) * k[:, None], nfft, axis=0)[:n]
    z = float(np.square(y).sum(axis=1).mean())
    return -0.691 + 10.0 * math.log10(z) if z > 0 else SILENCE_DB


def clip_loudness(samples: np.ndarray, rate: int) -> float:
    """Integrated loudness of ``samples`` ((frames, channels) float) in LUFS.

    Silence, and anything under the -70 LUFS gate, gives `SILENCE_DB` (-120).
    """
    x = np.asarray(samples, dtype=np.float64).reshape(samples.shape[0], -1)
    if x.shape[0] == 0:
        return SILENCE_DB
    if x.shape[0] < int(0.4 * rate):
        got = _block_lufs(x, rate)
        return got if got > GATE_LUFS else SILENCE_DB
    return integrated_loudness(x, rate)


def measured(
    file: Path | None,
    kind: str,
    trim: tuple[float, float | None],
    samples: Callable[[], np.ndarray],
    rate: int,
) -> float:
    """`clip_loudness` of ``samples()``, kept on disk under ``file``'s identity and ``kind``
    (which must name everything else that changes the samples: rate, channels, loop seam).

    ``file`` None (samples that do not come from a file as decoded) is measured every time.
    """
    if file is not None:
        got = facts.load(file, kind, trim)
        if isinstance(got, int | float) and not isinstance(got, bool):
            return float(got)
    value = clip_loudness(samples(), rate)
    if file is not None:
        facts.store(file, kind, trim, value)
    return value


HOP_SECONDS = 0.1
WINDOW_HOPS = 30
"""3 s of speech: EBU R128's short-term window."""
MIN_HOPS = 10
"""1 s of speech before the first estimate: a first syllable says little about a voice."""
PAUSE_LU = 20.0
"""A hop this far under the running estimate is a pause between words, not the voice."""


class VoiceMeter:
    """Short-term loudness of a voice fed frame by frame (any frame size, int16 or float).

    `loudness` is None until `MIN_HOPS` of speech have been heard. Cheap: one small FFT per
    100 ms of speech, no allocation per frame beyond the hop buffer.
    """

    def __init__(self, rate: int, channels: int = 1) -> None:
        self.rate = rate
        self.channels = channels
        self._hop = max(1, round(HOP_SECONDS * rate))
        self._buf = np.zeros((self._hop, channels), dtype=np.float64)
        self._fill = 0
        self._k = k_weighting(rate, self._hop)
        self._powers: deque[float] = deque(maxlen=WINDOW_HOPS)
        self._estimate: float | None = None
        self.updates = 0
        """How many times `loudness` has changed (one per voiced hop)."""

    @property
    def loudness(self) -> float | None:
        return self._estimate

    def push(self, data: np.ndarray) -> bool:
        """Add samples ((frames, channels) or flat interleaved; int16 is scaled to ±1).

        True when the estimate changed.
        """
        x = np.asarray(data)
        scale = 1.0 / 32768.0 if x.dtype == np.int16 else 1.0
        x = x.reshape(-1, self.channels)
        changed = False
        i = 0
        while i < x.shape[0]:
            take = min(self._hop - self._fill, x.shape[0] - i)
            self._buf[self._fill : self._fill + take] = x[i : i + take]
            if scale != 1.0:
                self._buf[self._fill : self._fill + take] *= scale
            self._fill += take
            i += take
            if self._fill == self._hop:
                self._fill = 0
                changed = self._hop_done() or changed
        return changed

    def _hop_done(self) -> bool:
        spec = np.fft.rfft(self._buf, axis=0) * self._k[:, None]
        # Parseval: the K-weighted mean square of the hop, without going back to samples.
        full = np.square(np.abs(spec))
        full[1 : (self._hop + 1) // 2] *= 2.0
        z = float(full.sum()) / (self._hop * self._hop)
        if z <= 0:
            return False
        lufs = -0.691 + 10.0 * math.log10(z)
        if lufs < GATE_LUFS:
            return False
        if self._estimate is not None and lufs < self._estimate - PAUSE_LU:
            return False
        self._powers.append(z)
        if len(self._powers) < MIN_HOPS:
            return False
        self._estimate = -0.691 + 10.0 * math.log10(sum(self._powers) / len(self._powers))
        self.updates += 1
        return True


SHORT_TERM_SECONDS = 3.0
"""EBU R128's short-term window."""
RANGE_GATE_LU = 20.0
"""EBU Tech 3342: short-term values this far under their mean are pauses, not the range."""


def loop_loudness_range(samples: np.ndarray, rate: int) -> tuple[float, float] | None:
    """The (10th, 95th) percentile of the short-term (3 s) loudness of ``samples`` played as
    a loop, in LUFS: EBU Tech 3342's loudness range is their difference.

    The loop wraps: the K-weighting is applied circularly (the filter's steady state on an
    endless loop) and windows run across the seam, as a caller hears them. Short-term values
    are taken every 100 ms, gated at -70 LUFS and 20 LU under their power mean. None when
    the clip is shorter than one window (a 3 s window then always holds the whole loop) or
    silent.
    """
    x = np.asarray(samples, dtype=np.float64).reshape(samples.shape[0], -1)
    n = x.shape[0]
    win, hop = round(SHORT_TERM_SECONDS * rate), round(HOP_SECONDS * rate)
    if n < win:
        return None
    k = k_weighting(rate, n)
    y = np.fft.irfft(np.fft.rfft(x, axis=0) * k[:, None], n, axis=0)
    power = np.square(y).sum(axis=1)
    csum = np.concatenate(([0.0], np.cumsum(np.concatenate([power, power[:win]]))))
    starts = np.arange(0, n, hop)
    z = (csum[starts + win] - csum[starts]) / win
    z = z[z > 10.0 ** ((GATE_LUFS + 0.691) / 10.0)]
    if z.size == 0:
        return None
    z = z[z > float(z.mean()) * 10.0 ** (-RANGE_GATE_LU / 10.0)]
    lufs = -0.691 + 10.0 * np.log10(z)
    low, high = np.percentile(lufs, [10.0, 95.0])
    return float(low), float(high)


__all__ = ["GATE_LUFS", "VoiceMeter", "clip_loudness", "loop_loudness_range", "measured"]
