"""Faults in application code: listeners that raise, and a listener that blocks the loop.

A Soundscape runs inside someone's agent, next to their callbacks. Whatever those do, the
session goes on, the track goes on (at worst a stall is heard as silence and counted),
and nothing is left behind: tasks, FFI handles.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time

import numpy as np
import pytest
from livekit.agents import Agent
from livekit.rtc import _ffi_client
from support.audio_checks import onset, tone_level, tone_track
from support.tap import AudioTap, close_all
from support.tone_scene import AMP, BED, BED_GAIN, CHIME, CUE, THINK, write_tone_scene

from soundscape.engine import Engine, compile_scene
from soundscape.runtime import LiveOptions, Soundscape, make_audio_source
from soundscape.scene import load
from soundscape.testing import Reply, scripted_session

RATE = 48000
W = 960


@pytest.fixture(autouse=True)
async def _close_taps():
    yield
    await close_all()


def live_ffi() -> int:
    gc.collect()
    return sum(1 for h in list(_ffi_client._live_handles) if not h.disposed)


def new_tasks(before: set[asyncio.Task]) -> list[str]:
    return [t.get_name() for t in asyncio.all_tasks() if t not in before and not t.done()]


async def test_raising_listeners_leave_session_track_and_tasks_alone(tmp_path, caplog):
    caplog.set_level(logging.ERROR, "soundscape")
    session = scripted_session([Reply("First answer.", delay=0.4), Reply("Second.", delay=0.2)])
    await session.start(agent=Agent(instructions="test"))
    source = make_audio_source(RATE, 1, 1000)
    tap = AudioTap(source)
    before, ffi = set(asyncio.all_tasks()), live_ffi()
    calls: dict[str, int] = {}

    def boom(kind: str):
        def cb(*args):
            calls[kind] = calls.get(kind, 0) + 1
            raise RuntimeError(f"application bug in {kind}")

        return cb

    scape = Soundscape(write_tone_scene(tmp_path), seed=2)
    for kind in ("state_changed", "trigger", "voice_started", "voice_ended", "closed"):
        scape.on(kind, boom(kind))
    states: list[str] = []
    scape.on("state_changed", lambda ev: states.append(ev.new_state))  # after a raising one
    await scape.start(agent_session=session, audio_source=source)
    await asyncio.sleep(0.3)
    thinking_at: list[float] = []
    session.on(
        "agent_state_changed",
        lambda e: thinking_at.append(time.monotonic()) if e.new_state == "thinking" else None,
    )
    await session.generate_reply(user_input="one")
    scape.trigger("order_confirmed", order="7")
    await asyncio.sleep(0.5)
    await session.generate_reply(user_input="two")  # the session still answers
    await asyncio.sleep(0.3)
    end = tap.index(time.monotonic())
    await scape.aclose()
    await asyncio.sleep(0.05)

    assert calls.keys() == {"state_changed", "trigger", "voice_started", "voice_ended", "closed"}
    assert "thinking" in states and "speaking" in states  # later listeners still ran
    assert any("listener raised" in r.getMessage() for r in caplog.records)
    # What was heard: the thinking cue during the first think, the chime, the bed throughout.
    y = tap.heard()[:end, 0]
    think = tap.index(thinking_at[0])
    assert tone_level(y[think + 3 * W : think + 10 * W], THINK) > 0.8 * CUE
    assert tone_track(y, CHIME, W).max() > 0.2
    bed = tone_track(y[onset(y, 1e-3) + int(0.05 * RATE) :], BED, W)
    assert bed.min() > 0.2 * BED_GAIN * AMP  # ducked while speaking, never gone
    assert session.agent_state == "listening"
    assert new_tasks(before) == []
    assert live_ffi() == ffi
    await session.aclose()


def test_engine_on_event_that_raises_changes_nothing_heard(tmp_path):
    plan = compile_scene(load(write_tone_scene(tmp_path)), RATE, 1)

    def run(listener) -> np.ndarray:
        eng = Engine(plan, seed=4)
        eng.on_event = listener
        out = [eng.render(4800)]
        for name in ("agent.thinking", "trigger.order_confirmed", "agent.speaking"):
            eng.post(name, {"order": "1"} if name.startswith("trigger") else {})
            out.append(eng.render(9600))
        return np.concatenate(out)

    seen: list[str] = []

    def bad(ev) -> None:
        seen.append(ev.kind)
        raise ValueError("listener bug")

    quiet = run(None)
    noisy = run(bad)
    assert {"state", "voice.start"} <= set(seen)
    np.testing.assert_array_equal(noisy, quiet)
    assert tone_level(noisy[4800 + 2400 : 4800 + 9600], THINK) > 0.8 * CUE


async def test_a_listener_blocking_the_loop_500ms_is_a_counted_gap_then_on_time(tmp_path):
    source = make_audio_source(RATE, 1, 1000)
    tap = AudioTap(source)
    before = set(asyncio.all_tasks())
    opts = LiveOptions.preset("balanced")  # a 250 ms queue: a 500 ms block must run it dry
    scape = Soundscape(write_tone_scene(tmp_path), seed=6, latency=opts)
    blocked: list[float] = []

    def slow(ev) -> None:
        if ev.new_state == "thinking" and not blocked:
            blocked.append(time.monotonic())
            time.sleep(0.5)  # an application doing blocking I/O in a callback

    scape.on("state_changed", slow)
    await scape.start(audio_source=source)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    await asyncio.sleep(0.4)
    scape.post("agent.thinking")
    await asyncio.sleep(0.9)  # the 500 ms stall happens in here
    captures_after_stall = len(tap.pushed)
    sent_mark = sum(n for _, n in tap.pushed)
    await asyncio.sleep(1.0)
    m = scape.metrics
    d = scape._driver
    assert d is not None
    lead = d.deck.position / RATE - (loop.time() - t0 - m.underrun_seconds)
    pushed_in_last_second = (sum(n for _, n in tap.pushed) - sent_mark) / RATE
    end = tap.index(time.monotonic())
    await scape.aclose()

    ahead, frame = opts.ahead, opts.frame
    assert blocked and scape.state == "thinking"
    assert m.underruns == 1
    assert 0.5 - ahead - frame - 0.05 < m.underrun_seconds < 0.5 + 0.05
    # No burst to "catch up", and back on the wall clock: one second of audio per second,
    # the engine exactly the render-ahead queue in front of what is heard.
    assert captures_after_stall > 0
    assert 1.0 - frame - 0.02 <= pushed_in_last_second <= 1.0 + frame + 0.02
    assert ahead - frame - 0.03 <= lead <= ahead + 0.03
    # Heard: a gap of silence where the loop was blocked, then the bed and the cue again.
    y = tap.heard()[:end, 0]
    bed = tone_track(y, BED, W)
    stall = tap.index(blocked[0]) // W
    assert (bed[stall : stall + 40] < 0.01).sum() >= 10  # ≥ 200 ms of silence, heard as such
    assert bed[-20:].min() > 0.8 * BED_GAIN * AMP
    assert tone_track(y[-20 * W :], THINK, W).min() > 0.8 * CUE
    assert new_tasks(before) == []
