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

The folder has one ``.lock`` file. Byte ``0`` of it is locked while a process evicts, and one
byte per entry (picked by a hash of its name) while a process decodes and writes that entry,
so N processes that start together decode each clip once. The metadata's mtime records when
an entry was last used (set on the first use in each process, because ``atime`` is often not
kept); after each write the least recently used entries go until the total is within the
limit (``$SOUNDSCAPE_CACHE_MAX``, 1 GiB by default).

Never edit entries in place: a process may have them mapped. Removing them is safe (a mapping
outlives the name), and so is deleting the directory.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import EllipsisType
from typing import Any

import numpy as np

from .identity import (
    DEFAULT_MAX_BYTES,
    ENV,
    MAX_ENV,
    SourceId,
    cache_limit,
    cache_root,
    decoder_tag,
    digest,
)

__all__ = [
    "DEFAULT_MAX_BYTES",
    "ENV",
    "MAX_ENV",
    "DiskCache",
    "Entry",
    "SourceId",
    "cache_limit",
    "cache_root",
    "decoder_tag",
    "warn_once",
]

log = logging.getLogger("soundscape")

_SUBDIR = "clips-v1"
LOCK_NAME = ".lock"
LOCK_TIMEOUT_S = 60.0  # longest wait for another process decoding the same clip
_ORPHAN_TMP_AGE_S = 3600.0  # a temporary file this old belongs to a writer that died
_SLOTS = 1 << 30  # lockable bytes of the lock file, one per entry (hash collisions only wait)
_EVICT_SLOT = 0
_warned: set[str] = set()
_touched: set[str] = set()  # metadata files whose use this process has recorded
_swept: set[str] = set()  # folders this process has cleared of older versions' lock files
_digest = digest


@dataclass(frozen=True)
class Entry:
    """One entry as found on disk: its name, bytes (both files) and when it was last used."""

    stem: str
    size: int
    used: float
    complete: bool


