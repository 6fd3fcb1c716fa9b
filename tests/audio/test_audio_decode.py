"""Decoding: every supported format, channel mixing, resampling, bad files and limits.

Test files are written here with PyAV's encoders (and the stdlib ``wave`` module for PCM WAV)
from a sine of known frequency and amplitude, so every assertion is about the audio itself.
"""

from __future__ import annotations

import logging
import sys
import wave
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from soundscape.audio import Limits, decode_file, load_clip
from soundscape.errors import AssetError

RATE = 48_000
AMP = 0.5  # -6 dBFS peak
LAYOUTS = {1: "mono", 2: "stereo", 6: "5.1"}


def tone(freq: float, seconds: float, rate: int, amp: float = AMP, channels: int = 1) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return np.repeat((amp * np.sin(2 * np.pi * freq * t))[:, None], channels, axis=1)


def write_wav(path: Path, x: np.ndarray, rate: int, width: int = 2) -> Path:
    """PCM WAV via the stdlib: 8-bit unsigned, 16- or 24-bit signed."""
    full = 2 ** (8 * width - 1)
    q = np.clip(np.round(x * full), -full, full - 1).astype(np.int64)
    if width == 1:
        raw = (q + 128).astype(np.uint8).tobytes()
    else:
        le = q.astype("<i4").view(np.uint8).reshape(-1, 4)[:, :width]
        raw = le.tobytes()
    with wave.open(str(path), "wb") as w:
        w.setnchannels(x.shape[1])
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(raw)
    return path


def encode(path: Path, x: np.ndarray, rate: int, codec: str, fmt: str, **options: str) -> Path:
    """Encode float samples (frames, channels) with PyAV's ``codec`` into container ``fmt``."""
    n, ch = x.shape
    layout = LAYOUTS[ch]
    with av.open(str(path), "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=rate, layout=layout)
        if options:
            stream.codec_context.options = options
        step = stream.codec_context.frame_size or 1024
        for i in range(0, n, step):
            chunk = np.ascontiguousarray(x[i : i + step].T, dtype=np.float32)
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=layout)
            frame.sample_rate = rate
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def level_db(x: np.ndarray) -> float:
    """RMS of the middle of a clip (edges skipped: codec ramps) relative to the test sine."""
    mid = x[len(x) // 10 : -len(x) // 10]
    return float(20 * np.log10(max(np.sqrt(np.mean(mid**2)), 1e-12) / (AMP / np.sqrt(2))))


def peak_hz(x: np.ndarray, rate: int = RATE) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x)), 8 * len(x)))
    return float(np.argmax(spec) * rate / (8 * len(x)))


# (file name, codec, container, channels encoded, frame tolerance, level tolerance dB)
# Tolerances: PCM and FLAC are exact. MP3 (LAME Info tag), Opus (pre-skip) and Vorbis
# (granule positions) carry gapless information that FFmpeg applies; we still allow one codec
# frame in case a build ignores it. AAC in MP4 trims priming by edit list but pads the end to
# its 1024-sample frame; raw ADTS has no gapless data at all, so its 1024-sample priming stays
# and the end is padded: up to two frames over. Lossy codecs shift the level slightly (LAME
# measures -0.45 dB on a 1 kHz sine), hence 0.6 dB.
LOSSY_DB = 0.6
FORMATS = [
    ("s16.wav", None, "wav16", 1, (0, 0), 0.01),
    ("u8.wav", None, "wav8", 1, (0, 0), 0.05),
    ("s24.wav", None, "wav24", 1, (0, 0), 0.01),
    ("f32.wav", "pcm_f32le", "wav", 1, (0, 0), 0.01),
    ("f64.wav", "pcm_f64le", "wav", 1, (0, 0), 0.01),
    ("s32.wav", "pcm_s32le", "wav", 1, (0, 0), 0.01),
    ("alaw.wav", "pcm_alaw", "wav", 1, (0, 0), 0.1),  # 13-bit companding: ~38 dB SNR
    ("lossless.m4a", "alac", "ipod", 2, (0, 0), 0.01),
    ("flac-in.ogg", "flac", "ogg", 1, (0, 0), 0.01),
    ("stereo.flac", "flac", "flac", 2, (0, 0), 0.01),
    ("mono.mp3", "libmp3lame", "mp3", 1, (-1152, 1152), LOSSY_DB),
    ("vorbis.ogg", "vorbis", "ogg", 2, (-2048, 2048), LOSSY_DB),
    ("voice.opus", "libopus", "ogg", 1, (-960, 960), LOSSY_DB),
    ("music.m4a", "aac", "ipod", 1, (0, 1024), LOSSY_DB),
    ("raw.aac", "aac", "adts", 1, (0, 2048), LOSSY_DB),
    ("clip.webm", "libopus", "webm", 2, (-960, 960), LOSSY_DB),
    ("video.mp4", "aac", "mp4", 2, (0, 1024), LOSSY_DB),
    ("apple.aiff", "pcm_s16be", "aiff", 1, (0, 0), 0.01),
]


