"""Decode audio files with PyAV into float32 arrays at the engine's rate and channel count.

Anything FFmpeg's audio demuxers read is accepted (wav in any PCM/float/mu-law flavour, mp3,
ogg/vorbis, opus, flac, aac/m4a, webm, mp4 audio, aiff, caf, ...). Every failure becomes an
`AssetError` naming the file and saying what is wrong with it; nothing else escapes.
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import AssetError
from . import mix
from .identity import DECODER_VERSION as DECODER_VERSION  # the cache key's part

log = logging.getLogger("soundscape")

# Only these FFmpeg demuxers may open a clip. Probing goes by content, so without this a file
# named .mp3 holding an HLS playlist or a concat script could make FFmpeg open other files.
AUDIO_DEMUXERS = (
    "wav",
    "w64",
    "aiff",
    "caf",
    "au",
    "mp3",
    "ogg",
    "flac",
    "mov",  # also mp4, m4a, 3gp
    "matroska",  # also webm
    "aac",
    "wv",
    "ape",
    "tta",
    "amr",
)

FORMATS_HINT = "soundscape reads wav, mp3, ogg/vorbis, opus, flac, aac/m4a, webm, mp4 audio, aiff"

# Raw float PCM can hold anything (NaN, inf, 1e30): those are sanitised; decoders of
# compressed formats cannot produce such values and their small overshoots are left to the
# engine's limiter.
_RAW_FLOAT_CODECS = ("pcm_f16le", "pcm_f24le", "pcm_f32le", "pcm_f32be", "pcm_f64le", "pcm_f64be")

# How much shorter than its header promises a file may decode before we call it damaged:
# lossy codecs trim priming and padding differently, so allow a little; lossless containers
# state their exact length (FLAC's decoder silently skips a frame whose CRC fails, so this
# is the only way to notice a damaged FLAC file).
_TRUNCATION_SLACK_S = 0.1
_TRUNCATION_SLACK_FRACTION = 0.02
_EXACT_LENGTH_FORMATS = ("flac", "wav", "w64", "aiff", "caf")
_EXACT_SLACK_S = 0.002

# Signatures of the formats above at the start of a file (after any ID3 tag), used only to
# word errors: a file without any of them is reported as "not audio" rather than with
# whatever FFmpeg made of it when it guessed a format from the extension.
_MAGIC = (
    b"RIFF",
    b"RIFX",
    b"RF64",
    b"riff",
    b"FORM",
    b"caff",
    b".snd",
    b"OggS",
    b"fLaC",
    b"\x1aE\xdf\xa3",
    b"wvpk",
    b"MAC ",
    b"TTA1",
    b"#!AMR",
    b"ID3",
)


@dataclass(frozen=True)
class Limits:
    """Bounds on what a scene may make us decode."""

    max_seconds: float = 600.0
    max_bytes: int = 200_000_000


def check_file(path: Path, limits: Limits) -> int:
    """Stat ``path`` and enforce the size limit before anything reads it; return its size."""
    p = str(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise AssetError(
            p, "file not found", hint="check the path; it is relative to the scene file"
        ) from None
    except OSError as e:
        raise AssetError(p, f"cannot read: {e.strerror or e}") from None
    if not path.is_file():
        raise AssetError(p, "not a regular file")
    if st.st_size == 0:
        raise AssetError(p, "file is empty (0 bytes)")
    if st.st_size > limits.max_bytes:
        raise AssetError(
            p,
            f"file is {st.st_size:,} bytes, above the {limits.max_bytes:,}-byte limit",
            hint="use a shorter or compressed file, or raise the file size limit",
        )
    return st.st_size


def too_long(path: Path, seconds: float, limits: Limits, *, stopped: bool = False) -> AssetError:
    """The error for a clip over the duration limit (``stopped``: we quit decoding early)."""
    length = (
        f"audio is longer than the {limits.max_seconds:g} s limit for a clip "
        f"(decoding stopped at {seconds:.1f} s)"
        if stopped
        else f"audio is {seconds:.1f} s long, above the {limits.max_seconds:g} s limit for a clip"
    )
    return AssetError(str(path), length, hint="trim the file or raise the clip duration limit")


def decode_file(
    path: Path, rate: int = 48000, channels: int = 1, *, limits: Limits | None = None
) -> np.ndarray:
    """Decode ``path`` to float32 (frames, channels) at ``rate``; raise `AssetError` on any failure.

    ``channels`` is 1 or 2; other layouts are mixed down (or up) by `mix.mix_matrix`. The
    result is read-only. Decoding stops as soon as the output passes ``limits.max_seconds``.
    """
    if channels not in (1, 2):
        raise ValueError(f"channels must be 1 or 2, got {channels}")
    limits = limits or Limits()
    size = check_file(path, limits)
    try:
        _check_riff_header(path, size)
        return _Decoder(path, rate, channels, limits).run()
    except AssetError as e:
        kind = _not_audio(path)
        if kind is None or "limit" in e.reason or "not in an audio format" in e.reason:
            raise
        raise AssetError(
            str(path), f"is not an audio file (it contains {kind})", hint=FORMATS_HINT
        ) from None
    except Exception as e:  # hostile input must not crash the agent with a PyAV surprise
        log.debug("unexpected error decoding %s", path, exc_info=True)
        raise AssetError(
            str(path), f"could not be decoded ({type(e).__name__}: {e})", hint=FORMATS_HINT
        ) from None


class _Decoder:
    """One decode: the container, the resampler and the running totals for messages."""

    def __init__(self, path: Path, rate: int, channels: int, limits: Limits) -> None:
        self.path = path
        self.p = str(path)
        self.rate = rate
        self.channels = channels
        self.limits = limits
        self.max_frames = int(limits.max_seconds * rate)
        self.chunks: list[np.ndarray] = []
        self.total = 0
        self.nonfinite = 0
        self.clipped = 0
        self.declared: float | None = None

    def run(self) -> np.ndarray:
        import av  # local: keeps `soundscape --help` fast

        container = self._open(av)
        with container:
            if not container.streams.audio:
                kinds = sorted({s.type for s in container.streams}) or ["no streams"]
                raise AssetError(
                    self.p, f"has no audio stream (it holds: {', '.join(kinds)})", hint=FORMATS_HINT
                )
            stream = container.streams.audio[0]
            if stream.codec_context is None:
                raise AssetError(
                    self.p,
                    "its audio codec cannot be decoded by this build of PyAV",
                    hint="convert it to FLAC, Ogg/Vorbis or WAV",
                )
            declared = self.declared = _declared_seconds(container, stream, self.path)
            if declared is not None and declared > self.limits.max_seconds + 1.0:
                raise too_long(self.path, declared, self.limits)
            self._decode(av, container, stream)
        if self.nonfinite or self.clipped:
            log.warning(
                "%s: %d sample(s) were NaN or infinite and %d beyond ±1.0; "
                "NaN became 0 and the rest were clipped to ±1.0",
                self.p,
                self.nonfinite,
                self.clipped,
            )
        if self.total == 0:
            raise AssetError(self.p, "decodes to no audio (zero length)")
        got = self.total / self.rate
        if declared is not None:
            missing = declared - got
            exact = container.format.name in _EXACT_LENGTH_FORMATS
            slack = (
                _EXACT_SLACK_S
                if exact
                else max(_TRUNCATION_SLACK_S, _TRUNCATION_SLACK_FRACTION * declared)
            )
            if missing > slack:
                raise AssetError(
                    self.p,
                    f"file is damaged or truncated: its header promises {declared:.2f} s of "
                    f"audio but only {got:.2f} s decodes",
                    hint="re-export or re-download the file",
                )
        data = np.concatenate(self.chunks) if len(self.chunks) > 1 else self.chunks[0]
        data = np.ascontiguousarray(data, dtype=np.float32)
        data.setflags(write=False)
        return data

    def _open(self, av: Any) -> Any:
        options = {"format_whitelist": ",".join(AUDIO_DEMUXERS), "protocol_whitelist": "file"}
        try:
            return av.open(self.p, metadata_errors="ignore", container_options=options)
        except av.error.EOFError:
            raise AssetError(
                self.p,
                "file is truncated or damaged: it ends before the data its header describes",
                hint="re-export or re-download the file",
            ) from None
        except av.error.InvalidDataError:
            raise AssetError(
                self.p,
                "cannot be opened as audio: its contents match no audio format "
                "(the file may be damaged or truncated, or not audio at all)",
                hint=FORMATS_HINT,
            ) from None
        except av.error.ArgumentError:
            # FFmpeg recognised the file but its format is not in AUDIO_DEMUXERS.
            raise AssetError(
                self.p,
                "is not in an audio format soundscape reads (it looks like a playlist, "
                "image, subtitle or other non-audio file)",
                hint=FORMATS_HINT,
            ) from None
        except av.error.FFmpegError as e:
            raise AssetError(
                self.p, f"cannot be opened as audio ({_reason(e)})", hint=FORMATS_HINT
            ) from None
        except OSError as e:
            raise AssetError(self.p, f"cannot read: {e.strerror or e}") from None

    def _decode(self, av: Any, container: Any, stream: Any) -> None:
        sanitize = stream.codec_context.name in _RAW_FLOAT_CODECS
        resampler: Any = None
        matrix: np.ndarray | None = None
        n_in = 0
        try:
            for frame in container.decode(stream):
                if sanitize:
                    frame = self._sanitize(av, frame)
                frame.pts = None  # timestamp gaps would make the resampler insert silence
                if resampler is None:
                    names = [c.name for c in frame.layout.channels]
                    n_in = len(names)
                    matrix = mix.mix_matrix(names, self.channels)
                    resampler = av.AudioResampler(format="flt", layout=frame.layout, rate=self.rate)
                for out in resampler.resample(frame):
                    self._add(out, n_in, matrix)
                if self.total > self.max_frames:
                    raise too_long(self.path, self.total / self.rate, self.limits, stopped=True)
            if resampler is not None:
                for out in resampler.resample(None):
                    self._add(out, n_in, matrix)
        except AssetError:
            raise
        except av.error.EOFError:
            raise AssetError(
                self.p,
                f"file is truncated: it ends in the middle of the audio at {self._at()}{self._of()}",
                hint="re-export or re-download the file",
            ) from None
        except (av.error.FFmpegError, ValueError) as e:
            raise AssetError(
                self.p,
                f"corrupt audio data at {self._at()}{self._of()} ({_reason(e)})",
                hint="re-export or re-encode the file",
            ) from None
        if self.total > self.max_frames:
            raise too_long(self.path, self.total / self.rate, self.limits, stopped=True)

    def _add(self, out: Any, n_in: int, matrix: np.ndarray | None) -> None:
        block = out.to_ndarray().reshape(-1, n_in)
        block = mix.apply(block, matrix)
        if not np.isfinite(block).all():  # last guard: a damaged stream must not poison a mix
            self.nonfinite += int(block.size - np.count_nonzero(np.isfinite(block)))
            block = np.nan_to_num(block, nan=0.0, posinf=1.0, neginf=-1.0)
        self.chunks.append(block)
        self.total += block.shape[0]

    def _sanitize(self, av: Any, frame: Any) -> Any:
        arr = frame.to_ndarray()
        finite = np.isfinite(arr)
        over = np.abs(np.where(finite, arr, 0)) > 1.0
        bad = int(arr.size - np.count_nonzero(finite))
        n_over = int(np.count_nonzero(over))
        if not bad and not n_over:
            return frame
        self.nonfinite += bad
        self.clipped += n_over
        fixed = np.clip(np.nan_to_num(arr, nan=0.0, posinf=1.0, neginf=-1.0), -1.0, 1.0)
        new = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(fixed, dtype=arr.dtype),
            format=frame.format.name,
            layout=frame.layout,
        )
        new.sample_rate = frame.sample_rate
        return new

    def _at(self) -> str:
        return f"{self.total / self.rate:.2f} s"

    def _of(self) -> str:
        return f" of the {self.declared:.2f} s its header promises" if self.declared else ""


def _reason(e: BaseException) -> str:
    """FFmpeg's own words, without errno numbers and call names."""
    text = getattr(e, "strerror", None) or str(e) or type(e).__name__
    return str(text).rstrip(".")


