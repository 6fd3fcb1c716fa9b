"""The telephone line: 8 kHz, 300-3400 Hz, G.711 — measured on the audio; and lint rule SC406."""

from __future__ import annotations

import json
import wave

import numpy as np
import pytest
from support.paths import ROOT

from soundscape.audio.phone import (
    alaw_decode,
    alaw_encode,
    band_share,
    companding,
    mulaw_decode,
    mulaw_encode,
    phone_line,
)
from soundscape.audio.wav import write_wav
from soundscape.cli.main import main
from soundscape.lint import lint_file

RATE = 48000


def sine(freq: float, db: float, seconds: float = 2.0, rate: int = RATE) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (10 ** (db / 20) * np.sin(2 * np.pi * freq * t)).astype(np.float64)


def rms_db(x: np.ndarray) -> float:
    r = float(np.sqrt(np.mean(np.asarray(x, np.float64) ** 2)))
    return 20 * np.log10(r) if r > 0 else -np.inf


def snr_db(clean: np.ndarray, got: np.ndarray) -> float:
    err = np.asarray(got, np.float64) - clean
    return 10 * np.log10(np.mean(clean**2) / np.mean(err**2))


# --- G.711 -----------------------------------------------------------------------------


def test_g711_codes_match_the_standard():
    x = np.array([0.0, 1.0, -1.0, 0.5])
    # μ-law: +0 is 0xFF, positive full scale 0x80, negative 0x00; A-law: even bits inverted.
    assert mulaw_encode(x).tolist() == [0xFF, 0x80, 0x00, 0x8F]
    assert alaw_encode(x).tolist() == [0xD5, 0xAA, 0x2A, 0xA5]
    codes = np.arange(256, dtype=np.uint8)
    # Every code decodes to a value that encodes back to it (μ-law's -0, 0x7F, is +0, 0xFF).
    mu = mulaw_encode(mulaw_decode(codes))
    assert np.flatnonzero(mu != codes).tolist() == [0x7F] and mu[0x7F] == 0xFF
    assert np.array_equal(alaw_encode(alaw_decode(codes)), codes)
    # Largest magnitudes: 32124 (μ-law) and 32256 (A-law) of 32768.
    assert float(mulaw_decode(np.array([0x80]))[0]) * 32768 == 32124
    assert float(alaw_decode(np.array([0xAA]))[0]) * 32768 == 32256


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_g711_is_bit_exact_with_cpythons_audioop_for_every_16_bit_value():
    audioop = pytest.importorskip("audioop", reason="audioop left the stdlib in Python 3.13")
    pcm = np.arange(-32768, 32768, dtype=np.int16)
    x = pcm / 32768.0
    u = np.frombuffer(audioop.lin2ulaw(pcm.tobytes(), 2), np.uint8)
    a = np.frombuffer(audioop.lin2alaw(pcm.tobytes(), 2), np.uint8)
    assert np.array_equal(mulaw_encode(x), u) and np.array_equal(alaw_encode(x), a)
    codes = np.arange(256, dtype=np.uint8).tobytes()
    assert np.array_equal(
        mulaw_decode(np.arange(256)) * 32768, np.frombuffer(audioop.ulaw2lin(codes, 2), np.int16)
    )
    assert np.array_equal(
        alaw_decode(np.arange(256)) * 32768, np.frombuffer(audioop.alaw2lin(codes, 2), np.int16)
    )


@pytest.mark.parametrize("law", ["mulaw", "alaw"])
def test_companding_snr_is_about_38_db_at_any_level(law):
    for db in (-3, -10, -20):
        s = sine(1004, db, rate=8000)
        assert 35 < snr_db(s, companding(s, law)) < 40, (law, db)
    # Companding keeps quiet signals clean: uniform 8-bit would give ~8 dB at -40 dBFS.
    quiet = sine(1004, -40, rate=8000)
    assert snr_db(quiet, companding(quiet, law)) > 32
    uniform8 = np.round(quiet * 128) / 128
    assert snr_db(quiet, uniform8) < 12


def test_companding_rejects_an_unknown_law():
    with pytest.raises(ValueError, match="law must be 'mulaw' or 'alaw'"):
        companding(np.zeros(4), "gsm")  # type: ignore[arg-type]


# --- the line ----------------------------------------------------------------------------


def test_line_is_8khz_mono_same_start_same_length():
    stereo = np.zeros((RATE * 2, 2), np.float32)
    stereo[RATE, :] = 0.9  # a click at exactly 1 s, both channels
    out = phone_line(stereo, RATE)
    assert out.rate == 8000 and out.audio.shape == (16000, 1) and out.audio.dtype == np.float32
    # The click is still at 1 s (the band filter is centred: no delay).
    assert abs(int(np.argmax(np.abs(out.audio[:, 0]))) - 8000) <= 1


