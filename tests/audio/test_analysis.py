"""Loudness and level measurements match their definitions on known signals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from soundscape.audio import decode_file
from soundscape.audio.analysis import integrated_loudness, level_curve, peak_dbfs, rms_dbfs
from soundscape.audio.wav import write_wav


def sine(freq: float, amp: float, seconds: float, rate: int = 48000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)[:, None]


@pytest.mark.parametrize("rate", [48000, 44100, 16000])
def test_bs1770_reference_tone(rate):
    # BS.1770: a 997 Hz sine at 0 dBFS in one channel reads -3.01 LUFS; at -20 dBFS, -23.01.
    assert integrated_loudness(sine(997, 0.1, 5, rate), rate) == pytest.approx(-23.01, abs=0.05)


def testk_weighting_lifts_highs_and_cuts_lows():
    hi = integrated_loudness(sine(8000, 0.1, 3), 48000)
    lo = integrated_loudness(sine(40, 0.1, 3), 48000)
    mid = integrated_loudness(sine(997, 0.1, 3), 48000)
    assert hi > mid + 3.0  # the +4 dB shelf
    assert lo < mid - 1.0  # the RLB high-pass


def test_gating_ignores_silence():
    tone = sine(997, 0.1, 4)
    padded = np.concatenate([tone, np.zeros((48000 * 20, 1), np.float32)])
    # Ungated, 20 s of silence would pull a 4 s tone down by 7.8 LU; the gates drop the
    # silent blocks and keep only the few blocks straddling the tone's end.
    assert integrated_loudness(padded, 48000) == pytest.approx(-23.01, abs=0.25)
    assert integrated_loudness(np.zeros((48000, 1), np.float32), 48000) == -120.0


def test_peak_rms_and_level_curve():
    x = sine(1000, 0.5, 1)
    assert peak_dbfs(x) == pytest.approx(-6.02, abs=0.01)
    assert rms_dbfs(x) == pytest.approx(-9.03, abs=0.01)
    x[24000:] = 0
    times, db = level_curve(x, 48000, 0.1)
    assert len(times) == 10
    assert db[:5] == pytest.approx([-9.03] * 5, abs=0.05)
    assert (db[5:] == -120.0).all()


@pytest.mark.parametrize("fmt", ["float32", "int16"])
def test_wav_round_trip(tmp_path: Path, fmt):
    x = np.hstack([sine(440, 0.5, 0.5), sine(880, 0.25, 0.5)])
    path = tmp_path / "x.wav"
    write_wav(path, x, 48000, fmt)  # type: ignore[arg-type]
    import av

    with av.open(str(path)) as c:
        s = c.streams.audio[0]
        assert (s.rate, s.channels) == (48000, 2)
        frames = [f.to_ndarray() for f in c.decode(s)]
    data = np.concatenate(frames, axis=1).T if frames[0].shape[0] == 2 else None
    if data is None:  # packed layout
        data = np.concatenate([f.reshape(-1, 2) for f in frames])
    data = data.astype(np.float64) / (32768.0 if fmt == "int16" else 1.0)
    assert data.shape == (24000, 2)
    assert np.max(np.abs(data - x)) < (1e-4 if fmt == "int16" else 1e-7)
    assert decode_file(path).shape == (24000, 1)