def _not_audio(path: Path) -> str | None:
    """``"text"`` or ``"unrecognised binary data"`` if no audio signature opens the file."""
    try:
        with path.open("rb") as f:
            head = f.read(4096)
    except OSError:
        return None
    if head.startswith(_MAGIC) or head[4:8] == b"ftyp":  # ftyp: MP4/M4A/MOV
        return None
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:  # MPEG audio / ADTS
        return None
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as e:
        if e.start < len(head) - 3:  # not just a character cut at the end of the sample
            return "unrecognised binary data"
        text = head[: e.start].decode("utf-8")
    printable = sum(c.isprintable() or c in "\r\n\t" for c in text)
    return "text" if printable >= 0.95 * len(text) else "unrecognised binary data"


def _declared_seconds(container: Any, stream: Any, path: Path) -> float | None:
    """How long the file says it is, when that figure comes from the file and not a guess."""
    fmt = container.format.name
    if fmt == "aac":
        return None  # raw ADTS has no length field: FFmpeg estimates it from the bitrate
    if fmt == "mp3" and not _has_mp3_length_header(path):
        return None  # without a Xing/Info/VBRI frame the length is a bitrate estimate
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None and len(container.streams) == 1:
        return float(container.duration) / 1_000_000  # AV_TIME_BASE
    return None


def _has_mp3_length_header(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            head = f.read(65536)
    except OSError:
        return False
    return any(tag in head for tag in (b"Xing", b"Info", b"VBRI"))


def _check_riff_header(path: Path, size: int) -> None:
    """A WAV whose data chunk is cut short decodes silently to less audio: catch it here.

    FFmpeg clamps the duration of such a file to what is present, so comparing durations
    cannot tell; the RIFF header still says how many bytes the data chunk should hold.
    """
    try:
        with path.open("rb") as f:
            head = f.read(65536)
    except OSError:
        return
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return
    pos = 12
    while pos + 8 <= len(head):
        cid, csize = head[pos : pos + 4], struct.unpack_from("<I", head, pos + 4)[0]
        if cid == b"data":
            if csize in (0, 0xFFFFFFFF):
                return  # written by a streaming recorder: the length was never filled in
            present = size - (pos + 8)
            if csize > present + 1:
                raise AssetError(
                    str(path),
                    f"file is truncated: its WAV header promises {csize:,} bytes of audio "
                    f"but only {max(present, 0):,} are there",
                    hint="re-export or re-download the file",
                )
            return
        pos += 8 + csize + (csize & 1)  # chunks are word-aligned
