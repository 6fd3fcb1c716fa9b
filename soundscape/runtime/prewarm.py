"""Load and compile scenes before a job arrives (livekit-agents' ``setup_fnc``/prewarm).

A job process runs the server's ``setup_fnc`` once when it starts, before any job is assigned
to it; decoding a scene's clips there takes that work off the path of the caller's first
second. ``soundscape.load(path)`` in the entrypoint then picks up the compiled plan.

Minimal version (issue 12, examples branch): plans are kept per process, keyed by the scene
file's resolved path, rate and channels.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..engine.plan import Plan

log = logging.getLogger("soundscape")

_PLANS: dict[tuple[str, int, int], Plan] = {}


def _key(path: str | os.PathLike[str], rate: int, channels: int) -> tuple[str, int, int]:
    return (str(Path(path).resolve()), rate, channels)


def prewarm(
    proc: Any,
    *scenes: str | os.PathLike[str],
    rate: int = 48000,
    channels: int = 1,
) -> None:
    """Load, lint-check and compile ``scenes`` (clips decoded) in this process, for
    `soundscape.load` to reuse. ``proc`` is the `JobProcess` handed to ``setup_fnc`` (or None
    outside a worker). A bad scene raises `SceneError` naming file and line, here, before any
    caller is waiting."""
    from .soundscape import Soundscape

    for path in scenes:
        scape = Soundscape(path, rate=rate, channels=channels)
        _PLANS[_key(path, rate, channels)] = scape._compile()
        log.debug("soundscape: prewarmed %s", path)
    if proc is not None and hasattr(proc, "userdata"):
        proc.userdata.setdefault("soundscape", []).extend(str(p) for p in scenes)


def prewarmed(path: str | os.PathLike[str], rate: int, channels: int) -> Plan | None:
    """The plan `prewarm` compiled for this scene file, if any."""
    return _PLANS.get(_key(path, rate, channels))
