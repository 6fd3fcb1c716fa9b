"""Faults in the room: a publish refused while the room is (re)connecting, a full reconnect.

With the stand-in room (tests/support/room.py) given the event surface of `rtc.Room`
(`on`/`off`, "reconnecting"/"reconnected"). A real server's reconnects are the e2e tests'.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from typing import Any

import pytest
from livekit.rtc import _ffi_client
from livekit.rtc.participant import PublishTrackError
from support.audio_checks import onset, tone_track
from support.room import FakeLocalParticipant, FakeRoom
from support.tap import AudioTap, close_all
from support.tone_scene import AMP, BED, BED_GAIN, write_tone_scene

from soundscape.runtime import Soundscape

RATE = 48000
W = 960


@pytest.fixture(autouse=True)
async def _close_taps():
    yield
    await close_all()


class FlakyParticipant(FakeLocalParticipant):
    """Refuses to publish while ``down`` (what the SDK raises while the engine reconnects)."""

    down: bool = False
    attempts: int = 0

    async def publish_track(self, track: Any, options: Any = None) -> Any:
        self.attempts += 1
        if self.down:
            raise PublishTrackError("engine: connection error: not connected")
        return await super().publish_track(track, options)


class StandInRoom(FakeRoom):
    """`FakeRoom` plus `rtc.Room`'s event surface."""

    def __init__(self) -> None:
        super().__init__(local_participant=FlakyParticipant())
        self.handlers: dict[str, list[Any]] = {}

    def on(self, event: str, callback: Any) -> Any:
        self.handlers.setdefault(event, []).append(callback)
        return callback

    def off(self, event: str, callback: Any) -> None:
        self.handlers[event].remove(callback)

    def emit(self, event: str, *args: Any) -> None:
        for cb in list(self.handlers.get(event, [])):
            cb(*args)

    @property
    def lp(self) -> FlakyParticipant:
        assert isinstance(self.local_participant, FlakyParticipant)
        return self.local_participant


def live_ffi() -> set[int]:
    gc.collect()
    return {id(h) for h in list(_ffi_client._live_handles) if not h.disposed}


async def test_publish_refused_at_start_plays_on_and_publishes_on_reconnect(tmp_path, caplog):
    caplog.set_level(logging.INFO, "soundscape")
    room = StandInRoom()
    room.lp.down = True
    before, ffi = set(asyncio.all_tasks()), live_ffi()
    scape = Soundscape(write_tone_scene(tmp_path), seed=1)
    await scape.start(room=room)  # does not raise: the agent must not go down for this
    assert scape.running and scape.publication is None
    assert any(
        "could not publish track 'soundscape'" in r.getMessage() and r.levelname == "ERROR"
        for r in caplog.records
    )
    source = scape.audio_source
    assert source is not None
    before_tap = live_ffi()
    tap = AudioTap(source)
    tap_handles = live_ffi() - before_tap  # the tap's own track and stream, not ours
    await asyncio.sleep(0.3)
    room.emit("reconnecting")
    room.emit("reconnected")  # still down: refused again, logged, no crash
    await asyncio.sleep(0.05)
    assert room.lp.attempts == 2 and scape.publication is None
    room.lp.down = False
    room.emit("reconnected")
    room.emit("reconnected")  # a duplicate event publishes once
    await asyncio.sleep(0.05)
    [pub] = room.lp.published
    assert scape.publication is pub and pub.track.name == "soundscape"
    assert pub.options.dtx is False
    await asyncio.sleep(0.3)
    end = tap.index(time.monotonic())
    await scape.aclose()
    await tap.aclose()
    # The source was fed all along: the bed is there from its fade-in to the close.
    y = tap.heard()[:end, 0]
    bed = tone_track(y[onset(y, 1e-3) + 3 * W :], BED, W)
    assert bed.size > 20 and bed.min() > 0.95 * BED_GAIN * AMP
    assert room.lp.unpublished == [pub.sid] and room.lp.track_publications == {}
    assert room.handlers == {"reconnected": [], "connected": []}  # no handler left behind
    room.emit("reconnected")  # after close: nothing is published again
    await asyncio.sleep(0.02)
    assert len(room.lp.published) == 1
    assert [t.get_name() for t in asyncio.all_tasks() - before if not t.done()] == []
    # FFI: once the room's record of the publication and the tap go, every handle the
    # scape made (source, refused and published tracks) is released.
    del tap, pub, source
    room.lp.published.clear()
    assert live_ffi() - tap_handles == ffi


async def test_closing_while_a_republish_is_pending_publishes_nothing(tmp_path):
    room = StandInRoom()
    room.lp.down = True
    scape = Soundscape(write_tone_scene(tmp_path), seed=1)
    await scape.start(room=room)
    await scape.aclose()
    room.lp.down = False
    room.emit("reconnected")
    await asyncio.sleep(0.02)
    assert room.lp.published == [] and room.lp.attempts == 1


async def test_a_room_without_events_still_raises_the_refusal(tmp_path):
    # Nothing would tell us when to try again: the caller gets the error, nothing is left.
    room = FakeRoom(local_participant=FlakyParticipant())
    room.local_participant.down = True  # type: ignore[attr-defined]
    before = set(asyncio.all_tasks())
    scape = Soundscape(write_tone_scene(tmp_path), seed=1)
    with pytest.raises(PublishTrackError, match="not connected"):
        await scape.start(room=room)
    assert not scape.running
    assert [t for t in asyncio.all_tasks() - before if not t.done()] == []


async def test_full_reconnect_keeps_the_track_playing_and_unpublishes_the_new_sid(tmp_path):
    room = StandInRoom()
    scape = Soundscape(write_tone_scene(tmp_path), seed=1)
    await scape.start(room=room)
    source = scape.audio_source
    assert source is not None
    tap = AudioTap(source)
    await asyncio.sleep(0.3)
    [pub] = room.lp.published
    room.emit("reconnecting")
    room.lp.republish(pub)  # the SDK re-publishes the same track under a new SID
    room.emit("reconnected")
    await asyncio.sleep(0.3)
    end = tap.index(time.monotonic())
    await scape.aclose()
    await tap.aclose()
    assert len(room.lp.published) == 1  # we did not publish a second track
    assert room.lp.unpublished == ["TR_1-re"]
    y = tap.heard()[:end, 0]
    bed = tone_track(y[onset(y, 1e-3) + 3 * W :], BED, W)
    assert bed.min() > 0.95 * BED_GAIN * AMP  # no gap across the reconnect
