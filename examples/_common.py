"""What the examples share: which scene to play, and which models to talk with.

With an OpenAI key (``OPENAI_API_KEY``) and ``livekit-plugins-openai`` installed, the agent
talks through OpenAI's realtime model and listens to the caller. Without them it uses
soundscape's scripted stand-ins (`soundscape.testing`): no keys, no network beyond the
LiveKit server, and a short scripted call that walks the scene through its states.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from livekit.agents import AgentSession, JobContext
from livekit.agents.voice import room_io

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger("soundscape.examples")


def scene_path(default: str) -> str:
    """``SOUNDSCAPE_SCENE`` if set (point an example at your own scene), else ``default``
    relative to the project root."""
    return os.environ.get("SOUNDSCAPE_SCENE") or str(ROOT / default)


def realtime_model() -> Any | None:
    """OpenAI's realtime model when a key and the plugin are there; None otherwise."""
    if not os.environ.get("OPENAI_API_KEY"):
        return None
    try:
        from livekit.plugins import openai  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        log.warning(
            "OPENAI_API_KEY is set but livekit-plugins-openai is not installed; "
            "using the scripted stand-ins (pip install livekit-plugins-openai)"
        )
        return None
    return openai.realtime.RealtimeModel()


Turn = Any  # a soundscape.testing.Reply, or a str the agent says


def make_session(script: Sequence[Turn]) -> tuple[AgentSession, bool]:
    """An AgentSession with the real model if configured, else the scripted stand-ins
    answering from ``script``. Returns (session, scripted)."""
    model = realtime_model()
    if model is not None:
        return AgentSession(llm=model), False
    from soundscape.testing import ScriptedLLM, ScriptedSTT, ScriptedTTS

    session: AgentSession = AgentSession(
        llm=ScriptedLLM(script), tts=ScriptedTTS(), stt=ScriptedSTT()
    )
    return session, True


def room_options(scripted: bool) -> room_io.RoomOptions:
    # The scripted call does not listen (its "user" turns come from the script).
    return room_io.RoomOptions(audio_input=not scripted)


async def converse(
    ctx: JobContext,
    session: AgentSession,
    scripted: bool,
    greeting: str,
    user_turns: Sequence[str],
) -> None:
    """Start the conversation. With a real model: greet the caller, then it is up to them.
    With the stand-ins: play the whole scripted call (`scripted_call`)."""
    if scripted:
        await scripted_call(ctx, session, greeting, user_turns)
    else:
        await session.generate_reply(instructions=f"Greet the caller like this: {greeting}")


async def scripted_call(
    ctx: JobContext,
    session: AgentSession,
    greeting: str,
    user_turns: Sequence[str],
    *,
    between: float = 0.5,
) -> None:
    """The scripted caller's side of the call: wait for a caller, greet, then "say" each of
    ``user_turns`` once the agent has finished answering the previous one. Returns when the
    script is done or the session closed (the caller hung up), whichever comes first."""
    closed = asyncio.get_running_loop().create_future()
    session.on("close", lambda _ev: closed.done() or closed.set_result(None))

    async def script() -> None:
        await ctx.wait_for_participant()
        await asyncio.sleep(0.5)  # let the caller subscribe to our tracks first
        await session.say(greeting)
        for text in user_turns:
            await asyncio.sleep(between)
            await _settled(session)
            await session.generate_reply(user_input=text)
            await _settled(session)  # a tool call makes a second reply; wait for it too

    task = asyncio.ensure_future(script())
    await asyncio.wait({task, closed}, return_when=asyncio.FIRST_COMPLETED)
    if not task.done():
        task.cancel()
    with contextlib.suppress(asyncio.CancelledError, RuntimeError):
        await task  # RuntimeError: the session closed under a say()/generate_reply()


async def _settled(session: AgentSession, quiet: float = 0.4) -> None:
    """Return once the agent has been listening for ``quiet`` seconds."""
    while True:
        while session.agent_state != "listening":
            await asyncio.sleep(0.05)
        await asyncio.sleep(quiet)
        if session.agent_state == "listening":
            return


def check_console_audio() -> None:
    """``console`` talks through PortAudio, to a real microphone and speaker: when either is
    missing, say so in one line and exit, instead of a traceback from deep in the CLI."""
    if sys.argv[1:2] != ["console"] or "--text" in sys.argv or "--list-devices" in sys.argv:
        return
    name = Path(sys.argv[0]).name
    try:
        import sounddevice as sd
    except OSError as e:  # sounddevice raises OSError("PortAudio library not found")
        sys.exit(
            f"{name} console: {e}. Console mode plays through PortAudio: install it "
            "(Debian/Ubuntu: apt-get install libportaudio2; macOS: brew install portaudio), "
            "or run a worker for a LiveKit server with `dev` (see examples/README.md)."
        )
    for kind, what in (("output", "speaker"), ("input", "microphone")):
        try:
            sd.query_devices(kind=kind)
        except sd.PortAudioError:
            sys.exit(
                f"{name} console: PortAudio finds no audio {kind} device (a {what}). Console "
                "mode needs a speaker and a microphone; on a machine without them run a "
                "worker for a LiveKit server with `dev` (see examples/README.md)."
            )
