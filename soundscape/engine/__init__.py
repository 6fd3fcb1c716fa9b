"""The audio engine: compile a scene into a `Plan`, render it deterministically with `Engine`.

Pure Python + numpy: no asyncio, no threads, no wall clock. See docs/engine.md.
"""

from .core import Engine
from .events import EngineEvent
from .plan import Plan, compile_scene
from .stream import StreamSource
from .voice_key import ArrayVoiceKey, VoiceKey

__all__ = [
    "ArrayVoiceKey",
    "Engine",
    "EngineEvent",
    "Plan",
    "StreamSource",
    "VoiceKey",
    "compile_scene",
]
