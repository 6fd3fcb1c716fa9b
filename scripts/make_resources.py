#!/usr/bin/env python3
"""Synthesize soundscape's own sound library into ``resources/`` (FLAC, 48 kHz mono).

Every sample is computed here with numpy from fixed seeds, so we own all of it (Apache-2.0)
and the output is reproducible: running the script again gives identical samples.

    .venv/bin/python scripts/make_resources.py            # writes resources/
    .venv/bin/python scripts/make_resources.py --out DIR  # somewhere else (tests use this)

One-shots start and end on silence through raised-cosine ramps (no clicks) and peak at
-6 dBFS. Beds are built in the frequency domain with an inverse FFT over the whole file, so
the signal is exactly periodic: the last sample runs into the first as smoothly as any two
neighbours inside the file, and the bed loops without a seam.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

RATE = 48_000
ONESHOT_PEAK_DBFS = -6.0
BED_RMS_DBFS = -27.0
BED_SECONDS = 20.0
SEED = 20261122

Signal = np.ndarray  # float64, mono, -1..1


# ---------------------------------------------------------------- building blocks


def _t(seconds: float) -> Signal:
    return np.arange(round(seconds * RATE)) / RATE


def _ramp(n: int) -> Signal:
    """Raised-cosine 0→1 over ``n`` samples: continuous value and slope at both ends."""
    return 0.5 - 0.5 * np.cos(np.pi * np.arange(n) / max(n, 1))


def _edges(x: Signal, attack_s: float, release_s: float) -> Signal:
    """Start from exactly 0 and return to exactly 0 so the clip can never click."""
    a, r = round(attack_s * RATE), round(release_s * RATE)
    y = x.copy()
    y[:a] *= _ramp(a)
    y[len(y) - r :] *= _ramp(r)[::-1]
    y[-1] = 0.0
    return y


def _bell(freq: float, seconds: float, partials: list[tuple[float, float, float]]) -> Signal:
    """Sum of decaying sine partials: (frequency ratio, amplitude, decay time constant s)."""
    t = _t(seconds)
    out = np.zeros_like(t)
    for ratio, amp, tau in partials:
        if freq * ratio < RATE / 2 * 0.9:
            out += amp * np.sin(2 * np.pi * freq * ratio * t) * np.exp(-t / tau)
    return out


def _note(freq: float, seconds: float, harmonics: list[float], tau: float) -> Signal:
    """A soft tone with given harmonic amplitudes and an exponential decay."""
    t = _t(seconds)
    out = np.zeros_like(t)
    for k, amp in enumerate(harmonics, start=1):
        out += amp * np.sin(2 * np.pi * freq * k * t)
    return _edges(out * np.exp(-t / tau), 0.004, min(0.03, seconds / 4))


def _place(total_s: float, parts: list[tuple[float, Signal]]) -> Signal:
    """Mix parts at their start times (s) into a buffer of ``total_s`` seconds."""
    out = np.zeros(round(total_s * RATE))
    for start, part in parts:
        i = round(start * RATE)
        n = min(len(part), len(out) - i)
        out[i : i + n] += part[:n]
    return out


def _peak_normalize(x: Signal, dbfs: float = ONESHOT_PEAK_DBFS) -> Signal:
    return x * (10 ** (dbfs / 20) / np.max(np.abs(x)))


def _periodic_noise(seconds: float, shape: Callable[[Signal], Signal], seed: int) -> Signal:
    """Gaussian noise with amplitude spectrum ``shape(f)``, exactly periodic over its length."""
    n = round(seconds * RATE)
    rng = np.random.default_rng(seed)
    f = np.fft.rfftfreq(n, 1 / RATE)
    spec = rng.standard_normal(len(f)) + 1j * rng.standard_normal(len(f))
    spec *= shape(f)
    spec[0] = 0.0  # no DC
    spec[-1] = spec[-1].real  # Nyquist bin must be real for a real signal
    x = np.fft.irfft(spec, n)
    return x * (10 ** (BED_RMS_DBFS / 20) / np.sqrt(np.mean(x**2)))


def _highpass(f: Signal, fc: float, order: int = 2) -> Signal:
    """Butterworth-like magnitude: keeps rumble below ``fc`` out of the bed."""
    r = (f / fc) ** (2 * order)
    return np.sqrt(r / (1 + r))


def _lowpass(f: Signal, fc: float, order: int = 2) -> Signal:
    return 1 / np.sqrt(1 + (f / fc) ** (2 * order))


def _safe_f(f: Signal) -> Signal:
    return np.maximum(f, 1e-3)


# ---------------------------------------------------------------- the library


def chime() -> Signal:
    # A small struck bell: inharmonic partials (as in a free bar) that decay at different rates.
    partials = [(1.0, 1.0, 0.55), (2.0, 0.45, 0.30), (2.76, 0.30, 0.20), (5.40, 0.12, 0.09)]
    x = _bell(1046.5, 1.6, partials)  # C6
    return _peak_normalize(_edges(x, 0.003, 0.25))


def success() -> Signal:
    # Two rising notes a fifth apart (E6 → B6): the usual "done" gesture.
    h = [1.0, 0.25, 0.08]
    x = _place(0.75, [(0.0, _note(1318.5, 0.30, h, 0.18)), (0.12, _note(1975.5, 0.60, h, 0.22))])
    return _peak_normalize(_edges(x, 0.003, 0.05))


def error() -> Signal:
    # Two low falling notes (E4 → C4) with odd harmonics for a duller, square-ish timbre.
    h = [1.0, 0.0, 0.30, 0.0, 0.12, 0.0, 0.05]
    x = _place(0.7, [(0.0, _note(329.6, 0.28, h, 0.25)), (0.20, _note(261.6, 0.50, h, 0.25))])
    return _peak_normalize(_edges(x, 0.003, 0.05))


def notification() -> Signal:
    # Three quick marimba-like notes (G5, C6, E6): bright but short-lived partials.
    def mallet(freq: float) -> Signal:
        return _edges(_bell(freq, 0.45, [(1.0, 1.0, 0.12), (3.93, 0.25, 0.03)]), 0.002, 0.05)

    x = _place(0.85, [(0.0, mallet(784.0)), (0.10, mallet(1046.5)), (0.20, mallet(1318.5))])
    return _peak_normalize(_edges(x, 0.002, 0.05))


def thinking_pulse() -> Signal:
    # One soft breath of a low tone: swells in and out over 1.2 s, so repeating it (loop or
    # `every`) gives a gentle pulse without any hard edge.
    t = _t(1.2)
    tone = np.sin(2 * np.pi * 220 * t) + 0.35 * np.sin(2 * np.pi * 440 * t)
    tone += 0.1 * np.sin(2 * np.pi * 660 * t)
    env = np.sin(np.pi * t / t[-1]) ** 2  # zero value and zero slope at both ends
    return _peak_normalize(_edges(tone * env, 0.01, 0.01))


def phone_ring() -> Signal:
    # A British-style double ring: 400 Hz + 450 Hz, 0.4 s on, 0.2 s off, 0.4 s on, then 2 s
    # quiet, so a looped clip rings in the familiar cadence.
    def burst() -> Signal:
        t = _t(0.4)
        return _edges(np.sin(2 * np.pi * 400 * t) + np.sin(2 * np.pi * 450 * t), 0.01, 0.02)

    x = _place(3.0, [(0.0, burst()), (0.6, burst())])
    return _peak_normalize(x)


def room_tone() -> Signal:
    # Quiet room: pink-ish air with a broad low-mid body and little top end, as a closed
    # office sounds with the HVAC off.
    def shape(f: Signal) -> Signal:
        f = _safe_f(f)
        body = 1 + 1.5 * np.exp(-(np.log(f / 180) ** 2) / 0.8)
        return body / np.sqrt(f) * _highpass(f, 40) * _lowpass(f, 2500, 2)

    return _periodic_noise(BED_SECONDS, shape, SEED + 1)


def pink_noise() -> Signal:
    # Equal energy per octave (amplitude ∝ 1/√f) across the audible band.
    def shape(f: Signal) -> Signal:
        f = _safe_f(f)
        return 1 / np.sqrt(f) * _highpass(f, 20) * _lowpass(f, 18000, 4)

    return _periodic_noise(BED_SECONDS, shape, SEED + 2)


def brown_noise() -> Signal:
    # Amplitude ∝ 1/f (a random walk), with a steep high-pass so sub-audio rumble cannot eat headroom.
    def shape(f: Signal) -> Signal:
        f = _safe_f(f)
        return 1 / f * _highpass(f, 30, 4)

    return _periodic_noise(BED_SECONDS, shape, SEED + 3)


@dataclass(frozen=True)
class Resource:
    name: str
    kind: str  # "one-shot" or "bed"
    make: Callable[[], Signal]
    how: str


LIBRARY: tuple[Resource, ...] = (
    Resource("chime", "one-shot", chime, "struck-bell partials 1, 2, 2.76, 5.4 × 1046.5 Hz"),
    Resource("success", "one-shot", success, "two rising notes E6 → B6, soft harmonics"),
    Resource("error", "one-shot", error, "two falling notes E4 → C4, odd harmonics"),
    Resource("notification", "one-shot", notification, "three mallet notes G5, C6, E6"),
    Resource("thinking-pulse", "one-shot", thinking_pulse, "one sin² swell of 220/440/660 Hz"),
    Resource("phone-ring", "one-shot", phone_ring, "400+450 Hz double ring, 0.4/0.2/0.4 s + 2 s"),
    Resource("room-tone", "bed", room_tone, "periodic FFT noise, low-mid body, 40 Hz–2.5 kHz"),
    Resource("pink-noise", "bed", pink_noise, "periodic FFT noise, 1/√f, 20 Hz–18 kHz"),
    Resource(
        "brown-noise", "bed", brown_noise, "periodic FFT noise, 1/f, 4th-order high-pass at 30 Hz"
    ),
)


# ---------------------------------------------------------------- output


def quantize(x: Signal, seed: int) -> np.ndarray:
    """To int16 with TPDF dither from a fixed seed (deterministic, no truncation distortion).

    The first and last samples of one-shots are exact zeros before dither and are kept at 0,
    so a clip starts and ends on true digital silence.
    """
    rng = np.random.default_rng(seed)
    dither = rng.random(len(x)) - rng.random(len(x))
    y = np.round(x * 32767 + dither)
    y[x == 0.0] = 0
    return np.clip(y, -32768, 32767).astype(np.int16)


def write_flac(path: Path, pcm: np.ndarray) -> None:
    """Write mono int16 samples as FLAC with PyAV."""
    import av

    with av.open(str(path), "w", format="flac") as out:
        stream = out.add_stream("flac", rate=RATE, layout="mono")
        stream.codec_context.options = {"compression_level": "8"}
        step = 4096
        for i in range(0, len(pcm), step):
            frame = av.AudioFrame.from_ndarray(
                pcm[None, i : i + step].copy(), format="s16", layout="mono"
            )
            frame.sample_rate = RATE
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def notice(rows: list[tuple[Resource, float, float, float]]) -> str:
    lines = [
        "soundscape built-in sound library",
        "=================================",
        "",
        "Every file in this directory was synthesized from scratch with numpy by",
        "scripts/make_resources.py in this repository (fixed seeds, so regenerating gives",
        "identical samples). No recordings or third-party samples were used.",
        "",
        "Copyright the soundscape authors. Licensed under the Apache License, Version 2.0,",
        "the same licence as the rest of soundscape.",
        "",
        "Format: FLAC, 48 kHz, mono, 16-bit (TPDF-dithered). One-shots start and end on",
        f"digital silence and peak at {ONESHOT_PEAK_DBFS:g} dBFS. Beds are exactly periodic",
        f"(inverse FFT over the whole file), loop without a seam, RMS {BED_RMS_DBFS:g} dBFS.",
        "",
        f"{'name':<16}{'kind':<10}{'seconds':>8}{'peak dBFS':>11}{'RMS dBFS':>10}  how it was made",
    ]
    for r, dur, peak, rms in rows:
        lines.append(f"{r.name:<16}{r.kind:<10}{dur:>8.2f}{peak:>11.1f}{rms:>10.1f}  {r.how}")
    lines += [
        "",
        "The livekit-agents clips (office-ambience, keyboard-typing, hold-music, ...) are not",
        "here: soundscape plays them from the installed livekit-agents package, under that",
        "package's own notice.",
        "",
    ]
    return "\n".join(lines)


def build(out_dir: Path) -> list[Path]:
    """Synthesize every resource into ``out_dir`` and write its NOTICE; return the files."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    written = []
    for i, r in enumerate(LIBRARY):
        pcm = quantize(r.make(), SEED + 100 + i)
        path = out_dir / f"{r.name}.flac"
        write_flac(path, pcm)
        written.append(path)
        x = pcm.astype(np.float64) / 32768
        peak = 20 * np.log10(np.max(np.abs(x)))
        rms = 20 * np.log10(np.sqrt(np.mean(x**2)))
        rows.append((r, len(pcm) / RATE, peak, rms))
    (out_dir / "NOTICE").write_text(notice(rows), encoding="utf-8")
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    default = Path(__file__).resolve().parent.parent / "resources"
    ap.add_argument("--out", type=Path, default=default, help="output directory")
    args = ap.parse_args(argv)
    for path in build(args.out):
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")
    print(f"wrote {args.out / 'NOTICE'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
