"""soundscape: declarative sound scenes for LiveKit voice agents."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from .errors import AssetError, Diagnostic, SceneError, SoundscapeError

__version__ = "0.1.0"

logger = logging.getLogger("soundscape")

if TYPE_CHECKING:
    from .scene.model import Scene

__all__ = ["AssetError", "Diagnostic", "SceneError", "SoundscapeError", "load_scene", "logger"]


def load_scene(path: Any) -> Scene:
    """Load and validate a scene file (no audio is touched)."""
    from .scene import load

    return load(path)
