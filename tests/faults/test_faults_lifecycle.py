"""Closing at awkward moments: during start, twice at once, while the session closes mid-fade.

Each case: both calls return, the fade is heard once and whole (no click, no second fade,
no hard cut), the track is unpublished exactly once, `closed` fires once, the session
keeps running (or closes as asked), and no task is left behind.
"""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest
from livekit.agents import Agent
from support.audio_checks import clicks, last_sound, step_bound, tone_track
from support.room import FakeRoom
from support.tap import AudioTap, close_all
from support.tone_scene import AMP, BED, BED_GAIN, write_tone_scene

from soundscape.runtime import Soundscape, make_audio_source
from soundscape.testing import Reply, scripted_session

RATE = 48000
W = 960
BED_STEP = step_bound([(BED_GAIN * AMP, BED)])


@pytest.fixture(autouse=True)
async def _close_taps():
    yield
    await close_all()


def leftover(before: set[asyncio.Task]) -> list[str]:
    return [t.get_name() for t in asyncio.all_tasks() - before if not t.done()]


def check_fade(y: np.ndarray, begun: int, seconds: float) -> None:
    """One equal-power fade of ``seconds`` heard from about ``begun`` (±40 ms): half-way down
    at its middle, silent after, no click anywhere in it.

    ``begun`` comes from the wall clock (when the close was asked for), so on a busy machine
    the fade may start a tick or two later; its shape is checked from where the audio says it
    started (its end, less its length), and only its start against ``begun``."""
    full = BED_GAIN * AMP
    end = last_sound(y, 1e-3)
    assert end is not None
    start = end - int(seconds * RATE)
    assert abs(start - begun) < 0.04 * RATE, (start - begun) / RATE
    mid = start + int(seconds * RATE / 2)
    level = tone_track(y[mid - W : mid + W], BED, 2 * W)[0]
    assert level == pytest.approx(full * np.cos(np.pi / 4), rel=0.15)
    before = tone_track(y[start - 6 * W : start - W], BED, W)
    assert before.min() > 0.95 * full  # full level until the fade began
    assert clicks(y[start - W : end + W], material_step=BED_STEP) == []


async def test_aclose_while_start_is_running(tmp_path):
    session = scripted_session([Reply("Hello.", delay=0.1)])
    await session.start(agent=Agent(instructions="test"))
    before = set(asyncio.all_tasks())
    room = FakeRoom()
    scape = Soundscape(write_tone_scene(tmp_path), seed=1)
    closed: list[int] = []
    scape.on("closed", lambda: closed.append(1))
    # At different awaits inside start() (with 0 the start task has not begun: aclose()
    # finds nothing to close, and the start that follows runs; not this fault).
    for pause in (1, 2, 3, 5):
        starting = asyncio.ensure_future(scape.start(room=room, agent_session=session))
        for _ in range(pause):
            await asyncio.sleep(0)
        await scape.aclose()
        await starting
        assert not scape.running, f"running after aclose() {pause} steps into start()"
    lp = room.local_participant
    assert [p.sid for p in lp.published] == lp.unpublished and lp.track_publications == {}
    assert len(closed) == 4
    # The session did not notice: it still answers.
    await session.generate_reply(user_input="hi")
    assert session.agent_state in ("listening", "speaking")
    assert leftover(before) == []
    await session.aclose()


async def test_aclose_twice_at_once_fades_once(tmp_path):
    room = FakeRoom()
    before = set(asyncio.all_tasks())
    scape = Soundscape(write_tone_scene(tmp_path), seed=1)
    closed: list[int] = []
    scape.on("closed", lambda: closed.append(1))
    source = make_audio_source(RATE, 1, 1000)
    tap = AudioTap(source)
    await scape.start(room=room, audio_source=source)
    await asyncio.sleep(0.4)
    t = time.monotonic()
    await asyncio.gather(scape.aclose(fade=0.3), scape.aclose(fade=0.3))
    await asyncio.sleep(0.2)
    assert not scape.running and closed == [1]
    check_fade(tap.heard()[:, 0], tap.index(t), 0.3)  # one 300 ms fade, not two, not a cut
    assert room.local_participant.unpublished == ["TR_1"]
    await tap.aclose()
    await source.aclose()
    assert leftover(before) == []


async def test_session_closing_mid_fade_lets_the_fade_finish(tmp_path):
    session = scripted_session()
    await session.start(agent=Agent(instructions="test"))
    before = set(asyncio.all_tasks())
    room = FakeRoom()
    scape = Soundscape(write_tone_scene(tmp_path), seed=1)
    closed: list[int] = []
    scape.on("closed", lambda: closed.append(1))
    source = make_audio_source(RATE, 1, 1000)
    tap = AudioTap(source)
    await scape.start(room=room, agent_session=session, audio_source=source)
    await asyncio.sleep(0.4)
    t = time.monotonic()
    closing = asyncio.ensure_future(scape.aclose(fade=0.6))
    await asyncio.sleep(0.2)  # a third of the way down
    await session.aclose()  # its close event must not cut or restart the fade
    await closing
    await scape.wait_closed()
    await asyncio.sleep(0.2)
    assert closed == [1]
    check_fade(tap.heard()[:, 0], tap.index(t), 0.6)
    assert room.local_participant.unpublished == ["TR_1"]
    await tap.aclose()
    await source.aclose()
    assert leftover(before) == []


async def test_the_session_closing_then_aclose_from_the_app(tmp_path):
    # The other order: the session's close starts the scape's own fade; the application's
    # aclose() (say, in a shutdown hook) arrives during it and waits for the same fade.
    session = scripted_session()
    await session.start(agent=Agent(instructions="test"))
    room = FakeRoom()
    scape = Soundscape(write_tone_scene(tmp_path), seed=1)
    source = make_audio_source(RATE, 1, 1000)
    tap = AudioTap(source)
    await scape.start(room=room, agent_session=session, audio_source=source)
    await asyncio.sleep(0.4)
    closed_at: list[float] = []
    session.on("close", lambda ev: closed_at.append(time.monotonic()))
    app_close = asyncio.ensure_future(session.aclose())
    while not closed_at:
        await asyncio.sleep(0.005)
    await asyncio.sleep(0.03)
    await scape.aclose()
    await app_close
    t = closed_at[0]
    await asyncio.sleep(0.2)
    assert not scape.running
    check_fade(tap.heard()[:, 0], tap.index(t), 0.1)  # the bed's own 100 ms fade_out, once
    assert room.local_participant.unpublished == ["TR_1"]
    await tap.aclose()
    await source.aclose()