class DiskCache:
    """Decoded clips under ``root`` (created on first write).

    ``max_bytes`` caps the entries' total size (``None``: no cap); by default it comes from
    ``$SOUNDSCAPE_CACHE_MAX``.
    """

    def __init__(self, root: Path, *, max_bytes: int | EllipsisType | None = ...) -> None:
        self.root = root
        self.dir = root / _SUBDIR
        self.tag = decoder_tag()
        self.max_bytes = cache_limit() if isinstance(max_bytes, EllipsisType) else max_bytes

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
        _touch_once(meta_path)
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
        """Write ``data`` as the entry and return it mapped from disk (shared with others),
        then evict least recently used entries beyond the limit.

        Raises `OSError` when the directory cannot be written.
        """
        self.dir.mkdir(parents=True, exist_ok=True)
        self._sweep_old_locks()
        npy = self.entry(src, rate, channels)
        data = np.ascontiguousarray(data, dtype=np.float32)
        meta = self._meta(src, rate, channels)
        meta["shape"] = list(data.shape)
        meta["crc32"] = zlib.crc32(data.data.cast("B"))

        def map_it(tmp: str) -> np.memmap:
            # Mapped under its temporary name, before it is moved into place: once in place
            # an eviction or `soundscape cache clear` may unlink it at any moment.
            return np.load(tmp, mmap_mode="r", allow_pickle=False)

        mm = _atomic_write(
            npy, lambda f: np.lib.format.write_array(f, data, allow_pickle=False), map_it
        )
        _atomic_write(
            npy.with_suffix(".json"), lambda f: f.write(json.dumps(meta, indent=1).encode())
        )
        _touched.add(str(npy.with_suffix(".json")))  # just written: its mtime is now
        self._remove_stale(npy)
        self.evict(keep=npy.stem)
        return mm.view(np.ndarray)

    def _remove_stale(self, npy: Path) -> None:
        """Entries for earlier versions of the same source file, format and decoder, and
        temporary files that a process killed mid-write left behind."""
        where = npy.name.split("-", 1)[0]
        for old in self.dir.glob(f"{where}-*"):
            if old.stem != npy.stem and old.suffix in (".json", ".npy"):
                with contextlib.suppress(OSError):
                    old.unlink()
        cutoff = time.time() - _ORPHAN_TMP_AGE_S
        for tmp in self.dir.glob(".tmp-*"):
            with contextlib.suppress(OSError):
                if tmp.stat().st_mtime < cutoff:
                    tmp.unlink()

    def _sweep_old_locks(self) -> None:
        """Older versions left a ``<entry>.lock`` beside every entry: remove them, once."""
        key = str(self.dir)
        if key in _swept:
            return
        _swept.add(key)
        with contextlib.suppress(OSError), os.scandir(self.dir) as it:
            for f in it:
                if _old_lock(f.name):
                    with contextlib.suppress(OSError):
                        os.unlink(f.path)

    # ------------------------------------------------------------ looking after the folder

    def scan(self) -> list[Entry]:
        """The entries on disk (an entry missing half of its files counts, as incomplete);
        none before the folder exists. Raises `OSError` if it cannot be listed."""
        sizes: dict[str, int] = {}
        used: dict[str, float] = {}
        parts: dict[str, set[str]] = {}
        if not self.dir.is_dir():
            return []
        with os.scandir(self.dir) as it:
            for f in it:
                stem, dot, ext = f.name.rpartition(".")
                if not dot or f.name.startswith(".") or ext not in ("npy", "json"):
                    continue
                try:
                    st = f.stat()
                except OSError:
                    continue  # removed meanwhile
                sizes[stem] = sizes.get(stem, 0) + st.st_size
                parts.setdefault(stem, set()).add(ext)
                if ext == "json" or stem not in used:  # the metadata's mtime says "used"
                    used[stem] = st.st_mtime
        return [Entry(s, sizes[s], used[s], parts[s] == {"npy", "json"}) for s in sizes]

    def evict(self, *, keep: str | None = None) -> list[str]:
        """Remove least recently used entries until the total is within ``max_bytes``.

        Never waits: skipped when another process is evicting, and entries being written
        right now (or ``keep``) stay. Returns the removed entries' names.
        """
        if self.max_bytes is None:
            return []
        try:
            if sum(e.size for e in self.scan()) <= self.max_bytes:
                return []
            locks = _lock_file(self.dir)
            if not locks.acquire(_EVICT_SLOT, timeout=0):
                return []
        except OSError:
            return []
        removed: list[str] = []
        try:
            entries = self.scan()  # again: another process may just have evicted
            total = sum(e.size for e in entries)
            for e in sorted(entries, key=lambda e: (e.complete, e.used)):
                if total <= self.max_bytes:
                    break
                slot = _slot(e.stem)
                if e.stem == keep or not locks.acquire(slot, timeout=0):
                    continue
                try:
                    self._remove(e.stem)
                finally:
                    locks.release(slot)
                total -= e.size
                removed.append(e.stem)
        except OSError as ex:
            log.debug("clip cache: eviction in %s stopped (%s)", self.dir, ex)
        finally:
            locks.release(_EVICT_SLOT)
        if removed:
            log.debug("clip cache: evicted %d entries from %s", len(removed), self.dir)
        return removed

    def _remove(self, stem: str) -> None:
        # Metadata first: without it no reader trusts the samples file any more.
        for ext in (".json", ".npy"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.dir / f"{stem}{ext}")

    def clear(self) -> tuple[int, int]:
        """Remove every entry (processes that have one mapped keep their mapping) and
        leftover files; returns (entries, bytes) removed. Temporary files younger than an
        hour may belong to a writer still running and stay."""
        entries = self.scan()
        if not self.dir.is_dir():
            return 0, 0
        for e in entries:
            self._remove(e.stem)
        cutoff = time.time() - _ORPHAN_TMP_AGE_S
        with os.scandir(self.dir) as it:
            for f in it:
                with contextlib.suppress(OSError):
                    if _old_lock(f.name) or (
                        f.name.startswith(".tmp-") and f.stat().st_mtime < cutoff
                    ):
                        os.unlink(f.path)
        return len(entries), sum(e.size for e in entries)

    def writable(self) -> bool:
        """Whether entries can be written (without creating anything to find out)."""
        p = self.dir
        while not p.exists() and p != p.parent:
            p = p.parent
        return p.is_dir() and os.access(p, os.W_OK | os.X_OK)

    @contextlib.contextmanager
    def locked(self, npy: Path, timeout: float | None = None) -> Iterator[None]:
        """Hold this entry's lock, so N processes starting at once decode it once.

        Best effort: without ``fcntl`` or a writable directory, or when the holder has not
        finished within ``timeout`` seconds (a stuck process must not stall every other
        one), runs unlocked: the worst case is decoding twice.
        """
        slot = _slot(npy.stem)
        wait = LOCK_TIMEOUT_S if timeout is None else timeout
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            locks = _lock_file(self.dir)
            got = locks.acquire(slot, timeout=wait)
        except OSError:
            yield
            return
        if not got:
            log.info("clip cache: %s is still locked; decoding anyway", npy)
            yield
            return
        try:
            yield
        finally:
            locks.release(slot)


