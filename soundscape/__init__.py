"""soundscape: declarative sound scenes for LiveKit voice agents."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ._lazy import lazy_attributes, lazy_dir
from .errors import AssetError, Diagnostic, SceneError, SoundscapeError

__version__ = "0.1.0"

logger = logging.getLogger("soundscape")

if TYPE_CHECKING:
    from .runtime import LiveOptions, PlayHandle, Soundscape, prewarm
    from .runtime.compat import from_background_audio
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
_LAZY = {
    "Soundscape": ".runtime",
    "LiveOptions": ".runtime",
    "PlayHandle": ".runtime",
    "prewarm": ".runtime",
    "from_background_audio": ".runtime.compat",
}
__getattr__ = lazy_attributes(__name__, _LAZY)
__dir__ = lazy_dir(__name__, _LAZY)


def load(path: Any, **options: Any) -> Soundscape:
    """Load a scene file into a `Soundscape` ready to `start()` (see docs/runtime.md)."""
    from .runtime import Soundscape

    return Soundscape(path, **options)


def load_scene(path: Any) -> Scene:
    """Load and validate a scene file (no audio is touched)."""
    from .scene import load

    return load(path)
