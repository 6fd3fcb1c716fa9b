"""The persistent decoded-clip cache: decoded arrays as memory-mapped ``.npy`` files.

livekit-agents runs every job in its own process. Without this each process would decode
every clip again and hold its own copy; with it the first process decodes and writes the
array, and the others map the same file read-only, so the kernel's page cache holds one copy
for all of them.

An entry is a pair of files named after the source and target format:
``<where>-<what>.npy`` (the samples) and ``<where>-<what>.json`` (what they were decoded from,
their shape and a CRC-32 of the bytes). ``where`` hashes the resolved path, rate, channel
count and decoder version; ``what`` hashes the file's identity (size, mtime and its first and
last 64 kB), so an edited file gets a new entry and the old one is removed. Both files are
written to a temporary name and moved into place with ``os.replace`` (the metadata last), so
a reader sees a complete entry or none. A reader checks everything before trusting an entry
and rebuilds it on any mismatch.

Never edit entries in place: a process may have them mapped. Deleting the directory is safe.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .identity import ENV, SourceId, cache_root, decoder_tag, digest

__all__ = ["ENV", "DiskCache", "SourceId", "cache_root", "decoder_tag", "warn_once"]

log = logging.getLogger("soundscape")

_SUBDIR = "clips-v1"
LOCK_TIMEOUT_S = 60.0  # longest wait for another process decoding the same clip
_ORPHAN_TMP_AGE_S = 3600.0  # a temporary file this old belongs to a writer that died
_warned: set[str] = set()
_digest = digest


class DiskCache:
    """Decoded clips under ``root`` (created on first write)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.dir = root / _SUBDIR
        self.tag = decoder_tag()

    def entry(self, src: SourceId, rate: int, channels: int) -> Path:
        """The ``.npy`` path of ``src`` decoded at ``rate``/``channels`` (may not exist)."""
        where = _digest(src.path, rate, channels, self.tag)
        what = _digest(src.size, src.mtime_ns, src.edges)
        return self.dir / f"{where}-{what}.npy"

    def _meta(self, src: SourceId, rate: int, channels: int) -> dict[str, Any]:
        return {
            "source": src.path,
            "size": src.size,
            "mtime_ns": src.mtime_ns,
            "edges": src.edges,
            "rate": rate,
            "channels": channels,
            "decoder": self.tag,
        }

    def load(self, src: SourceId, rate: int, channels: int) -> np.ndarray | None:
        """The cached samples mapped read-only, or ``None`` if absent or not trustworthy."""
        npy = self.entry(src, rate, channels)
        meta_path = npy.with_suffix(".json")
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as e:
            log.info("clip cache: unreadable metadata %s (%s); rebuilding", meta_path, e)
            return None
        try:
            arr = self._verified(npy, meta, self._meta(src, rate, channels))
        except FileNotFoundError:
            return None
        except Exception as e:  # any doubt about an entry means decode again
            log.info("clip cache: bad entry %s (%s); rebuilding", npy, e)
            return None
        return arr

    @staticmethod
    def _verified(npy: Path, meta: dict[str, Any], expect: dict[str, Any]) -> np.ndarray:
        for k, v in expect.items():
            if meta.get(k) != v:
                raise ValueError(f"{k} differs")
        mm = np.load(npy, mmap_mode="r", allow_pickle=False)
        if not isinstance(mm, np.memmap):
            raise ValueError("not an array file")
        if mm.dtype != np.float32 or mm.ndim != 2 or not mm.flags.c_contiguous:
            raise ValueError(f"unexpected layout {mm.dtype} {mm.shape}")
        if list(mm.shape) != meta.get("shape") or mm.shape[1] != expect["channels"]:
            raise ValueError(f"shape {mm.shape} does not match {meta.get('shape')}")
        if npy.stat().st_size != mm.offset + mm.nbytes:
            raise ValueError("file length does not match its header")
        if zlib.crc32(mm.data.cast("B")) != meta.get("crc32"):
            raise ValueError("checksum mismatch")
        return mm.view(np.ndarray)

    def store(self, src: SourceId, rate: int, channels: int, data: np.ndarray) -> np.ndarray:
        """Write ``data`` as the entry and return it mapped from disk (shared with others).

        Raises `OSError` when the directory cannot be written.
        """
        self.dir.mkdir(parents=True, exist_ok=True)
        npy = self.entry(src, rate, channels)
        data = np.ascontiguousarray(data, dtype=np.float32)
        meta = self._meta(src, rate, channels)
        meta["shape"] = list(data.shape)
        meta["crc32"] = zlib.crc32(data.data.cast("B"))
        _atomic_write(npy, lambda f: np.lib.format.write_array(f, data, allow_pickle=False))
        _atomic_write(
            npy.with_suffix(".json"), lambda f: f.write(json.dumps(meta, indent=1).encode())
        )
        self._remove_stale(npy)
        mm = np.load(npy, mmap_mode="r", allow_pickle=False)
        return mm.view(np.ndarray)

    def _remove_stale(self, npy: Path) -> None:
        """Entries for earlier versions of the same source file, format and decoder, and
        temporary files that a process killed mid-write left behind."""
        where = npy.name.split("-", 1)[0]
        for old in self.dir.glob(f"{where}-*"):
            if old.stem != npy.stem and old.suffix in (".npy", ".json", ".lock"):
                with contextlib.suppress(OSError):
                    old.unlink()
        cutoff = time.time() - _ORPHAN_TMP_AGE_S
        for tmp in self.dir.glob(".tmp-*"):
            with contextlib.suppress(OSError):
                if tmp.stat().st_mtime < cutoff:
                    tmp.unlink()

    @contextlib.contextmanager
    def locked(self, npy: Path, timeout: float | None = None) -> Iterator[None]:
        """Hold an exclusive lock for this entry, so N processes starting at once decode once.

        Best effort: without ``fcntl`` or a writable directory, or when the holder has not
        finished within ``timeout`` seconds (a stuck process must not stall every other
        one), runs unlocked: the worst case is decoding twice.
        """
        try:
            import fcntl

            self.dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(npy.with_suffix(".lock"), os.O_RDWR | os.O_CREAT, 0o644)
        except (ImportError, OSError):
            yield
            return
        try:
            deadline = time.monotonic() + (LOCK_TIMEOUT_S if timeout is None else timeout)
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        log.info("clip cache: %s is still locked; decoding anyway", npy)
                        break
                    time.sleep(0.02)  # asset loading, not the engine: the wall clock is fine
            yield
        finally:
            os.close(fd)  # releases the lock


def _atomic_write(path: Path, write: Any) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; other users' workers may share the cache
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def warn_once(root: Path, err: BaseException) -> None:
    """One warning per cache directory per process when it cannot be used."""
    key = str(root)
    if key in _warned:
        return
    _warned.add(key)
    log.warning(
        "decoded-clip cache %s is not writable (%s); clips are decoded in each process. "
        "Set %s to a writable directory, or to 'off' to disable the cache.",
        root,
        getattr(err, "strerror", None) or err,
        ENV,
    )