def _old_lock(name: str) -> bool:
    """A ``<entry>.lock`` of the versions that locked a file per entry."""
    return name.endswith(".lock") and name != LOCK_NAME


def _slot(stem: str) -> int:
    return 1 + zlib.crc32(stem.encode()) % _SLOTS


def _touch_once(meta: Path) -> None:
    """Record a use: the first in this process moves the entry to the back of the queue."""
    key = str(meta)
    if key in _touched:
        return
    _touched.add(key)
    with contextlib.suppress(OSError):  # a read-only cache still serves its entries
        os.utime(meta)


class _LockFile:
    """Byte-range locks on a cache's single ``.lock`` file.

    POSIX record locks belong to the process, not to a descriptor, and closing *any*
    descriptor of the file drops all of the process's locks on it. So each process opens the
    file once and keeps it open, and the threads of one process are kept apart by a
    `threading.Lock` per byte: a byte is only locked or unlocked by the thread holding that.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._guard = threading.Lock()
        self._threads: dict[int, threading.Lock] = {}

    def _open(self) -> int:
        with self._guard:
            if self._fd is None:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            return self._fd

    def acquire(self, slot: int, *, timeout: float) -> bool:
        """Lock byte ``slot``, waiting up to ``timeout`` s; raises `OSError` if unlockable."""
        import fcntl

        with self._guard:
            thread_lock = self._threads.setdefault(slot, threading.Lock())
        deadline = time.monotonic() + timeout
        got = thread_lock.acquire(timeout=timeout) if timeout > 0 else thread_lock.acquire(False)
        if not got:
            return False
        try:
            fd = self._open()
            while True:
                try:
                    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, slot, os.SEEK_SET)
                    return True
                except OSError as e:
                    if e.errno not in (errno.EACCES, errno.EAGAIN):
                        raise
                if time.monotonic() >= deadline:
                    thread_lock.release()
                    return False
                time.sleep(0.02)  # asset loading, not the engine: the wall clock is fine
        except BaseException:
            thread_lock.release()
            raise

    def release(self, slot: int) -> None:
        import fcntl

        try:
            if self._fd is not None:
                fcntl.lockf(self._fd, fcntl.LOCK_UN, 1, slot, os.SEEK_SET)
        finally:
            self._threads[slot].release()


_lock_files: dict[str, _LockFile] = {}
_lock_files_guard = threading.Lock()


def _lock_file(folder: Path) -> _LockFile:
    """This process's handle on the lock file of ``folder``; raises `OSError` (and
    `ImportError` where there is no ``fcntl``, turned into `OSError`)."""
    try:
        import fcntl  # noqa: F401
    except ImportError as e:  # Windows: no locks, at worst a clip is decoded twice
        raise OSError(errno.ENOSYS, "no fcntl") from e
    with _lock_files_guard:
        lf = _lock_files.get(str(folder))
        if lf is None:
            lf = _lock_files[str(folder)] = _LockFile(folder / LOCK_NAME)
        return lf


def _forget_locks_after_fork() -> None:
    # A forked child holds none of its parent's record locks, and its copies of the thread
    # locks may be held by threads that do not exist in it: start afresh.
    global _lock_files_guard
    _lock_files_guard = threading.Lock()
    _lock_files.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_locks_after_fork)


def _atomic_write(
    path: Path, write: Callable[[Any], Any], before_replace: Callable[[str], Any] | None = None
) -> Any:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; other users' workers may share the cache
        result = before_replace(tmp) if before_replace is not None else None
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return result


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
