"""The live runtime: a scene attached to an AgentSession, playing on its own track."""

from .events import (
    ClosedEvent,
    EventTypes,
    StateChangedEvent,
    TriggerEvent,
    VoiceEndedEvent,
    VoiceStartedEvent,
)
from .handles import PlayHandle
from .metrics import SoundscapeMetrics
from .options import LiveOptions
from .publish import default_publish_options
from .reload import ReloadResult
from .sink import make_audio_source
from .soundscape import Soundscape
from .warm import prewarm

__all__ = [
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
    "default_publish_options",
    "make_audio_source",
    "prewarm",
]
