"""Helpers for tests that assert on audio: levels, onsets, clicks, tones, and synthetic clips.

Every function takes float arrays shaped (frames,) or (frames, channels); multi-channel
input is checked per channel (levels and tone detection use the first channel unless
``channel`` is given). Positions are sample indices.

Typical use::

    out = eng.render(48000)
    assert onset(out) == 4800                       # first non-silent sample
    assert tone_level(out[4800:9600], 1000) > 0.4   # the 1 kHz cue is playing
    assert not clicks(out, material_step=step_bound([(0.5, 1000)]))
"""

from __future__ import annotations

import math
import wave
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

RATE = 48000
CEILING_1DB = 10 ** (-1 / 20)


# --------------------------------------------------------------------- synthetic material


def sine(freq: float, seconds: float, amp: float = 0.5, rate: int = RATE, phase: float = 0.0):
    """A (frames, 1) float32 sine; ``phase`` in radians (π/2 gives a non-zero first sample)."""
    t = np.arange(round(seconds * rate), dtype=np.float64) / rate
    return (amp * np.sin(2 * np.pi * freq * t + phase)).astype(np.float32)[:, None]


def dc(value: float, seconds: float, rate: int = RATE) -> np.ndarray:
    """A constant (frames, 1) clip: the output then *is* the gain envelope × value."""
    return np.full((round(seconds * rate), 1), value, dtype=np.float32)


