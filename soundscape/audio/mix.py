"""Channel up/down-mixing from any source layout to the engine's mono or stereo.

FFmpeg's own rematrixing adds +3 dB when folding stereo to mono and takes 3 dB off when
spreading mono to stereo (for float output it does not normalise). A scene author expects a
clip to play at the level it was mastered at whatever the track's channel count, so we mix
ourselves: every output channel is a weighted *average* of the inputs (its weights sum to 1).
A sound present equally in every full-range channel keeps its level, and nothing can clip.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_S = 0.7071067811865476  # -3 dB: centre and surrounds into the front pair (ITU-R BS.775)

# Channel name (FFmpeg's abbreviation) → (weight into left, weight into right).
_WEIGHTS: dict[str, tuple[float, float]] = {
    "FL": (1.0, 0.0),
    "FR": (0.0, 1.0),
    "FLC": (1.0, 0.0),
    "FRC": (0.0, 1.0),
    "WL": (1.0, 0.0),
    "WR": (0.0, 1.0),
    "FC": (_S, _S),
    "BC": (_S, _S),
    "TC": (_S, _S),
    "TFC": (_S, _S),
    "TBC": (_S, _S),
    "BFC": (_S, _S),
    "LFE": (0.0, 0.0),  # dropped, as in every standard downmix
    "LFE2": (0.0, 0.0),
}
for _name in ("BL", "SL", "TFL", "TBL", "TSL", "SDL", "BFL", "TTL", "DL", "LFE3"):
    _WEIGHTS[_name] = (_S, 0.0)
for _name in ("BR", "SR", "TFR", "TBR", "TSR", "SDR", "BFR", "TTR", "DR"):
    _WEIGHTS[_name] = (0.0, _S)


def mix_matrix(names: Sequence[str], channels: int) -> np.ndarray | None:
    """The (in, out) matrix taking channels called ``names`` to ``channels`` (1 or 2).

    ``None`` means the identity (mono → mono, stereo → stereo): no arithmetic, bit-exact.
    Channels without a known position (a WAV without a channel mask) count as front left
    and right when there are two of them and as centre otherwise.
    """
    if channels not in (1, 2):
        raise ValueError(f"channels must be 1 or 2, got {channels}")
    n = len(names)
    known = [_WEIGHTS.get(name) for name in names]
    if any(w is None for w in known):
        if n == 2:
            known = [(1.0, 0.0), (0.0, 1.0)]
        else:
            known = [w if w is not None else (_S, _S) for w in known]
    if n == 1:
        known = [(1.0, 1.0)]
    pairs = np.array(known, dtype=np.float64).reshape(n, 2)
    if n == 2 and channels == 2 and np.array_equal(pairs, np.eye(2)):
        return None
    if n == 1 and channels == 1:
        return None
    sums = pairs.sum(axis=0)
    if np.any(sums == 0):  # e.g. a file holding only an LFE channel: keep it rather than mute
        pairs = np.ones((n, 2))
        sums = pairs.sum(axis=0)
    stereo = pairs / sums  # each output column averages its inputs
    out = stereo if channels == 2 else stereo.mean(axis=1, keepdims=True)
    return out.astype(np.float32)


def apply(block: np.ndarray, matrix: np.ndarray | None) -> np.ndarray:
    """Mix a (frames, in) float32 block with ``mix_matrix``'s result."""
    if matrix is None:
        return block
    return np.ascontiguousarray(block @ matrix, dtype=np.float32)
