"""`load_clip`: decode a clip once per process and once per machine.

Lookup order: this process's dict (N sessions in one process share one array), then the
persistent cache (`cache.DiskCache`, shared by worker processes through memory mapping),
then `decode.decode_file`. Limits are enforced on every call, whichever level answers.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import AssetError
from . import cache as _cache
from .decode import Limits, check_file, decode_file, too_long

log = logging.getLogger("soundscape")


@dataclass(frozen=True)
class Clip:
    """A decoded clip: ``samples`` has shape (frames, channels), float32, read-only.

    ``cache_file`` is the memory-mapped cache entry the samples live in, if any.
    """

    path: str
    rate: int
    samples: np.ndarray
    cache_file: str | None = None

    @property
    def frames(self) -> int:
        return int(self.samples.shape[0])

    @property
    def channels(self) -> int:
        return int(self.samples.shape[1])

    @property
    def duration(self) -> float:
        return self.frames / self.rate


_memory: dict[tuple[str, int, int, int, int], Clip] = {}
_lock = threading.Lock()


def clear_memory_cache() -> None:
    """Forget this process's decoded clips (the persistent cache is untouched)."""
    with _lock:
        _memory.clear()


def load_clip(
    path: Path, rate: int = 48000, channels: int = 1, *, limits: Limits | None = None
) -> Clip:
    """The clip at ``path`` as float32 at ``rate`` with ``channels`` (1 or 2).

    Raises `AssetError` naming the file when it is missing, too big, too long or does not
    decode. A file changed on disk since the last call is decoded again.
    """
    path = Path(path)
    limits = limits or Limits()
    size = check_file(path, limits)
    try:
        st = path.stat()
        key = (str(path.resolve()), size, st.st_mtime_ns, rate, channels)
    except OSError as e:
        raise AssetError(str(path), f"cannot read: {e.strerror or e}") from None
    with _lock:
        clip = _memory.get(key)
    if clip is None:
        clip = _load(path, rate, channels, limits)
        with _lock:
            clip = _memory.setdefault(key, clip)
    if clip.duration > limits.max_seconds:
        raise too_long(path, clip.duration, limits)
    return clip


def _load(path: Path, rate: int, channels: int, limits: Limits) -> Clip:
    root = _cache.cache_root()
    if root is None:
        return Clip(str(path), rate, decode_file(path, rate, channels, limits=limits))
    try:
        src = _cache.SourceId.of(path)
    except OSError as e:
        raise AssetError(str(path), f"cannot read: {e.strerror or e}") from None
    disk = _cache.DiskCache(root)
    entry = disk.entry(src, rate, channels)
    hit = disk.load(src, rate, channels)
    if hit is not None:
        return Clip(str(path), rate, hit, str(entry))
    with disk.locked(entry):
        # Another process may have decoded it while we waited for the lock.
        hit = disk.load(src, rate, channels)
        if hit is not None:
            return Clip(str(path), rate, hit, str(entry))
        data = decode_file(path, rate, channels, limits=limits)
        try:
            mapped = disk.store(src, rate, channels, data)
        except Exception as e:  # read-only dir, disk full, ...: keep the decoded copy
            _cache.warn_once(root, e)
            return Clip(str(path), rate, data)
        log.debug("clip cache: stored %s as %s", path, entry)
        return Clip(str(path), rate, mapped, str(entry))
