"""What was measured about a clip (by the asset rules, and its loudness), kept on disk.

Measuring a clip means numpy, often PyAV, and a pass over every sample: most of what
`soundscape lint one.yaml` costs when the scene names a long ambience, and what compiling
a scene with `level:` targets would cost every job (`audio.loudness.measured`). The numbers are few
(a peak, a seam step, a share of energy in the telephone band), so they are stored as a
small JSON file per clip and measurement under the cache directory (``lint-v1/``, beside
the decoded clips), keyed like the decoded-clip cache: the file's resolved path, size,
mtime and both ends' bytes, the decoder's version, and the trim. A record that is missing,
unreadable or for another key is measured again; the store never fails a lint.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from .identity import SourceId, cache_root, decoder_tag, digest

log = logging.getLogger("soundscape")

VERSION = 1
"""Bump when a rule changes what it measures: older records are then measured again."""
_SUBDIR = f"lint-v{VERSION}"


def _key(file: Path, kind: str, trim: tuple[float, float | None]) -> dict[str, Any] | None:
    try:
        src = SourceId.of(file)
    except (OSError, ValueError):
        return None
    return {
        "source": src.path,
        "size": src.size,
        "mtime_ns": src.mtime_ns,
        "edges": src.edges,
        "decoder": decoder_tag(),
        "kind": kind,
        "trim": list(trim),
    }


def folder(root: Path) -> Path:
    """Where the records live under the cache directory ``root``."""
    return root / _SUBDIR


def _path(root: Path, key: dict[str, Any]) -> Path:
    return root / _SUBDIR / f"{digest(key['source'], key['kind'], key['trim'])}.json"


def load(file: Path, kind: str, trim: tuple[float, float | None]) -> Any | None:
    """The stored value of measurement ``kind`` of ``file`` (trimmed), or ``None``."""
    root = cache_root()
    key = None if root is None else _key(file, kind, trim)
    if root is None or key is None:
        return None
    try:
        record = json.loads(_path(root, key).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("key") != key:
        return None
    return record.get("value")


def store(file: Path, kind: str, trim: tuple[float, float | None], value: Any) -> None:
    """Keep ``value`` (JSON-able) for the next run; silently skipped if it cannot be written."""
    root = cache_root()
    key = None if root is None else _key(file, kind, trim)
    if root is None or key is None:
        return
    path = _path(root, key)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"key": key, "value": value}, f)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)  # readers see the old record or the new one, never half
    except (OSError, TypeError, ValueError) as e:
        log.debug("lint facts: could not store %s (%s)", path, e)
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
