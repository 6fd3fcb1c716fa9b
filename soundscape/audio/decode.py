"""Decode audio files with PyAV into float32 arrays at the engine's rate and channel count."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import AssetError


@dataclass(frozen=True)
class Limits:
    """Bounds on what a scene may make us decode."""

    max_seconds: float = 600.0
    max_bytes: int = 200_000_000


@dataclass(frozen=True)
class Clip:
    """A decoded clip: ``samples`` has shape (frames, channels), float32, read-only."""

    path: str
    rate: int
    samples: np.ndarray

    @property
    def frames(self) -> int:
        return int(self.samples.shape[0])

    @property
    def channels(self) -> int:
        return int(self.samples.shape[1])

    @property
    def duration(self) -> float:
        return self.frames / self.rate


def decode_file(
    path: Path, rate: int = 48000, channels: int = 1, *, limits: Limits | None = None
) -> np.ndarray:
    """Decode ``path`` to float32 (frames, channels) at ``rate``; raise `AssetError` on any failure."""
    import av  # local: keeps `soundscape --help` fast

    limits = limits or Limits()
    p = str(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise AssetError(
            p, "file not found", hint="check the path; it is relative to the scene file"
        ) from None
    except OSError as e:
        raise AssetError(p, f"cannot read: {e.strerror or e}") from None
    if not path.is_file():
        raise AssetError(p, "not a regular file")
    if size == 0:
        raise AssetError(p, "file is empty (0 bytes)")
    if size > limits.max_bytes:
        raise AssetError(p, f"file is {size:,} bytes, above the {limits.max_bytes:,}-byte limit")
    layout = "mono" if channels == 1 else "stereo"
    max_frames = int(limits.max_seconds * rate)
    chunks: list[np.ndarray] = []
    total = 0
    try:
        with av.open(p, metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise AssetError(p, "no audio stream in this file")
            stream = container.streams.audio[0]
            resampler = av.AudioResampler(format="flt", layout=layout, rate=rate)
            for frame in container.decode(stream):
                frame.pts = None
                for out in resampler.resample(frame):
                    arr = out.to_ndarray().reshape(-1, channels)
                    chunks.append(arr)
                    total += arr.shape[0]
                if total > max_frames:
                    raise AssetError(
                        p,
                        f"longer than the {limits.max_seconds:g} s limit for a clip",
                        hint="trim the file or raise the clip duration limit",
                    )
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1, channels))
    except AssetError:
        raise
    except Exception as e:  # PyAV raises many types for bad input
        raise AssetError(p, f"does not decode as audio ({type(e).__name__}: {e})") from None
    if not chunks:
        raise AssetError(p, "decodes to no audio (zero length)")
    data = np.concatenate(chunks).astype(np.float32, copy=False)
    if not np.isfinite(data).all():
        np.nan_to_num(data, copy=False, nan=0.0, posinf=1.0, neginf=-1.0)
    if data.shape[0] == 0:
        raise AssetError(p, "decodes to no audio (zero length)")
    data.setflags(write=False)
    return data


_cache: dict[tuple[str, int, int, int, int], Clip] = {}
_lock = threading.Lock()


def load_clip(
    path: Path, rate: int = 48000, channels: int = 1, *, limits: Limits | None = None
) -> Clip:
    """Decode once per process (keyed by file identity and format); N sessions share one array."""
    try:
        st = path.stat()
        key = (str(path.resolve()), st.st_mtime_ns, st.st_size, rate, channels)
    except OSError:
        key = (str(path), 0, 0, rate, channels)
    with _lock:
        clip = _cache.get(key)
    if clip is None:
        clip = Clip(str(path), rate, decode_file(path, rate, channels, limits=limits))
        with _lock:
            _cache[key] = clip
    return clip
