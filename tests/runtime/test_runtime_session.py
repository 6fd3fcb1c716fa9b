"""A real AgentSession (scripted LLM/TTS) drives a Soundscape feeding a real rtc.AudioSource.

We listen to what the source plays (rebuilt from its capture/clear calls) around the
moments the session changed state.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from livekit.agents import Agent, RunContext, function_tool
from support.audio_checks import last_sound, tone_level, tone_track
from support.room import FakeRoom
from support.tap import AudioTap, close_all
from support.tone_scene import (
    AMP,
    BED,
    BED_GAIN,
    CHIME,
    CUE,
    DUCK,
    THINK,
    THINK_FADE_OUT,
    TOOL,
    write_tone_scene,
)

from soundscape.runtime import Soundscape, make_audio_source
from soundscape.testing import Reply, ToolCall, scripted_session

RATE = 48000
W = 960  # 20 ms analysis windows


class ToolAgent(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="test")

    @function_tool
    async def lookup(self, ctx: RunContext, query: str) -> str:
        """Look something up."""
        await asyncio.sleep(0.5)
        return "forty-two"

    @function_tool
    async def weather(self, ctx: RunContext, city: str) -> str:
        """Get the weather."""
        await asyncio.sleep(0.5)
        return "sunny"


async def run_conversation(tmp_path: Path, tool: str) -> dict[str, Any]:
    """One user turn: think → call ``tool`` → answer; return what was heard and when."""
    path = write_tone_scene(tmp_path)
    session = scripted_session(
        [
            Reply(
                tools=(ToolCall(tool, {"query" if tool == "lookup" else "city": "x"}),), delay=0.4
            ),
            Reply("Here is the answer you asked for.", delay=0.3),
        ]
    )
    marks: list[tuple[float, str]] = []
    session.on("agent_state_changed", lambda e: marks.append((time.monotonic(), e.new_state)))
    session.on(
        "tool_execution_updated",
        lambda e: marks.append((time.monotonic(), e.update.type)),
    )
    source = make_audio_source(RATE, 1, 1000)
    tap = AudioTap(source)
    room = FakeRoom()
    scape = Soundscape(path, seed=1)
    await session.start(agent=ToolAgent())
    await scape.start(room=room, agent_session=session, audio_source=source)
    await asyncio.sleep(0.4)
    await session.generate_reply(user_input="question")
    await asyncio.sleep(0.4)
    published = list(room.local_participant.published)
    await session.aclose()
    # The session's close event stops the scape by itself.
    await asyncio.wait_for(scape.wait_closed(), timeout=5)
    await asyncio.sleep(0.1)  # hear what follows the close too
    heard = tap.heard()[:, 0]
    await close_all()
    return {
        "heard": heard,
        "tap": tap,
        "marks": marks,
        "scape": scape,
        "room": room,
        "published": published,
    }


def at(run: dict[str, Any], what: str) -> int:
    t = next(t for t, name in run["marks"] if name == what)
    return int(run["tap"].index(t))


@pytest.fixture(scope="module")
def lookup_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return asyncio.run(run_conversation(tmp_path_factory.mktemp("lookup"), "lookup"))


def test_thinking_cue_sounds_while_thinking_and_stops_when_speaking(lookup_run):
    y = lookup_run["heard"]
    think, speak = at(lookup_run, "thinking"), at(lookup_run, "speaking")
    assert speak - think > 0.5 * RATE  # the tool really made the agent think
    # Before thinking: no cue at all.
    assert tone_level(y[think - 10 * W : think], THINK) < 0.005
    # From 40 ms after the state change (10 ms fade-in + splice) until speaking: the cue.
    for i in range(think + 2 * W, speak - W, W):
        assert tone_level(y[i : i + W], THINK) > 0.8 * CUE, f"cue missing at {i / RATE:.3f}s"
    # Gone within its fade-out plus one block (100 ms) after speaking started.
    gone = speak + int((THINK_FADE_OUT + 0.1) * RATE)
    assert tone_level(y[gone : gone + 4 * W], THINK) < 0.005


def test_bed_is_ducked_while_the_agent_speaks(lookup_run):
    y = lookup_run["heard"]
    speak, listen = (
        at(lookup_run, "speaking"),
        [
            i
            for t, n in lookup_run["marks"]
            if n == "listening"
            for i in [lookup_run["tap"].index(t)]
        ][-1],
    )
    full = BED_GAIN * AMP
    before = tone_level(y[speak - 5 * W : speak], BED)
    during = tone_level(y[speak + 5 * W : speak + 10 * W], BED)  # after the 50 ms attack
    after = tone_level(y[listen + 10 * W : listen + 15 * W], BED)  # after the 100 ms release
    assert before == pytest.approx(full, rel=0.05)
    assert during == pytest.approx(full * DUCK, rel=0.1)
    assert after == pytest.approx(full, rel=0.05)


def test_tool_cue_plays_for_its_tool(lookup_run):
    y = lookup_run["heard"]
    start, end = at(lookup_run, "tool_call_started"), at(lookup_run, "tool_call_ended")
    assert tone_level(y[start - 5 * W : start], TOOL) < 0.005
    assert tone_level(y[start + 3 * W : end - W], TOOL) > 0.8 * CUE


def test_tool_cue_is_silent_for_another_tool(tmp_path):
    run = asyncio.run(run_conversation(tmp_path, "weather"))
    y = run["heard"]
    start, speak = at(run, "tool_call_started"), at(run, "speaking")
    assert speak > start + W
    assert tone_level(y[start:speak], TOOL) < 0.005
    assert tone_level(y[start:speak], THINK) > 0.8 * CUE  # the thinking cue still plays


def test_session_close_stops_the_scape_and_unpublishes(lookup_run):
    scape, room = lookup_run["scape"], lookup_run["room"]
    assert not scape.running
    [pub] = lookup_run["published"]
    assert pub.name == "soundscape"
    assert pub.options.dtx is False
    assert room.local_participant.unpublished == [pub.sid]
    assert room.local_participant.track_publications == {}
    # It faded out (the bed's 100 ms fade_out) rather than stopping dead, then silence:
    # over the last 100 ms the bed's level steps down through intermediate values.
    y = lookup_run["heard"]
    end = last_sound(y, 1e-3)
    assert end is not None and end < y.size - 4 * W
    levels = tone_track(y[end - int(0.12 * RATE) : end], BED, W // 2)
    full = BED_GAIN * AMP
    assert levels[0] > 0.5 * full
    assert sum(0.1 * full < v < 0.8 * full for v in levels) >= 3
    assert levels[-1] < 0.3 * full


async def test_the_llm_fires_a_trigger_through_its_tool(tmp_path):
    scape = Soundscape(write_tone_scene(tmp_path), seed=1)
    session = scripted_session(
        [Reply(tools=(ToolCall("order_confirmed", {"order": "9"}),), delay=0.2), "Done."]
    )
    started: list[float] = []
    session.on(
        "tool_execution_updated",
        lambda e: (
            started.append(time.monotonic()) if e.update.type == "tool_call_started" else None
        ),
    )
    fired: list[tuple[str, dict]] = []
    scape.on("trigger", lambda ev: fired.append((ev.name, ev.fields)))
    source = make_audio_source(RATE, 1, 1000)
    tap = AudioTap(source)
    await session.start(agent=Agent(instructions="test", tools=scape.llm_tools()))
    await scape.start(agent_session=session, audio_source=source)
    await asyncio.sleep(0.3)
    await session.generate_reply(user_input="confirm my order")
    await asyncio.sleep(0.5)
    await session.aclose()
    await asyncio.wait_for(scape.wait_closed(), timeout=5)
    y = tap.heard()[:, 0]
    t = tap.index(started[0])
    await close_all()
    assert fired == [("order_confirmed", {"order": "9"})]
    assert tone_level(y[t - 10 * W : t], CHIME) < 0.005
    assert tone_level(y[t + W : t + 10 * W], CHIME) > 0.4  # the chime, at its 0.5 level