def make(tmp_path: Path, name: str, codec: str | None, fmt: str, x: np.ndarray, rate: int) -> Path:
    path = tmp_path / name
    if fmt.startswith("wav") and codec is None:
        return write_wav(path, x, rate, {"wav8": 1, "wav16": 2, "wav24": 3}[fmt])
    opts = {"strict": "experimental"} if codec == "vorbis" else {}
    assert codec is not None
    return encode(path, x, rate, codec, fmt, **opts)


@pytest.mark.parametrize(("name", "codec", "fmt", "ch", "frames_tol", "db_tol"), FORMATS)
def test_each_format_decodes_to_the_right_length_level_and_pitch(
    tmp_path: Path,
    name: str,
    codec: str | None,
    fmt: str,
    ch: int,
    frames_tol: tuple[int, int],
    db_tol: float,
) -> None:
    path = make(tmp_path, name, codec, fmt, tone(1000, 1.0, RATE, channels=ch), RATE)
    x = decode_file(path, RATE, 1)
    assert x.dtype == np.float32 and x.ndim == 2 and x.shape[1] == 1
    assert not x.flags.writeable
    lo, hi = frames_tol
    assert RATE + lo <= x.shape[0] <= RATE + hi
    # Stereo sources hold the same sine in both channels: the mono fold keeps its level.
    assert level_db(x[:, 0]) == pytest.approx(0.0, abs=db_tol)
    assert peak_hz(x[:, 0]) == pytest.approx(1000, abs=1.0)


def test_mu_law_at_8_khz(tmp_path: Path) -> None:
    path = encode(tmp_path / "phone.wav", tone(440, 1.0, 8000), 8000, "pcm_mulaw", "wav")
    x = decode_file(path, RATE, 1)[:, 0]
    assert abs(len(x) - RATE) <= 2
    assert level_db(x) == pytest.approx(0.0, abs=0.1)  # mu-law: ~38 dB SNR, level intact
    assert peak_hz(x) == pytest.approx(440, abs=0.5)


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 96000])
def test_resampling_keeps_pitch_duration_and_level(tmp_path: Path, rate: int) -> None:
    path = write_wav(tmp_path / f"r{rate}.wav", tone(440, 2.0, rate), rate)
    x = decode_file(path, RATE, 1)[:, 0]
    assert abs(len(x) - 2 * RATE) <= 2  # the resampler's flush delivers the tail
    assert peak_hz(x) == pytest.approx(440, abs=0.25)
    assert level_db(x) == pytest.approx(0.0, abs=0.05)


def test_stereo_folds_to_mono_by_averaging(tmp_path: Path) -> None:
    both = tone(1000, 1.0, RATE, channels=2)
    left_only = both.copy()
    left_only[:, 1] = 0
    same = decode_file(write_wav(tmp_path / "both.wav", both, RATE), RATE, 1)[:, 0]
    left = decode_file(write_wav(tmp_path / "left.wav", left_only, RATE), RATE, 1)[:, 0]
    assert level_db(same) == pytest.approx(0.0, abs=0.01)  # not +3 dB
    assert level_db(left) == pytest.approx(-6.02, abs=0.02)  # half the amplitude


