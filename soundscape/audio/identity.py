"""What identifies a source file and the decoder, and where the caches live.

Kept apart from the cache itself (and free of numpy and PyAV) so that what only needs to
know *whether* something is cached — `soundscape lint` reading its stored clip facts — starts
quickly.
"""

from __future__ import annotations

import functools
import hashlib
import os
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

DECODER_VERSION = 2
"""Bump when decoding changes what samples a file gives: cached clips are then decoded again."""

ENV = "SOUNDSCAPE_CACHE_DIR"
_OFF = {"off", "none", "no", "false", "0"}
_EDGE = 65536  # bytes hashed at each end of a source file


def cache_root() -> Path | None:
    """The cache directory from the environment, or ``None`` when caching is off.

    ``$SOUNDSCAPE_CACHE_DIR`` wins (``off`` disables); otherwise ``$XDG_CACHE_HOME/soundscape``
    or ``~/.cache/soundscape``.
    """
    env = os.environ.get(ENV)
    if env is not None and env.strip():
        if env.strip().lower() in _OFF:
            return None
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg and Path(xdg).is_absolute():
        return Path(xdg) / "soundscape"
    try:
        return Path.home() / ".cache" / "soundscape"
    except (RuntimeError, KeyError):  # no $HOME and no passwd entry (some containers)
        return None


@dataclass(frozen=True)
class SourceId:
    """What makes a source file the same file: its place, size, mtime and both ends' bytes."""

    path: str
    size: int
    mtime_ns: int
    edges: str

    @classmethod
    def of(cls, path: Path) -> SourceId:
        """Identify ``path``; raises `OSError` if it cannot be read."""
        resolved = path.resolve()
        with resolved.open("rb") as f:
            st = os.fstat(f.fileno())
            h = hashlib.blake2b(digest_size=16)
            h.update(f.read(_EDGE))
            if st.st_size > _EDGE:
                f.seek(max(_EDGE, st.st_size - _EDGE))
                h.update(f.read(_EDGE))
        return cls(str(resolved), st.st_size, st.st_mtime_ns, h.hexdigest())


def decoder_tag() -> str:
    """Decoder identity for the key: our version and PyAV's (which bundles FFmpeg)."""
    return f"soundscape-decoder-{DECODER_VERSION}/av-{_av_version()}"


@functools.cache
def _av_version() -> str:
    try:
        return metadata.version("av")
    except metadata.PackageNotFoundError:
        return "unknown"


def digest(*parts: object) -> str:
    """A short stable hash of ``parts`` (for file names)."""
    return hashlib.blake2b(repr(parts).encode(), digest_size=12).hexdigest()
