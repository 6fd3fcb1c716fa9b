"""soundscape: declarative sound scenes for LiveKit voice agents.

``Soundscape(path)`` loads a scene; ``await scape.start(room=..., agent_session=...)`` plays
it next to the session (docs/runtime.md). Every error raised on purpose is a
`SoundscapeError` (the tree is in `soundscape.errors`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ._lazy import lazy_attributes, lazy_dir
from .errors import (
    AssetError,
    Diagnostic,
    GraphvizMissing,
    PlotUnavailable,
    ScaffoldError,
    SceneError,
    ServerUnavailable,
    SoundscapeError,
)

__version__ = "0.1.0"

logger = logging.getLogger("soundscape")

if TYPE_CHECKING:
    from .runtime import (
        ClosedEvent,
        EventTypes,
        LiveOptions,
        PlayHandle,
        ReloadResult,
        Soundscape,
        SoundscapeMetrics,
        StateChangedEvent,
        TriggerEvent,
        VoiceEndedEvent,
        VoiceStartedEvent,
        prewarm,
    )
    from .runtime.compat import from_background_audio
    from .scene.policy import Policy

__all__ = [
    "AssetError",
    "ClosedEvent",
    "Diagnostic",
    "EventTypes",
    "GraphvizMissing",
    "LiveOptions",
    "PlayHandle",
    "PlotUnavailable",
    "Policy",
    "ReloadResult",
    "ScaffoldError",
    "SceneError",
    "ServerUnavailable",
    "Soundscape",
    "SoundscapeError",
    "SoundscapeMetrics",
    "StateChangedEvent",
    "TriggerEvent",
    "VoiceEndedEvent",
    "VoiceStartedEvent",
    "from_background_audio",
    "logger",
    "prewarm",
]

# Imported on first use: `import soundscape` and `soundscape --help` must not import livekit.
_LAZY = {
    **dict.fromkeys(
        [
            "ClosedEvent",
            "EventTypes",
            "LiveOptions",
            "PlayHandle",
            "ReloadResult",
            "Soundscape",
            "SoundscapeMetrics",
            "StateChangedEvent",
            "TriggerEvent",
            "VoiceEndedEvent",
            "VoiceStartedEvent",
            "prewarm",
        ],
        ".runtime",
    ),
    "from_background_audio": ".runtime.compat",
    "Policy": ".scene.policy",
}
__getattr__ = lazy_attributes(__name__, _LAZY)
__dir__ = lazy_dir(__name__, _LAZY)
