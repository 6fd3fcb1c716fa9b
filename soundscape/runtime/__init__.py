"""The live runtime: a scene attached to an AgentSession, playing on its own track."""

from .handles import PlayHandle
from .options import LiveOptions
from .publish import default_publish_options
from .sink import make_audio_source
from .soundscape import Soundscape, StateChanged
from .warm import prewarm

__all__ = [
    "LiveOptions",
    "PlayHandle",
    "Soundscape",
    "StateChanged",
    "default_publish_options",
    "make_audio_source",
    "prewarm",
]
