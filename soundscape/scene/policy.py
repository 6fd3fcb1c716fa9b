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
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

from ..errors import AssetError

if TYPE_CHECKING:
    from ..audio import Limits


def _untrusted_limits() -> Limits:
    from ..audio import Limits  # local: loading a scene needs neither numpy nor PyAV

    return Limits(max_seconds=300.0, max_bytes=50_000_000)


class Bounds(TypedDict, total=False):
    """`Policy.untrusted`'s optional bounds: the `Policy` fields of the same names."""

    allow_builtins: bool
    max_sounds: int
    max_variants: int
    max_layers: int
    max_states: int
    max_cues_per_state: int
    max_timers_per_state: int
    max_transitions: int
    max_triggers: int
    max_scatter: int
    max_voices: int
    limits: Limits | None


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
    def untrusted(
        cls, asset_roots: Sequence[str | os.PathLike[str]], **bounds: Unpack[Bounds]
    ) -> Policy:
        """A policy for scenes you did not write: files only from ``asset_roots``."""
        roots = tuple(Path(r).resolve() for r in asset_roots)
        return cls(trusted=False, asset_roots=roots, **bounds)

    def inside_roots(self, path: Path) -> bool:
        return self.confined(path) is not None

    def confined(self, path: Path) -> Path | None:
        """The real path of ``path`` if it lies inside the asset roots, else None — found
        without opening, stat-ing or reading a link of anything outside them.

        `Path.resolve` would ``lstat`` every component of a link's target (`/etc/…`) before
        we could tell it leaves the roots. Here each component is looked at only once the
        path so far is inside a root; the folders above a root need no look (the roots are
        resolved, so they are real folders), and any other step out ends the walk.
        """
        # Not abspath/normpath: folding `link/..` by name would skip the link it climbs out of.
        path = path if path.is_absolute() else Path.cwd() / path
        todo = list(reversed(path.parts))
        cur = Path(todo.pop())  # the anchor, "/"
        links = 0
        missing = False  # past a component that does not exist: the rest is only names
        while todo:
            part = todo.pop()
            if part in ("", "."):
                continue
            if part == "..":
                cur = cur.parent  # exact: `cur` never holds a symlink
                continue
            nxt = cur / part
            if not self._in_a_root(nxt):
                if missing or not any(root.is_relative_to(nxt) for root in self.asset_roots):
                    return None
                cur = nxt  # a folder above a root
                continue
            cur = nxt
            if missing:
                continue
            try:
                st = os.lstat(nxt)
            except OSError:
                missing = True  # SC401 reports it; what is left can only be names
                continue
            if stat.S_ISLNK(st.st_mode):
                links += 1
                if links > _MAX_LINKS:
                    return None
                target = os.readlink(nxt)  # inside a root: fine to read
                cur = cur.parent
                todo.extend(reversed(Path(target).parts))  # an absolute target restarts at "/"
                if Path(target).is_absolute():
                    cur = Path(Path(target).anchor)
                    todo.pop()
        return cur if self._in_a_root(cur) else None

    def _in_a_root(self, path: Path) -> bool:
        return any(path.is_relative_to(root) for root in self.asset_roots)

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
        target = self.confined(base_dir / raw)
        if target is None:
            roots = ", ".join(map(str, self.asset_roots))
            if ".." in raw.parts:
                return f"'{source}' climbs out of the allowed asset roots with '..' ({roots})"
            if not self.inside_roots(base_dir):
                return f"'{source}' is outside the allowed asset roots ({roots})"
            return f"'{source}' leads out of the allowed asset roots through a symlink ({roots})"
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
            if not self.trusted and not _is_builtin_file(path):
                real = self.confined(path)
                if real is None:
                    raise AssetError(str(path), "is outside the allowed asset roots")
                path = real  # open what was checked, not a name a link could re-point
            if decode is not None:
                return decode(path, rate, channels)
            from ..audio import load_clip

            limits = self.limits or (None if self.trusted else _untrusted_limits())
            return load_clip(path, rate, channels, limits=limits)

        return load


def _is_builtin_file(path: Path) -> bool:
    from .sources import builtin_catalog

    # By name only: resolving `path` could follow a scene's symlink out of the roots.
    return any(path in (p, p.resolve()) for p in builtin_catalog().values())


_MAX_LINKS = 40
"""Symlinks followed for one path before giving up (a loop), as the kernel does."""

TRUSTED = Policy()
