"""A worker for the lifecycle tests: each job starts soundscape in the order its room's name
asks for (``order-<name>-…``), written as a user would write it in an entrypoint.

Run by tests/e2e/test_e2e_lifecycle.py through tests/support/worker.py, with the scene in
``SOUNDSCAPE_SCENE``. It logs one ``lifecycle:`` line per step, which the tests read back.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time

from livekit.agents import Agent, AgentServer, AgentSession, JobContext, JobProcess, cli

import soundscape
from soundscape.testing import ScriptedLLM, ScriptedTTS

SCENE = os.environ["SOUNDSCAPE_SCENE"]
log = logging.getLogger("lifecycle")


def prewarm(proc: JobProcess) -> None:
    soundscape.prewarm(proc, SCENE)


server = AgentServer(setup_fnc=prewarm)


@server.rtc_session()
async def entrypoint(ctx: JobContext) -> None:
    order = ctx.room.name.split("-")[1]
    session = AgentSession(llm=ScriptedLLM(), tts=ScriptedTTS())
    session.on("close", lambda _: ctx.shutdown())
    scape = soundscape.Soundscape(SCENE, seed=1)
    scape.on("closed", lambda: log.info("lifecycle: scape closed"))
    agent = Agent(instructions="You are a test agent.")

    async def start_scape() -> None:
        t0 = time.perf_counter()
        await scape.start(room=ctx.room, agent_session=session)
        log.info("lifecycle: scape.start took %.1f ms", 1e3 * (time.perf_counter() - t0))

    if order == "before":  # before anything: session.start() connects the room
        await start_scape()
        await session.start(agent=agent, room=ctx.room)
    elif order == "explicit":  # before an explicit ctx.connect()
        await start_scape()
        await ctx.connect()
        await session.start(agent=agent, room=ctx.room)
    elif order == "between":
        await ctx.connect()
        await start_scape()
        await session.start(agent=agent, room=ctx.room)
    elif order == "after":
        await session.start(agent=agent, room=ctx.room)
        await start_scape()
    elif order == "none":  # no soundscape at all: the baseline the others are held to
        await session.start(agent=agent, room=ctx.room)
        return
    elif order == "midcall":  # attached while the agent is already talking
        await session.start(agent=agent, room=ctx.room)
        speech = session.say("Hello, and welcome. One moment while I look that up for you.")
        await asyncio.sleep(0.5)
        await start_scape()
        await speech
    else:
        raise ValueError(f"unknown order {order!r}")
    log.info("lifecycle: %s started; scene state %s", order, scape.state)


if __name__ == "__main__":
    cli.run_app(server)
