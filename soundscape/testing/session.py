"""Build a real AgentSession wired to the scripted stand-ins, with no room."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from livekit.agents import AgentSession

from .audio_output import RealtimeAudioOutput
from .llm import Reply, ScriptedLLM
from .stt import ScriptedSTT
from .tts import ScriptedTTS


def scripted_session(
    replies: Iterable[Reply | str] = (), *, keep_audio: bool = False, **session_kwargs: Any
) -> AgentSession:
    """An `AgentSession` using `ScriptedLLM`/`ScriptedTTS`/`ScriptedSTT` and a real-time sink.

    Start it with ``await session.start(agent=...)`` (no room) and drive user turns with
    ``session.generate_reply(user_input=...)``. The stand-ins are ``session.llm``, ``session.tts``.
    """
    session: AgentSession = AgentSession(
        llm=ScriptedLLM(replies),
        tts=ScriptedTTS(),
        stt=ScriptedSTT(),
        **session_kwargs,
    )
    session.output.audio = RealtimeAudioOutput(keep=keep_audio)
    return session
