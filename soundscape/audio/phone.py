"""What a caller on a telephone line hears: 8 kHz, the 300–3400 Hz band, G.711 companding.

`phone_line` turns a render into the narrowband signal a PSTN call carries:
mono, resampled to 8 kHz (PyAV's resampler, which filters against aliasing),
band-limited to the telephone band with a linear-phase FIR (edges at -6 dB,
no delay: the filter is applied centred), then encoded to 8-bit G.711 codes and
decoded back (μ-law as in North America and Japan, A-law elsewhere). The codecs
are the bit-exact G.711 segment tables, vectorised.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

PHONE_RATE = 8000
BAND = (300.0, 3400.0)
"""The telephone band (ITU-T G.712), Hz."""
TAPS = 513
"""FIR length at 8 kHz: a ~90 Hz wide transition (Blackman window), 64 ms centred."""

Law = Literal["mulaw", "alaw"]

_U_END = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF])
_A_END = np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF])
_U_BIAS = 0x84
_U_CLIP = 8159


@dataclass(frozen=True)
class PhoneAudio:
    """A signal as heard on the line, and how much of the input's energy survived the band."""

    audio: np.ndarray
    """float32 (frames, 1) at `rate`."""
    rate: int
    law: Law
    kept: float
    """Share of the input's audible energy (above 20 Hz) inside the telephone band, 0..1."""


def _pcm16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x * 32768.0), -32768, 32767).astype(np.int32)


def mulaw_encode(x: np.ndarray) -> np.ndarray:
    """Float samples (±1 = full scale) → G.711 μ-law codes (uint8)."""
    pcm = _pcm16(np.asarray(x, np.float64)) >> 2  # 14-bit
    mask = np.where(pcm < 0, 0x7F, 0xFF)
    mag = np.minimum(np.abs(pcm), _U_CLIP) + (_U_BIAS >> 2)
    seg = np.searchsorted(_U_END, mag)  # first segment whose end >= mag
    code = np.where(seg >= 8, 0x7F, (np.minimum(seg, 7) << 4) | ((mag >> (seg + 1)) & 0x0F))
    return ((code ^ mask) & 0xFF).astype(np.uint8)


def mulaw_decode(codes: np.ndarray) -> np.ndarray:
    """G.711 μ-law codes → float32 samples."""
    u = ~np.asarray(codes, np.int32) & 0xFF
    t = (((u & 0x0F) << 3) + _U_BIAS) << ((u & 0x70) >> 4)
    pcm = np.where(u & 0x80, _U_BIAS - t, t - _U_BIAS)
    return (pcm / 32768.0).astype(np.float32)


def alaw_encode(x: np.ndarray) -> np.ndarray:
    """Float samples → G.711 A-law codes (uint8)."""
    pcm = _pcm16(np.asarray(x, np.float64)) >> 3  # 13-bit
    neg = pcm < 0
    mask = np.where(neg, 0x55, 0xD5)
    mag = np.where(neg, -pcm - 1, pcm)
    seg = np.searchsorted(_A_END, mag)
    low = np.where(seg < 2, (mag >> 1) & 0x0F, (mag >> np.maximum(seg, 1)) & 0x0F)
    code = np.where(seg >= 8, 0x7F, (np.minimum(seg, 7) << 4) | low)
    return ((code ^ mask) & 0xFF).astype(np.uint8)


def alaw_decode(codes: np.ndarray) -> np.ndarray:
    """G.711 A-law codes → float32 samples."""
    a = np.asarray(codes, np.int32) ^ 0x55
    t = (a & 0x0F) << 4
    seg = (a & 0x70) >> 4
    t = np.where(seg == 0, t + 8, (t + 0x108) << np.maximum(seg - 1, 0))
    pcm = np.where(a & 0x80, t, -t)
    return (pcm / 32768.0).astype(np.float32)


