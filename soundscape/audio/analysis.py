"""Measurements of rendered audio: peak, short-term level, integrated loudness (BS.1770).

Used by `soundscape render`'s summary and plot, and by tests that assert on audio.
Everything is vectorised numpy; the K-weighting is applied in the frequency domain,
which is exact for energy measurement and avoids a per-sample Python loop.
"""

from __future__ import annotations

import math

import numpy as np

SILENCE_DB = -120.0


def to_db(x: float) -> float:
    return 20.0 * math.log10(x) if x > 0 else SILENCE_DB


def peak_dbfs(audio: np.ndarray) -> float:
    """Sample peak in dBFS (0 dBFS = 1.0)."""
    return to_db(float(np.max(np.abs(audio)))) if audio.size else SILENCE_DB


def rms_dbfs(audio: np.ndarray) -> float:
    return (
        to_db(float(np.sqrt(np.mean(np.square(audio, dtype=np.float64)))))
        if audio.size
        else SILENCE_DB
    )


def level_curve(
    audio: np.ndarray, rate: int, window: float = 0.05
) -> tuple[np.ndarray, np.ndarray]:
    """(times, RMS dBFS) per ``window`` seconds, channels summed in power."""
    mono = np.mean(np.square(audio.reshape(audio.shape[0], -1), dtype=np.float64), axis=1)
    n = max(1, int(window * rate))
    frames = mono.shape[0] // n
    if frames == 0:
        return np.zeros(0), np.zeros(0)
    power = mono[: frames * n].reshape(frames, n).mean(axis=1)
    with np.errstate(divide="ignore"):
        db = np.where(power > 0, 10.0 * np.log10(np.maximum(power, 1e-30)), SILENCE_DB)
    return (np.arange(frames) + 0.5) * n / rate, db


def _biquad_response(
    b: tuple[float, float, float], a: tuple[float, float, float], w: np.ndarray
) -> np.ndarray:
    z = np.exp(-1j * w)
    return (b[0] + b[1] * z + b[2] * z * z) / (a[0] + a[1] * z + a[2] * z * z)


def k_weighting(rate: int, nfft: int) -> np.ndarray:
    """Frequency response of BS.1770's K-weighting, designed for ``rate``.

    The design (Mansbridge et al.) reproduces the standard's published 48 kHz
    coefficients exactly and gives the same filters at other rates.
    """
    w = 2.0 * np.pi * np.fft.rfftfreq(nfft, 1.0 / rate) / rate
    # Stage 1: high shelf, +4 dB above ~1.7 kHz (the head's acoustic effect).
    f0, gain_db, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = math.tan(math.pi * f0 / rate)
    vh = 10.0 ** (gain_db / 20.0)
    vb = vh**0.4996667741545416
    a0 = 1.0 + k / q + k * k
    shelf = _biquad_response(
        ((vh + vb * k / q + k * k) / a0, 2.0 * (k * k - vh) / a0, (vh - vb * k / q + k * k) / a0),
        (1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0),
        w,
    )
    # Stage 2: the RLB high-pass around 38 Hz.
    f0, q = 38.13547087602444, 0.5003270373238773
    k = math.tan(math.pi * f0 / rate)
    a0 = 1.0 + k / q + k * k
    hp = _biquad_response(
        (1.0, -2.0, 1.0), (1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0), w
    )
    return np.asarray(shelf * hp)


def integrated_loudness(audio: np.ndarray, rate: int) -> float:
    """Integrated loudness in LUFS (ITU-R BS.1770-4 gating); -120 for silence or < 400 ms."""
    x = audio.reshape(audio.shape[0], -1).astype(np.float64)
    n = x.shape[0]
    block, hop = int(0.4 * rate), int(0.1 * rate)
    if n < block:
        return SILENCE_DB
    nfft = 1 << (n + rate // 10 - 1).bit_length()
    k = k_weighting(rate, nfft)
    y = np.fft.irfft(np.fft.rfft(x, nfft, axis=0) * k[:, None], nfft, axis=0)[:n]
    power = np.square(y).sum(axis=1)  # channel weights are 1 for mono and L/R
    csum = np.concatenate(([0.0], np.cumsum(power)))
    starts = np.arange(0, n - block + 1, hop)
    z = (csum[starts + block] - csum[starts]) / block
    with np.errstate(divide="ignore"):
        lj = -0.691 + 10.0 * np.log10(np.maximum(z, 1e-30))
    z = z[lj > -70.0]
    if z.size == 0:
        return SILENCE_DB
    rel = -0.691 + 10.0 * math.log10(float(z.mean())) - 10.0
    with np.errstate(divide="ignore"):
        gated = z[-0.691 + 10.0 * np.log10(np.maximum(z, 1e-30)) > rel]
    if gated.size == 0:
        return SILENCE_DB
    return -0.691 + 10.0 * math.log10(float(gated.mean()))
