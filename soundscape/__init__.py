"""soundscape: declarative sound scenes for LiveKit voice agents."""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

from ._lazy import lazy_attributes
from .errors import AssetError, Diagnostic, SceneError, SoundscapeError

__version__ = "0.1.0"

logger = logging.getLogger("soundscape")

if TYPE_CHECKING:
    from .compat import from_background_audio
    from .runtime import LiveOptions, PlayHandle, Soundscape
    from .runtime.prewarm import prewarm
    from .scene.model import Scene

__all__ = [
    "AssetError",
    "Diagnostic",
    "LiveOptions",
    "PlayHandle",
    "SceneError",
    "Soundscape",
    "SoundscapeError",
    "from_background_audio",
    "load",
    "load_scene",
    "logger",
    "prewarm",
]

# Imported on first use: `soundscape --help` must not import livekit-agents.
__getattr__ = lazy_attributes(
    __name__,
    {
        "Soundscape": ".runtime",
        "LiveOptions": ".runtime",
        "PlayHandle": ".runtime",
        "from_background_audio": ".compat",
        "prewarm": ".runtime.prewarm",
    },
)


def load(path: Any, **options: Any) -> Soundscape:
    """Load a scene file into a `Soundscape` ready to `start()` (see docs/runtime.md)."""
    from .runtime import Soundscape
    from .runtime.prewarm import prewarmed

    scape = Soundscape(path, **options)
    if isinstance(path, (str, os.PathLike)) and scape._loader is None and scape.policy.trusted:
        scape._plan = prewarmed(path, scape.rate, scape.channels)
    return scape


def load_scene(path: Any) -> Scene:
    """Load and validate a scene file (no audio is touched)."""
    from .scene import load

    return load(path)
