"""Scripted stand-ins for an LLM, a TTS and an STT, and a real-time audio sink.

They subclass livekit-agents' own base classes, need no network and no keys, and
make a real `AgentSession` go through its real states (listening → thinking →
speaking, tool calls). Used by soundscape's tests and by `soundscape demo`.
"""

from __future__ import annotations

from .audio_output import RealtimeAudioOutput
from .llm import Reply, ScriptedLLM, ToolCall
from .session import scripted_session
from .stt import ScriptedSTT
from .tts import ScriptedTTS

__all__ = [
    "RealtimeAudioOutput",
    "Reply",
    "ScriptedLLM",
    "ScriptedSTT",
    "ScriptedTTS",
    "ToolCall",
    "scripted_session",
]