def write_wav(path: Path, samples: np.ndarray, rate: int = RATE) -> Path:
    """Write float samples in [-1, 1] as 16-bit PCM WAV (stdlib only)."""
    a = np.asarray(samples, dtype=np.float32)
    if a.ndim == 1:
        a = a[:, None]
    pcm = np.clip(np.round(a * 32767), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(a.shape[1])
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return path


def clip_loader(clips: Mapping[str, np.ndarray]) -> Callable[[Path, int, int], np.ndarray]:
    """A `compile_scene(loader=...)` that serves arrays by file name (no files needed)."""

    def load(path: Path, rate: int, channels: int) -> np.ndarray:
        name = Path(path).name
        if name not in clips:
            from soundscape.errors import AssetError

            raise AssetError(str(path), "file not found")
        a = np.asarray(clips[name], dtype=np.float32)
        return a if a.ndim == 2 else a[:, None]

    return load


# ------------------------------------------------------------------------------ levels


def _mono(x: np.ndarray, channel: int = 0) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    return a if a.ndim == 1 else a[:, channel]


def rms(x: np.ndarray, start: int = 0, end: int | None = None, channel: int = 0) -> float:
    """Root-mean-square level of ``x[start:end]``."""
    seg = _mono(x, channel)[start:end]
    return float(np.sqrt(np.mean(seg * seg))) if seg.size else 0.0


def peak(x: np.ndarray, start: int = 0, end: int | None = None) -> float:
    """Largest absolute sample of ``x[start:end]`` over all channels."""
    seg = np.asarray(x)[start:end]
    return float(np.abs(seg).max()) if seg.size else 0.0


def db(value: float) -> float:
    return -math.inf if value <= 0 else 20 * math.log10(value)


def onset(x: np.ndarray, threshold: float = 1e-6, start: int = 0) -> int | None:
    """Index of the first sample (from ``start``) whose magnitude exceeds ``threshold``."""
    a = np.abs(np.asarray(x))
    if a.ndim == 2:
        a = a.max(axis=1)
    hits = np.flatnonzero(a[start:] > threshold)
    return int(hits[0]) + start if hits.size else None


def last_sound(x: np.ndarray, threshold: float = 1e-6) -> int | None:
    """Index of the last sample whose magnitude exceeds ``threshold``."""
    a = np.abs(np.asarray(x))
    if a.ndim == 2:
        a = a.max(axis=1)
    hits = np.flatnonzero(a > threshold)
    return int(hits[-1]) if hits.size else None


# ------------------------------------------------------------------------------ clicks


def step_bound(tones: Iterable[tuple[float, float]], rate: int = RATE) -> float:
    """The largest sample-to-sample step a sum of sines ``(amp, freq)`` can make on its own."""
    return sum(a * 2 * math.sin(math.pi * min(f / rate, 0.5)) for a, f in tones)


def clicks(
    x: np.ndarray,
    *,
    material_step: float | None = None,
    ratio: float = 1.5,
    window: int = 1024,
) -> list[int]:
    """Positions where the signal jumps more than its material allows (first-difference spikes).

    A click is a discontinuity: a step between two samples much larger than the
    material's own steps. ``material_step`` is that material's largest step (see
    `step_bound` for known tones); without it the median of per-window maximum
    steps is used, which suits stationary material. Returns sample indices ``n``
    where ``|x[n] - x[n-1]| > ratio × material_step`` (any channel).
    """
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 1:
        a = a[:, None]
    d = np.abs(np.diff(a, axis=0, prepend=a[:1])).max(axis=1)
    if material_step is None:
        k = max(1, d.size // window)
        per = d[: k * window].reshape(k, -1).max(axis=1) if d.size >= window else d
        material_step = float(np.median(per))
    limit = ratio * material_step + 1e-7
    return [int(i) for i in np.flatnonzero(d > limit)]


# ------------------------------------------------------------------------------- tones


def tone_level(x: np.ndarray, freq: float, rate: int = RATE, channel: int = 0) -> float:
    """Amplitude of the ``freq`` component (a sine of amplitude A reads ≈ A).

    A single-bin DFT (what the Goertzel recursion computes), Hann-windowed so
    neighbouring tones leak little; use windows of ≥ 20 ms for tones 200 Hz apart.
    """
    seg = _mono(x, channel)
    n = seg.size
    if n == 0:
        return 0.0
    w = np.hanning(n) if n > 1 else np.ones(1)
    ph = np.exp(-2j * np.pi * freq * np.arange(n) / rate)
    return float(2 * abs(np.dot(seg * w, ph)) / w.sum())


def tone_track(
    x: np.ndarray, freq: float, window: int, rate: int = RATE, channel: int = 0
) -> np.ndarray:
    """`tone_level` over consecutive windows of ``window`` samples."""
    seg = _mono(x, channel)
    k = seg.size // window
    return np.array([tone_level(seg[i * window : (i + 1) * window], freq, rate) for i in range(k)])


def chi_square(counts: Mapping[Any, int], weights: Mapping[Any, float]) -> float:
    """Pearson's χ² of observed ``counts`` against the distribution ``weights``."""
    total = sum(counts.values())
    wsum = sum(weights.values())
    stat = 0.0
    for key, w in weights.items():
        expected = total * w / wsum
        stat += (counts.get(key, 0) - expected) ** 2 / expected
    return stat


# ------------------------------------------------------------------- engines from YAML


def scene_plan(
    text: str,
    clips: Mapping[str, np.ndarray],
    *,
    rate: int = RATE,
    channels: int = 1,
    levels: str | None = "file",
):
    """Compile scene YAML whose sources are served from ``clips`` (file name → array).

    The engine's mechanics (fades, ducking, limiter, pools) are tested on clips played as
    they are: unless ``levels`` is None, or the scene says otherwise, it gets
    ``levels: {levels}`` (default ``file``), so a 0.5 sine at gain 1 plays at 0.5.
    """
    import re
    import textwrap

    from soundscape.engine import compile_scene
    from soundscape.scene import loads

    text = textwrap.dedent(text)
    if levels is not None and not re.search(r"^levels\s*:", text, re.MULTILINE):
        text = text.rstrip("\n") + f"\nlevels: {levels}\n"
    scene = loads(text, "/virtual/scene.yaml")
    return compile_scene(scene, rate=rate, channels=channels, loader=clip_loader(clips))


def scene_engine(
    text: str,
    clips: Mapping[str, np.ndarray],
    *,
    seed: int = 0,
    rate: int = RATE,
    channels: int = 1,
    events: list | None = None,
    levels: str | None = "file",
):
    """An `Engine` for scene YAML with in-memory clips (played as `scene_plan` says);
    ``events`` collects its EngineEvents."""
    from soundscape.engine import Engine

    plan = scene_plan(text, clips, rate=rate, channels=channels, levels=levels)
    eng = Engine(plan, seed=seed)
    if events is not None:
        eng.on_event = events.append
    return eng