def test_mono_spreads_to_stereo_at_the_same_level(tmp_path: Path) -> None:
    src = tone(1000, 0.5, RATE)
    path = write_wav(tmp_path / "mono.wav", src, RATE)
    x = decode_file(path, RATE, 2)
    mono = decode_file(path, RATE, 1)
    assert x.shape == (len(src), 2)
    assert np.array_equal(x[:, 0], x[:, 1])
    assert np.array_equal(x[:, 0], mono[:, 0])  # no -3 dB pan law


def _surround(tmp_path: Path, name: str, channel_tones: dict[int, float]) -> Path:
    """A 5.1 WAV (FL FR FC LFE BL BR) with a sine of the given frequency in given channels."""
    x = np.zeros((RATE, 6))
    for ch, freq in channel_tones.items():
        x[:, ch] = tone(freq, 1.0, RATE)[:, 0]
    return encode(tmp_path / name, x, RATE, "pcm_s16le", "wav")


def test_5_1_downmix_keeps_sides_and_level_and_drops_lfe(tmp_path: Path) -> None:
    fl = _surround(tmp_path, "fl.wav", {0: 1000})
    st = decode_file(fl, RATE, 2)
    assert level_db(st[:, 1]) < -90  # front left never leaks into the right channel
    everywhere = _surround(tmp_path, "all.wav", {0: 1000, 1: 1000, 2: 1000, 4: 1000, 5: 1000})
    for channels in (1, 2):
        x = decode_file(everywhere, RATE, channels)
        for c in range(channels):
            assert level_db(x[:, c]) == pytest.approx(0.0, abs=0.02)  # no build-up, no clip
    lfe = _surround(tmp_path, "lfe.wav", {0: 1000, 3: 60})
    mono = decode_file(lfe, RATE, 1)[:, 0]
    spec = np.abs(np.fft.rfft(mono))
    assert spec[60] < 1e-3 * spec[1000]  # bin = Hz for a 1 s clip: the LFE tone is gone


def test_unlabelled_multichannel_wav_averages_its_channels(tmp_path: Path) -> None:
    x = np.zeros((RATE, 3))
    x[:, 0] = tone(1000, 1.0, RATE)[:, 0]
    path = write_wav(tmp_path / "three.wav", x, RATE)  # no channel mask: positions unknown
    out = decode_file(path, RATE, 1)[:, 0]
    assert level_db(out) == pytest.approx(20 * np.log10(1 / 3), abs=0.05)


