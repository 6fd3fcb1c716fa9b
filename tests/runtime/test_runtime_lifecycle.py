"""`start()` before the room is connected, with a stand-in room whose connection we control.

The order tests through a real worker and server are tests/e2e/test_e2e_lifecycle.py; these pin
what happens meanwhile: nothing is published or played before the connection, one error
(saying what to call) when it takes too long, and a close at any point that returns at once.
"""

from __future__ import annotations

import asyncio
import logging
import time

import numpy as np
from support.audio_checks import onset, tone_track
from support.room import FakeRoom
from support.tap import AudioTap, close_all
from support.tone_scene import AMP, BED, BED_GAIN, write_tone_scene

from soundscape.runtime import Soundscape

W = 960


class ConnectingRoom(FakeRoom):
    """A room that is not connected until the test says so (`rtc.Room.isconnected`)."""

    connected: bool = False

    def isconnected(self) -> bool:
        return self.connected


async def test_start_before_connect_publishes_and_plays_once_connected(tmp_path, caplog):
    caplog.set_level(logging.INFO, "soundscape")
    room = ConnectingRoom()
    scape = Soundscape(write_tone_scene(tmp_path), seed=1)
    t0 = time.monotonic()
    await scape.start(room=room)  # returns at once: nothing to wait for here
    assert time.monotonic() - t0 < 2.0 and scape.running
    source = scape.audio_source
    assert source is not None
    tap = AudioTap(source)
    await asyncio.sleep(0.5)
    # Not connected: nothing published, and nothing played into a source nobody hears.
    assert room.local_participant.published == [] and tap.pushed == []
    scape.post("agent.thinking")  # an event meanwhile is kept for when the scene starts
    room.connected = True
    connected_at = time.monotonic()
    await asyncio.sleep(0.6)
    [pub] = room.local_participant.published
    assert pub.track.name == "soundscape" and scape.publication is pub
    assert tap.pushed and tap.pushed[0][0] >= connected_at
    end = tap.index(time.monotonic())
    await scape.aclose()
    await close_all()
    y = tap.heard()[:end, 0]
    start = onset(y, 1e-3)
    bed = tone_track(y[start + 3 * W :], BED, W)
    assert bed.size > 10 and bed.min() > 0.95 * BED_GAIN * AMP
    assert room.local_participant.unpublished == [pub.sid]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_a_room_that_never_connects_gets_one_error_saying_what_to_call(tmp_path, caplog):
    room = ConnectingRoom()
    scape = Soundscape(write_tone_scene(tmp_path), seed=1)
    await scape.start(room=room, connect_timeout=0.2)
    await asyncio.sleep(1.0)
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, errors
    assert "not connected" in errors[0] and "ctx.connect()" in errors[0]
    assert "session.start(" in errors[0]
    # Late is still fine: the track is published when the room does connect.
    room.connected = True
    await asyncio.sleep(0.3)
    assert len(room.local_participant.published) == 1
    await scape.aclose()


async def test_closing_before_the_room_connects_returns_at_once_and_publishes_nothing(tmp_path):
    room = ConnectingRoom()
    scape = Soundscape(write_tone_scene(tmp_path), seed=1)
    before = set(asyncio.all_tasks())
    await scape.start(room=room)
    await asyncio.sleep(0.1)
    t0 = time.monotonic()
    await scape.aclose()
    assert time.monotonic() - t0 < 0.5
    room.connected = True
    await asyncio.sleep(0.1)
    assert room.local_participant.published == [] and not scape.running
    assert [t.get_name() for t in asyncio.all_tasks() - before if not t.done()] == []


async def test_the_initial_state_is_not_reported_as_a_change(tmp_path):
    room = FakeRoom()
    scape = Soundscape(write_tone_scene(tmp_path), seed=1)
    changes: list[tuple[str | None, str]] = []
    scape.on("state_changed", lambda ev: changes.append((ev.old_state, ev.new_state)))
    await scape.start(room=room)
    await asyncio.sleep(0.3)
    scape.post("agent.thinking")
    await asyncio.sleep(0.3)
    await scape.aclose()
    assert changes == [("idle", "thinking")]


def test_the_state_machine_keeps_out_of_an_info_log(tmp_path, caplog):
    # A worker's log is at INFO (DEBUG under `dev`): `transitions` would add six lines per
    # state change of every call. Ours go to `soundscape.engine.machine`, and only when asked.
    from soundscape.engine import Engine, compile_scene
    from soundscape.scene import load

    caplog.set_level(logging.DEBUG)
    plan = compile_scene(load(write_tone_scene(tmp_path)), 48000, 1)
    eng = Engine(plan, seed=0)
    for state in ("thinking", "speaking", "listening"):
        eng.post(f"agent.{state}")
        eng.render(4800)
    assert [r for r in caplog.records if r.name.startswith("transitions")] == []
    assert [r for r in caplog.records if r.name == "soundscape.engine.machine"] == []
    logging.getLogger("soundscape.engine.machine").setLevel(logging.DEBUG)
    try:
        eng.post("agent.thinking")
        eng.render(4800)
    finally:
        logging.getLogger("soundscape.engine.machine").setLevel(logging.NOTSET)
    lines = [r.getMessage() for r in caplog.records if r.name == "soundscape.engine.machine"]
    assert any("Entering state thinking" in m for m in lines), lines
    assert all(not m.startswith("soundscape: ") for m in lines)
    assert np.isfinite(eng.render(480)).all()
