"""A worker for the one-track end-to-end tests: each job runs one scripted call, with the
scape in the mode and order its room's name asks for (``ot-<order>-<script>-…``).

``order``: ``before`` (``scape.start(one_track=True)`` before ``session.start()``),
``after`` (right after it: RoomIO's output is swapped out, often before RoomIO started
it), ``late`` (once RoomIO has published its track: that track is unpublished), ``own``
(no one-track: the scene on its own track, the voice on RoomIO's: the baseline).
``script``: ``turns`` (a greeting, a pause, a user turn the LLM thinks about, its answer)
or ``interrupt`` (a long sentence interrupted mid-way by ``session.interrupt()``).

Run by tests/e2e/test_e2e_one_track.py through tests/support/worker.py, with the scene in
``SOUNDSCAPE_SCENE``. Every step is logged as one ``onetrack:`` line carrying
``time.monotonic()`` (one clock for every process on the machine), so the test lays the
agent's states and playback reports on the caller's timeline.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import Any

from livekit.agents import Agent, AgentServer, AgentSession, JobContext, JobProcess, cli

import soundscape
from soundscape.testing import Reply, ScriptedLLM, ScriptedTTS

SCENE = os.environ["SOUNDSCAPE_SCENE"]
GREETING = "Hello and welcome to the test line."  # 35 chars: 1.75 s of ScriptedTTS voice
ANSWER = "The weather is fine today, thank you."  # 37 chars: 1.85 s
LONG = (  # 120 chars: 6 s of voice, interrupted after about 2 s
    "This is a long sentence that keeps going for quite a while so that there is plenty "
    "of it left to cut when the interruption comes."
)
THINK_SECONDS = 2.0
INTERRUPT_AFTER = 2.0
log = logging.getLogger("onetrack")


def mark(what: str, **values: Any) -> None:
    extra = "".join(f" {k}={v}" for k, v in values.items())
    log.info("onetrack: %s at %.4f%s", what, time.monotonic(), extra)


def prewarm(proc: JobProcess) -> None:
    soundscape.prewarm(proc, SCENE)


server = AgentServer(setup_fnc=prewarm)


def bottom(out: Any) -> Any:
    while out is not None and out.next_in_chain is not None:
        out = out.next_in_chain
    return out


def watch_output(session: AgentSession) -> None:
    """Log what the session's audio output reports (the top of its chain: what the agent
    activity itself listens to)."""
    out = session.output.audio
    assert out is not None
    out.on("playback_started", lambda ev: mark("playback_started"))
    out.on(
        "playback_finished",
        lambda ev: mark(
            "playback_finished",
            position=f"{ev.playback_position:.4f}",
            interrupted=ev.interrupted,
            sink=type(bottom(out)).__name__,
            transcript=repr(ev.synchronized_transcript),
        ),
    )


@server.rtc_session()
async def entrypoint(ctx: JobContext) -> None:
    _, order, script = ctx.room.name.split("-")[:3]
    llm = ScriptedLLM([Reply(ANSWER, delay=THINK_SECONDS)])
    session = AgentSession(llm=llm, tts=ScriptedTTS())
    session.on("close", lambda _: ctx.shutdown())
    session.on("agent_state_changed", lambda ev: mark("state", new=ev.new_state))
    scape = soundscape.Soundscape(SCENE, seed=1)
    agent = Agent(instructions="You are a test agent.")
    one = order != "own"

    if order == "before":
        await scape.start(room=ctx.room, agent_session=session, one_track=True)
        await session.start(agent=agent, room=ctx.room)
    else:
        await session.start(agent=agent, room=ctx.room)
        if order == "late":  # once RoomIO has published its own track
            await asyncio.wait_for(_roomio_published(ctx), 20)
            mark("roomio_published")
        await scape.start(room=ctx.room, agent_session=session, one_track=one)
    watch_output(session)
    mark("started", order=order, sink=type(bottom(session.output.audio)).__name__)
    # Let the caller hear the bed alone first (and, after the swap, RoomIO's track go).
    await asyncio.sleep(1.5)

    if script == "turns":
        mark("greeting")
        await session.say(GREETING)
        mark("greeting_done")
        await asyncio.sleep(1.5)
        mark("user_turn")
        await session.generate_reply(user_input="How is the weather?")
        mark("answer_done")
    elif script == "interrupt":
        handle = session.say(LONG)
        await asyncio.wait_for(_speaking(session), 30)
        await asyncio.sleep(INTERRUPT_AFTER)
        mark("interrupt")
        await session.interrupt()
        await handle
        msg = next((m for m in handle.chat_items if getattr(m, "role", "") == "assistant"), None)
        text = msg.text_content if msg is not None else None
        mark(
            "interrupted",
            handle=handle.interrupted,
            message_interrupted=getattr(msg, "interrupted", None),
            text=repr(text),
        )
    else:
        raise ValueError(f"unknown script {script!r}")
    await asyncio.sleep(2.0)  # the bed alone again, after the voice
    mark("done")


async def _roomio_published(ctx: JobContext) -> None:
    while not any(
        p.name == "roomio_audio" for p in ctx.room.local_participant.track_publications.values()
    ):
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.5)  # the caller subscribes to it


async def _speaking(session: AgentSession) -> None:
    while session.agent_state != "speaking":
        await asyncio.sleep(0.01)


if __name__ == "__main__":
    cli.run_app(server)