def test_nan_and_inf_in_a_float_wav_never_reach_the_output(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    x = tone(1000, 1.0, 44100)
    x[1000, 0] = np.nan
    x[2000, 0] = np.inf
    x[3000, 0] = -np.inf
    x[4000, 0] = 1e30
    path = encode(tmp_path / "bad.wav", x, 44100, "pcm_f32le", "wav")
    with caplog.at_level(logging.WARNING, logger="soundscape"):
        same_rate = decode_file(path, 44100, 1)[:, 0]
        resampled = decode_file(path, RATE, 1)[:, 0]
    for y in (same_rate, resampled):
        assert np.isfinite(y).all()
        assert np.abs(y).max() <= 1.0 + 1e-3  # the resampler's ripple, not the 1e30
    assert same_rate[1000] == 0.0
    assert same_rate[2000] == 1.0 and same_rate[3000] == -1.0 and same_rate[4000] == 1.0
    clean = np.delete(np.arange(len(same_rate)), [1000, 2000, 3000, 4000])
    assert np.array_equal(same_rate[clean], x[clean, 0].astype(np.float32))
    # After resampling, only the neighbourhood of each bad sample differs from the clean tone.
    ref = decode_file(
        encode(tmp_path / "ok.wav", tone(1000, 1.0, 44100), 44100, "pcm_f32le", "wav"), RATE, 1
    )[:, 0]
    far = np.ones(len(ref), bool)
    for i in (1000, 2000, 3000, 4000):
        j = round(i * RATE / 44100)
        far[j - 100 : j + 100] = False
    assert np.allclose(resampled[far], ref[far], atol=1e-6)
    assert "bad.wav: 3 sample(s) were NaN or infinite and 1 beyond ±1.0" in caplog.text


def test_all_silent_file_decodes_to_silence(tmp_path: Path) -> None:
    x = decode_file(write_wav(tmp_path / "quiet.wav", np.zeros((4800, 1)), RATE), RATE, 1)
    assert x.shape == (4800, 1) and not x.any()


# ---------------------------------------------------------------- bad files


def _error(path: Path, **kw: Any) -> str:
    with pytest.raises(AssetError) as info:
        decode_file(path, RATE, 1, **kw)
    msg = str(info.value)
    assert msg.startswith(f"{path}: "), msg  # always names the file first
    return msg


def test_missing_empty_and_directory(tmp_path: Path) -> None:
    assert "file not found" in _error(tmp_path / "nope.wav")
    (tmp_path / "empty.mp3").write_bytes(b"")
    assert "file is empty (0 bytes)" in _error(tmp_path / "empty.mp3")
    (tmp_path / "dir.wav").mkdir()
    assert "not a regular file" in _error(tmp_path / "dir.wav")


def test_wav_with_no_frames_is_zero_length(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "none.wav", np.zeros((0, 1)), RATE)
    assert "decodes to no audio (zero length)" in _error(path)


@pytest.mark.parametrize(
    ("name", "codec", "fmt", "expect"),
    [
        (
            "cut.wav",
            None,
            "wav16",
            "truncated: its WAV header promises 96,000 bytes of audio but only",
        ),
        (
            "cut.mp3",
            "libmp3lame",
            "mp3",
            "damaged or truncated: its header promises 1.00 s of audio but only",
        ),
        (
            "cut.webm",
            "libopus",
            "webm",
            "damaged or truncated: its header promises 1.01 s of audio but only",
        ),
        ("cut.flac", "flac", "flac", "of the 1.00 s its header promises"),
        ("cut.m4a", "aac", "ipod", "cannot be opened as audio"),  # the index is at the end
    ],
)
def test_truncated_files_are_reported(
    tmp_path: Path, name: str, codec: str | None, fmt: str, expect: str
) -> None:
    full = make(tmp_path, "full-" + name, codec, fmt, tone(1000, 1.0, RATE), RATE)
    data = full.read_bytes()
    cut = tmp_path / name
    cut.write_bytes(data[: len(data) // 2])
    assert expect in _error(cut)


def test_corrupt_flac_is_reported_with_position(tmp_path: Path) -> None:
    path = make(tmp_path, "x.flac", "flac", "flac", tone(1000, 1.0, RATE), RATE)
    data = bytearray(path.read_bytes())
    rng = np.random.default_rng(1)
    mid = len(data) // 2
    data[mid : mid + 400] = rng.integers(0, 256, 400, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    # FLAC's decoder skips the frame whose CRC fails; the exact length in STREAMINFO tells.
    msg = _error(path)
    assert "damaged or truncated: its header promises 1.00 s of audio but only 0.90 s" in msg


@pytest.mark.parametrize("name", ["notes.wav", "notes.mp3", "notes.ogg", "notes.flac"])
def test_text_with_an_audio_extension(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_text("these are my meeting notes\n" * 50)
    # Whatever FFmpeg guessed from the extension, the user hears the truth.
    assert "is not an audio file (it contains text)" in _error(tmp_path / name)


@pytest.mark.parametrize("name", ["noise.wav", "noise.mp3", "noise.m4a", "noise.opus"])
def test_random_bytes_with_an_audio_extension(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_bytes(np.random.default_rng(7).bytes(50_000))
    assert "is not an audio file (it contains unrecognised binary data)" in _error(tmp_path / name)


def test_playlist_is_refused_before_it_can_open_other_files(tmp_path: Path) -> None:
    # FFmpeg probes by content: a playlist makes its HLS demuxer open the files it names.
    encode(tmp_path / "private.aac", tone(1000, 1.0, RATE), RATE, "aac", "adts")
    playlist = tmp_path / "list.m3u8"
    playlist.write_text(
        "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\nprivate.aac\n#EXT-X-ENDLIST\n"
    )
    with av.open(str(playlist)) as c:  # plain PyAV reads the other file's audio…
        assert c.format.name == "hls"
        assert sum(f.samples for f in c.decode(c.streams.audio[0])) >= RATE
    # …soundscape refuses the playlist itself.
    assert "is not in an audio format soundscape reads" in _error(playlist)


def test_video_without_audio(tmp_path: Path) -> None:
    path = tmp_path / "silent-film.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height = 64, 48
        for i in range(5):
            frame = av.VideoFrame.from_ndarray(
                np.full((48, 64, 3), i * 40, np.uint8), format="rgb24"
            )
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    assert "has no audio stream (it holds: video)" in _error(path)


# ---------------------------------------------------------------- limits


def test_size_limit_is_checked_before_any_decoding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_wav(tmp_path / "big.wav", tone(1000, 1.0, RATE), RATE)
    monkeypatch.setitem(sys.modules, "av", None)  # any attempt to decode would now fail
    msg = _error(path, limits=Limits(max_bytes=10_000))
    assert "file is 96,044 bytes, above the 10,000-byte limit" in msg


def test_duration_limit_from_the_header_rejects_without_decoding(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "long.wav", tone(100, 5.0, RATE), RATE)
    msg = _error(path, limits=Limits(max_seconds=2))
    assert "audio is 5.0 s long, above the 2 s limit for a clip" in msg


def test_duration_limit_stops_decoding_a_file_without_a_length(tmp_path: Path) -> None:
    # Raw ADTS AAC has no length field, so the decoder must stop by itself at the limit.
    path = encode(tmp_path / "stream.aac", tone(100, 20.0, RATE), RATE, "aac", "adts")
    msg = _error(path, limits=Limits(max_seconds=2))
    assert "audio is longer than the 2 s limit for a clip (decoding stopped at 2.0 s)" in msg


def test_load_clip_applies_limits_to_an_already_decoded_clip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOUNDSCAPE_CACHE_DIR", "off")
    path = write_wav(tmp_path / "three.wav", tone(100, 3.0, RATE), RATE)
    assert load_clip(path, RATE, 1).duration == pytest.approx(3.0)
    with pytest.raises(AssetError, match=r"audio is 3\.0 s long, above the 1 s limit"):
        load_clip(path, RATE, 1, limits=Limits(max_seconds=1))


def test_an_unexpected_pyav_failure_is_still_an_asset_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_wav(tmp_path / "ok.wav", tone(1000, 0.1, RATE), RATE)

    def boom(*a: Any, **kw: Any) -> None:
        raise RuntimeError("resampler exploded")

    monkeypatch.setattr(av, "AudioResampler", boom)
    assert "could not be decoded (RuntimeError: resampler exploded)" in _error(path)


# ---------------------------------------------------------------- fuzzing


FUZZ_SOURCES = [
    ("f.wav", None, "wav16", 1),
    ("f.flac", "flac", "flac", 1),
    ("f.mp3", "libmp3lame", "mp3", 1),
    ("f.ogg", "vorbis", "ogg", 2),
    ("f.opus", "libopus", "ogg", 1),
    ("f.m4a", "aac", "ipod", 1),
]


@pytest.fixture(scope="module")
def fuzz_seeds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    d = tmp_path_factory.mktemp("seeds")
    return {
        name: make(d, name, codec, fmt, tone(440, 0.5, RATE, channels=ch), RATE).read_bytes()
        for name, codec, fmt, ch in FUZZ_SOURCES
    }


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_damaged_files_decode_or_fail_cleanly(
    fuzz_seeds: dict[str, bytes], tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    name = data.draw(st.sampled_from(sorted(fuzz_seeds)))
    buf = bytearray(fuzz_seeds[name])
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["flip", "zero", "cut", "splice"]))
        at = data.draw(st.integers(0, len(buf) - 1))
        n = data.draw(st.integers(1, 512))
        if op == "flip":
            buf[at] ^= data.draw(st.integers(1, 255))
        elif op == "zero":
            buf[at : at + n] = bytes(len(buf[at : at + n]))
        elif op == "cut":
            del buf[at : at + n]
        else:
            buf[at:at] = data.draw(st.binary(min_size=1, max_size=64))
        if not buf:
            buf = bytearray(b"\0")
    path = tmp_path_factory.mktemp("fuzz") / name
    path.write_bytes(bytes(buf))
    try:
        x = decode_file(path, RATE, 1, limits=Limits(max_seconds=5))
    except AssetError as e:
        assert str(e).startswith(f"{path}: ")
        return
    assert x.dtype == np.float32 and x.shape[1] == 1 and x.shape[0] > 0
    assert np.isfinite(x).all()