@pytest.mark.parametrize(
    "freq, expected_db",
    [(1000, 0.0), (2000, 0.0), (500, 0.0), (300, -6.0), (3400, -6.0)],
)
def test_band_passes_speech_frequencies(freq, expected_db):
    out = phone_line(sine(freq, -10)[:, None], RATE).audio[2000:-2000, 0]
    assert rms_db(out) == pytest.approx(-10 - 3.01 + expected_db, abs=0.6)


@pytest.mark.parametrize("freq", [40, 100, 200, 3700, 5000, 12000])
def test_energy_outside_the_band_is_removed(freq):
    out = phone_line(sine(freq, -6)[:, None], RATE).audio[2000:-2000, 0]
    assert rms_db(out) < -70  # from -9 dBFS RMS in; μ-law's smallest step rounds the rest to 0


def test_white_noise_comes_out_band_limited():
    rng = np.random.default_rng(1)
    noise = rng.normal(0, 0.1, RATE * 4)
    assert band_share(noise, RATE) == pytest.approx(3100 / 23980, abs=0.01)
    out = phone_line(noise[:, None], RATE)
    assert out.kept == pytest.approx(3100 / 23980, abs=0.01)
    assert band_share(out.audio[:, 0], 8000) > 0.97


def test_render_phone_writes_what_the_caller_hears(tmp_path, capsys):
    out = tmp_path / "office-phone.wav"
    args = ["render", str(ROOT / "scenes" / "showcase.yaml"), "-o", str(out)]
    assert main([*args, "--duration", "10s", "--format", "int16", "--phone", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["phone"]["rate"] == 8000 and summary["phone"]["law"] == "mulaw"
    with wave.open(str(out)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getnframes()) == (8000, 1, 80000)
        pcm = np.frombuffer(w.readframes(80000), "<i2") / 32768.0
    assert rms_db(pcm) > -70  # not silent
    # Every sample is a G.711 level: companding leaves no other values.
    assert np.array_equal(companding(pcm), pcm.astype(np.float32))
    wide = tmp_path / "wide.wav"
    assert main(["render", str(ROOT / "scenes" / "showcase.yaml"), "-o", str(wide),
                 "--duration", "10s", "--format", "int16", "--phone", "alaw"]) == 0  # fmt: skip
    assert "G.711 alaw" in capsys.readouterr().out


# --- SC406 ------------------------------------------------------------------------------


def _sc406(path):
    return [d for d in lint_file(path) if d.code == "SC406"]


def test_brown_noise_bed_is_flagged_where_it_is_written(write_scene):
    path = write_scene(
        """\
        version: 1
        layers:
          murmur: {source: builtin:crowded-room, gain: -20 dB}
          rumble: {source: builtin:brown-noise, gain: -30 dB}
        """
    )
    found = _sc406(path)
    assert [(d.pos.line, d.pos.col, d.severity) for d in found] == [(4, 3, "info")]
    assert found[0].message.startswith("layer 'rumble' keeps only 9% of its energy inside")
    assert "drops by 11 dB" in found[0].message


def test_speech_band_bed_passes_and_a_hum_does_not(write_scene, tmp_path):
    write_wav(tmp_path / "voices.wav", (sine(800, -12, 3) + sine(1900, -18, 3))[:, None], RATE)
    write_wav(tmp_path / "hum.wav", sine(60, -12, 3)[:, None], RATE)
    path = write_scene(
        """\
        version: 1
        layers:
          voices: {source: voices.wav, gain: -20 dB}
          hum: {source: hum.wav, gain: -30 dB}
        """
    )
    found = _sc406(path)
    assert [(d.pos.line, d.message.split(" keeps")[0]) for d in found] == [(4, "layer 'hum'")]
    assert "keeps only 0% of its energy" in found[0].message


def test_pool_of_variants_is_judged_as_a_whole(write_scene):
    path = write_scene(
        """\
        version: 1
        sounds:
          bed: {variants: [builtin:brown-noise, builtin:crowded-room]}
        layers:
          bed: bed
        """
    )
    assert _sc406(path) == []  # (9% + 85%) / 2 is well inside the band


def test_lint_rule_band_matches_the_phone_model():
    from soundscape.audio.phone import BAND
    from soundscape.scene.rules.sc406_phone_band import PHONE_BAND

    assert PHONE_BAND == BAND