def companding(x: np.ndarray, law: Law = "mulaw") -> np.ndarray:
    """Encode to 8-bit G.711 and decode back: the line's quantisation, nothing else."""
    if law == "mulaw":
        return mulaw_decode(mulaw_encode(x))
    if law == "alaw":
        return alaw_decode(alaw_encode(x))
    raise ValueError(f"law must be 'mulaw' or 'alaw', got {law!r}")


def band_filter(rate: int = PHONE_RATE, taps: int = TAPS) -> np.ndarray:
    """A linear-phase band-pass FIR for `BAND` at ``rate`` (odd length, unity passband)."""
    n = np.arange(taps) - (taps - 1) / 2
    lo, hi = (f / rate for f in BAND)
    h = 2 * hi * np.sinc(2 * hi * n) - 2 * lo * np.sinc(2 * lo * n)
    h *= np.blackman(taps)
    # Unity gain at the band's geometric centre.
    centre = np.sqrt(BAND[0] * BAND[1]) / rate
    h /= abs(np.sum(h * np.exp(-2j * np.pi * centre * np.arange(taps))))
    return h


def _convolve_same(x: np.ndarray, h: np.ndarray, block: int = 1 << 16) -> np.ndarray:
    """``np.convolve(x, h, 'same')`` by FFT overlap-add, in bounded memory."""
    m = h.shape[0]
    nfft = 1 << int(np.ceil(np.log2(block + m - 1)))
    hf = np.fft.rfft(h, nfft)
    full = np.zeros(x.shape[0] + m - 1)
    for a in range(0, x.shape[0], block):
        seg = x[a : a + block]
        y = np.fft.irfft(np.fft.rfft(seg, nfft) * hf, nfft)[: seg.shape[0] + m - 1]
        full[a : a + y.shape[0]] += y
    d = (m - 1) // 2
    return full[d : d + x.shape[0]]


def resample(x: np.ndarray, rate: int, to: int) -> np.ndarray:
    """Mono float → mono float at ``to`` Hz (PyAV/libswresample; same start, length scaled)."""
    if rate == to:
        return np.asarray(x, np.float32)
    import av  # local: only rendering needs PyAV

    r = av.AudioResampler(format="flt", layout="mono", rate=to)
    frame = av.AudioFrame.from_ndarray(
        np.ascontiguousarray(x, np.float32)[None, :], format="flt", layout="mono"
    )
    frame.sample_rate = rate
    parts = [*r.resample(frame), *r.resample(None)]
    if not parts:
        return np.zeros(0, np.float32)
    return np.concatenate([p.to_ndarray().reshape(-1) for p in parts]).astype(np.float32)


def band_share(x: np.ndarray, rate: int, *, window: int = 8192) -> float:
    """Share of a signal's energy above 20 Hz that lies in the telephone band (0..1).

    Averaged periodograms (Hann windows); 1.0 for silence (nothing is lost).
    """
    x = np.asarray(x, np.float64)
    if x.ndim == 2:
        x = x.mean(axis=1)
    n = min(window, max(256, x.shape[0]))
    k = max(1, x.shape[0] // n)
    frames = np.zeros((k, n))
    seg = x[: k * n]
    frames.reshape(-1)[: seg.shape[0]] = seg
    power = (np.abs(np.fft.rfft(frames * np.hanning(n), axis=1)) ** 2).sum(axis=0)
    f = np.fft.rfftfreq(n, 1.0 / rate)
    audible = power[f >= 20.0].sum()
    if audible <= 0:
        return 1.0
    return float(power[(f >= BAND[0]) & (f <= BAND[1])].sum() / audible)


def phone_line(audio: np.ndarray, rate: int, law: Law = "mulaw") -> PhoneAudio:
    """``audio`` (frames, channels) at ``rate`` → what the caller hears, at 8 kHz mono."""
    x = np.asarray(audio, np.float32)
    mono = x.mean(axis=1) if x.ndim == 2 else x
    kept = band_share(mono, rate)
    narrow = resample(mono, rate, PHONE_RATE).astype(np.float64)
    banded = _convolve_same(narrow, band_filter()) if narrow.size else narrow
    line = companding(banded, law)
    return PhoneAudio(line[:, None], PHONE_RATE, law, kept)
