"""Live reload: read an edited scene again, and notice edits by polling file times.

Loading and compiling happen off the event loop (decoding can take a while); the
swap itself is `Engine.adopt`, applied by the driver at the sample playing now (`Run.adopt`).
Watching needs no thread: the driver's tick calls `Watcher.due`, which stats the
scene file and every file it extends or includes at most once per period.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..engine import Plan, compile_scene
from ..engine.adopt import AdoptReport
from ..errors import AssetError, Diagnostic, Pos, SceneError
from ..scene.model import Scene
from ..scene.policy import Policy

log = logging.getLogger("soundscape")

WATCH_PERIOD = 0.3
"""Seconds between two looks at the files when watching (a few stats each time)."""


@dataclass(frozen=True)
class ReloadResult:
    """What `Soundscape.reload` did. ``ok`` False: the edit was refused and the old scene
    plays on; ``diagnostics`` says where (``file:line:col``) and why."""

    ok: bool
    diagnostics: tuple[Diagnostic, ...] = ()
    kept: tuple[str, ...] = ()
    crossfaded: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    state: str | None = None

    @classmethod
    def applied(cls, report: AdoptReport | None, state: str) -> ReloadResult:
        if report is None:  # not playing: the new scene is used at the next start()
            return cls(True, state=state)
        return cls(
            True,
            (),
            tuple(report.kept),
            tuple(report.crossfaded),
            tuple(report.added),
            tuple(report.removed),
            report.state,
        )

    def __bool__(self) -> bool:
        return self.ok


def load_edit(
    path: str, policy: Policy, rate: int, channels: int, loader: Any
) -> tuple[Scene, Plan] | list[Diagnostic]:
    """The scene at ``path`` loaded and compiled, or the diagnostics that refuse it."""
    from ..scene import load

    try:
        scene = load(path, policy=policy)
        return scene, compile_scene(scene, rate, channels, loader)
    except SceneError as e:
        errors = [d for d in e.diagnostics if d.severity == "error"]
        return errors or list(e.diagnostics)
    except AssetError as e:
        return [Diagnostic(Pos(path), f"cannot load audio: {e}", code="asset")]
    except OSError as e:
        return [Diagnostic(Pos(path), f"cannot read: {e.strerror or e}", code="io")]


Stamp = tuple[tuple[str, int, int] | None, ...]


class Watcher:
    """Tells when any of a set of files changed (modified, replaced, created or deleted)."""

    def __init__(self, files: Sequence[Path], period: float = WATCH_PERIOD) -> None:
        self.period = period
        self._files: list[Path] = []
        self._stamp: Stamp = ()
        self._next = 0.0
        self.track(files)

    def track(self, files: Sequence[Path]) -> None:
        """Watch these files from now on (after a reload changed what is extended/included)."""
        self._files = list(files)
        self._stamp = self._look()

    def due(self, now: float) -> bool:
        """True when a file changed since the last look; looks at most once per period."""
        if now < self._next:
            return False
        self._next = now + self.period
        stamp = self._look()
        if stamp == self._stamp:
            return False
        self._stamp = stamp
        return True

    def _look(self) -> Stamp:
        return file_stamp(self._files)


def file_stamp(files: Sequence[Path]) -> Stamp:
    """(path, mtime, size) of each file; None for one that cannot be stat-ed (an editor
    replacing it, or gone). Equal stamps: nothing changed."""
    out: list[tuple[str, int, int] | None] = []
    for f in files:
        try:
            st = os.stat(f)
        except OSError:
            out.append(None)
            continue
        out.append((str(f), st.st_mtime_ns, st.st_size))
    return tuple(out)


class Reloader:
    """`Soundscape.reload()` and `watch()`: one reload at a time, each reading the files off
    the event loop; a bad edit is refused (logged, returned), a good one handed to ``apply``."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self.watcher: Watcher | None = None

    def watch(self, files: Sequence[Path], enabled: bool | float) -> None:
        if not enabled:
            self.watcher = None
            return
        self.watcher = Watcher(files, WATCH_PERIOD if enabled is True else float(enabled))

    def due(self, now: float) -> bool:
        """True when a watched file changed (looks at most once per period)."""
        return self.watcher is not None and self.watcher.due(now)

    async def reload(
        self,
        file: str,
        *,
        policy: Policy,
        rate: int,
        channels: int,
        loader: Any,
        state: str,
        apply: Callable[[Scene, Plan], Awaitable[ReloadResult]],
    ) -> ReloadResult:
        async with self._lock:
            got = await asyncio.to_thread(load_edit, file, policy, rate, channels, loader)
            if isinstance(got, list):
                warn_refused(file, got, log.warning)
                return ReloadResult(False, tuple(got), state=state)
            scene, plan = got
            if self.watcher is not None:
                self.watcher.track(scene.files)
            result = await apply(scene, plan)
            log.info("%s", describe(result, file))
            return result


def describe(result: ReloadResult, file: str) -> str:
    """One log line for an applied reload."""
    parts = [
        f"{label} {', '.join(names)}"
        for label, names in (
            ("kept", result.kept),
            ("crossfaded", result.crossfaded),
            ("added", result.added),
            ("removed", result.removed),
        )
        if names
    ]
    return f"soundscape: reloaded {file} ({'; '.join(parts) or 'nothing changed'})"


def warn_refused(file: str, diagnostics: Sequence[Diagnostic], log_fn: Callable[..., Any]) -> None:
    shown = "\n".join(str(d) for d in diagnostics[:10])
    log_fn("soundscape: %s has errors; the previous version keeps playing:\n%s", file, shown)
