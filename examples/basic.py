"""Office ambience under the call, keyboard typing while the agent thinks.

The soundscape equivalent of livekit-agents' BackgroundAudioPlayer basic example
(examples/voice_agents/background_audio.py), with scenes/office.yaml. Run:

    python examples/basic.py dev        # a worker for your LiveKit server (LIVEKIT_URL, ...)
    python examples/basic.py console    # talk to it locally (needs PortAudio)

See examples/README.md.
"""

from __future__ import annotations

import asyncio

from _common import (
    check_console_audio,
    converse,
    make_session,
    room_options,
    scene_path,
)
from livekit.agents import Agent, AgentServer, JobContext, JobProcess, cli, function_tool

import soundscape
from soundscape.testing import Reply, ToolCall

SCENE = scene_path("scenes/office.yaml")


class SearchAgent(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="You are a helpful assistant. Search the web when asked.")

    @function_tool
    async def search_web(self, query: str) -> str:
        """Search the web for information.

        Args:
            query: What to look up.
        """
        await asyncio.sleep(2.5)  # a slow search: the caller hears typing meanwhile
        return f"Nothing found for {query!r}; answer from what you know."


def prewarm(proc: JobProcess) -> None:
    # Decode the scene's clips when the job process starts, not when the caller arrives.
    soundscape.prewarm(proc, SCENE)


server = AgentServer(setup_fnc=prewarm)

# With no API keys the agent answers from this script (see _common.py).
SCRIPT = [
    Reply(tools=(ToolCall("search_web", {"query": "weather in Lisbon"}),), delay=0.5),
    Reply(text="Lisbon is usually sunny this time of year."),
]


@server.rtc_session()
async def entrypoint(ctx: JobContext) -> None:
    session, scripted = make_session(SCRIPT)
    # The caller hung up (RoomIO closes the session): end the job, or it idles ~20 s.
    session.on("close", lambda _: ctx.shutdown())
    scape = soundscape.Soundscape(SCENE)
    await session.start(agent=SearchAgent(), room=ctx.room, room_options=room_options(scripted))
    # After session.start (which connects to the room): the scene publishes its own track.
    await scape.start(room=ctx.room, agent_session=session)
    # No aclose() needed: the scape fades out and stops by itself when the session closes.
    await converse(
        ctx,
        session,
        scripted,
        "Hello! I can search the web for you.",
        ["What's the weather in Lisbon?"],
    )


if __name__ == "__main__":
    check_console_audio()
    cli.run_app(server)
