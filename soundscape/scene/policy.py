"""What a scene is allowed to do: trusted (your own files) or untrusted (a customer's).

In multi-tenant deployments a scene may arrive per call from job metadata. An
untrusted scene may only read audio files inside the asset roots it is given —
no absolute paths, no ``..`` or symlink escapes, no device files, no URLs — and
its size is bounded so it cannot exhaust the worker. See docs/security.md.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import AssetError

if TYPE_CHECKING:
    from ..audio import Limits


def _untrusted_limits() -> Limits:
    from ..audio import Limits  # local: loading a scene needs neither numpy nor PyAV

    return Limits(max_seconds=300.0, max_bytes=50_000_000)


@dataclass(frozen=True)
class Policy:
    """Bounds for loading and playing a scene. ``Policy()`` trusts the scene."""

    trusted: bool = True
    asset_roots: tuple[Path, ...] = ()
    """Folders an untrusted scene may read audio (and extends/include files) from."""
    allow_builtins: bool = True
    """Built-in clips (livekit-agents' and ours) are always safe to read."""
    max_sounds: int = 128
    max_variants: int = 32
    max_layers: int = 12
    max_states: int = 48
    max_cues_per_state: int = 16
    max_timers_per_state: int = 16
    max_transitions: int = 256
    max_triggers: int = 64
    max_scatter: int = 12
    max_voices: int = 48
    limits: Limits | None = None
    """Per-clip decode bounds (duration, file size); None: the decoder's defaults when trusted,
    300 s and 50 MB when not."""

    @classmethod
    def untrusted(cls, asset_roots: Sequence[str | os.PathLike[str]], **bounds: Any) -> Policy:
        """A policy for scenes you did not write: files only from ``asset_roots``."""
        roots = tuple(Path(r).resolve() for r in asset_roots)
        return cls(trusted=False, asset_roots=roots, **bounds)

    def inside_roots(self, path: Path) -> bool:
        real = path.resolve()
        return any(real.is_relative_to(root) for root in self.asset_roots)

    def source_problem(self, source: str, base_dir: Path) -> str | None:
        """Why an untrusted scene may not read ``source`` (None if it may)."""
        if self.trusted:
            return None
        if source.startswith("builtin:"):
            return None if self.allow_builtins else "built-in clips are not allowed here"
        if "://" in source:
            return "URLs are not allowed"
        raw = Path(source)
        if raw.is_absolute() or source.startswith("~"):
            return "absolute paths are not allowed in an untrusted scene; use a path relative to the scene"
        if not self.asset_roots:
            return (
                "no asset roots are configured, so an untrusted scene may only use built-in clips"
            )
        target = base_dir / raw
        if not self.inside_roots(target):
            why = "escapes through a symlink" if ".." not in raw.parts else "climbs out with '..'"
            if ".." not in raw.parts and not self.inside_roots(base_dir):
                why = "is outside"
            return f"'{source}' {why} the allowed asset roots ({', '.join(map(str, self.asset_roots))})"
        try:
            mode = target.stat().st_mode
        except OSError:
            return None  # missing files are reported as such (SC401)
        if not stat.S_ISREG(mode):
            return f"'{source}' is not a regular file (devices, pipes and folders are refused)"
        return None

    def loader(self, decode: Callable[..., Any] | None = None) -> Callable[[Path, int, int], Any]:
        """A clip loader for `compile_scene` that re-checks each path when it is opened and
        applies the clip limits — a file swapped for a symlink after loading still cannot escape."""

        def load(path: Path, rate: int, channels: int) -> Any:
            if not self.trusted and not _is_builtin_file(path) and not self.inside_roots(path):
                raise AssetError(str(path), "is outside the allowed asset roots")
            if decode is not None:
                return decode(path, rate, channels)
            from ..audio import load_clip

            limits = self.limits or (None if self.trusted else _untrusted_limits())
            return load_clip(path, rate, channels, limits=limits)

        return load


def _is_builtin_file(path: Path) -> bool:
    from .sources import builtin_catalog

    real = path.resolve()
    return any(real == p.resolve() for p in builtin_catalog().values())


TRUSTED = Policy()
