"""What identifies a source file and the decoder, and where the caches live.

Kept apart from the cache itself (and free of numpy and PyAV) so that what only needs to
know *whether* something is cached — `soundscape lint` reading its stored clip facts — starts
quickly.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import re
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

DECODER_VERSION = 2
"""Bump when decoding changes what samples a file gives: cached clips are then decoded again."""

ENV = "SOUNDSCAPE_CACHE_DIR"
MAX_ENV = "SOUNDSCAPE_CACHE_MAX"
DEFAULT_MAX_BYTES = 1 << 30
"""1 GiB: every built-in clip at 48 kHz mono takes 48 MB (stereo twice that), so several
scenes' own long beds fit in several formats, while a cache cannot quietly fill a disk."""
_OFF = {"off", "none", "no", "false", "0"}
_UNLIMITED = _OFF | {"unlimited"}
_UNITS = {"": 1, "b": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}
_SIZE = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([kmgt]?)(i?)(b?)\s*", re.IGNORECASE)
_warned_max: set[str] = set()
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


def parse_size(text: str) -> int | None:
    """Bytes in ``text`` such as ``500MB``, ``2GiB``, ``1.5g`` or ``123456``; ``None`` for
    no limit (``0``, ``off``, ``unlimited``).

    ``k``/``M``/``G``/``T`` (with or without ``B``) are powers of 1000, ``KiB``/``MiB``/
    ``GiB``/``TiB`` powers of 1024; case does not matter. Raises `ValueError` otherwise.
    """
    t = text.strip().lower()
    if t in _UNLIMITED:
        return None
    m = _SIZE.fullmatch(t)
    if m is None or (m.group(3) and not m.group(2)):
        raise ValueError(f"'{text}' is not a size like 500MB, 2GiB or off")
    number, unit, binary = float(m.group(1)), m.group(2), m.group(3)
    scale = 1024 ** "bkmgt".index(unit) if binary else _UNITS[unit]
    n = int(number * scale)
    return n if n > 0 else None


@dataclass(frozen=True)
class LimitSetting:
    """The cache's size limit as configured: bytes (None: no limit), whether
    ``$SOUNDSCAPE_CACHE_MAX`` set it, and why it was ignored when it is not a size."""

    bytes: int | None
    from_env: bool
    error: str | None = None


def limit_setting() -> LimitSetting:
    """Read ``$SOUNDSCAPE_CACHE_MAX``: unset or empty is the default (1 GiB); a value that is
    not a size is reported in ``error`` and the default used."""
    raw = os.environ.get(MAX_ENV)
    if raw is None or not raw.strip():
        return LimitSetting(DEFAULT_MAX_BYTES, False)
    try:
        return LimitSetting(parse_size(raw), True)
    except ValueError as e:
        return LimitSetting(DEFAULT_MAX_BYTES, False, f"{MAX_ENV}: {e}")


def cache_limit() -> int | None:
    """The most bytes of decoded clips to keep, from ``$SOUNDSCAPE_CACHE_MAX`` (default 1 GiB);
    ``None`` for no limit. A value that is not a size is warned about once and the default used.
    """
    setting = limit_setting()
    if setting.error is not None:
        raw = os.environ.get(MAX_ENV, "")
        if raw not in _warned_max:
            _warned_max.add(raw)
            logging.getLogger("soundscape").warning("%s; using the default of 1 GiB", setting.error)
    return setting.bytes


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
