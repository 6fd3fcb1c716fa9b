"""The live driver: seamless rewinds, stalls, sinks, and the lifecycle of a Soundscape."""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path

import numpy as np
import pytest
from livekit import rtc
from support.audio_checks import clicks, onset, step_bound, tone_level, tone_track
from support.room import FakeRoom
from support.tap import AudioTap, close_all
from support.tone_scene import AMP, BED, BED_GAIN, write_tone_scene

from soundscape.errors import AssetError
from soundscape.runtime import LiveOptions, Soundscape, make_audio_source

RATE = 48000
W = 960


@pytest.fixture(autouse=True)
async def _close_taps():
    yield
    await close_all()


async def start(tmp_path: Path, **kw) -> tuple[Soundscape, AudioTap]:
    scape = Soundscape(write_tone_scene(tmp_path), seed=5, **kw)
    source = make_audio_source(RATE, 1, 1500)
    tap = AudioTap(source)
    await scape.start(audio_source=source)
    return scape, tap


async def test_rewind_splices_are_seamless(tmp_path):
    # Each play() rewinds and splices; the sound is 80 dB under the bed, so what the splices
    # do to the bed is all there is to hear: it must not click.
    scape, tap = await start(tmp_path, latency="low-cpu")
    await asyncio.sleep(0.3)
    for _ in range(25):
        scape.play("other", gain=1e-4)
        await asyncio.sleep(0.037)
    end = tap.index(time.monotonic())
    rewinds = scape.metrics.rewinds
    await scape.aclose()
    y = tap.heard()[:end, 0]
    y = y[onset(y, 1e-3) :]
    assert rewinds >= 20 and tap.clears >= 20
    body = y[int(0.05 * RATE) :]  # after the 20 ms fade-in
    # Seamless but for one known weakness: on a loaded VM the capture after a clear_queue()
    # can reach the native queue after its tick, and the splices after it then step by 10 ms
    # (a few clicks, seen in about a third of runs here, the same before one-track mode;
    # docs/performance.md, "Splices"). A splice that is not seamless by itself, or a bed that
    # drops, still fails.
    found = clicks(body, material_step=step_bound([(BED_GAIN * AMP, BED)]))
    assert len(found) <= 4, found
    assert tone_track(body, BED, W).min() > 0.95 * BED_GAIN * AMP


async def test_events_that_change_nothing_heard_leave_the_queue_alone(tmp_path):
    # Listening and idle sound alike in this scene, and it ignores the user's events: the
    # driver re-renders, finds what is queued unchanged, and splices nothing (no
    # clear_queue, so not even the known late-capture risk of a splice), while the state
    # still follows the events.
    scape, tap = await start(tmp_path, latency="low-cpu")
    await asyncio.sleep(0.3)
    seen = []
    for i in range(25):
        scape.post(("agent.listening", "user.speaking", "agent.idle", "user.listening")[i % 4])
        await asyncio.sleep(0.037)
        seen.append(scape.state)
    end = tap.index(time.monotonic())
    m, clears = scape.metrics, tap.clears
    await scape.aclose()
    assert clears == 0 and m.rewinds == 0, (clears, m.rewinds)
    assert set(seen) == {"listening", "idle"}, seen
    y = tap.heard()[:end, 0]
    body = y[onset(y, 1e-3) + int(0.05 * RATE) :]
    assert clicks(body, material_step=step_bound([(BED_GAIN * AMP, BED)])) == []
    assert tone_track(body, BED, W).min() > 0.95 * BED_GAIN * AMP


async def test_a_blocked_loop_counts_an_underrun_and_resumes_without_a_burst(tmp_path):
    scape, tap = await start(tmp_path)
    await asyncio.sleep(0.3)
    captures_before = tap.captures
    time.sleep(0.9)  # the application blocks the event loop longer than the queue lasts
    await asyncio.sleep(0.5)
    m = scape.metrics
    pushed_after = sum(n for _, n in tap.pushed[captures_before:]) / RATE
    await scape.aclose()
    assert m.underruns == 1
    ahead = LiveOptions().ahead
    assert 0.9 - ahead < m.underrun_seconds < 0.9
    # After the stall the queue was refilled to `ahead` only, then paced again: 0.5 s of
    # playing needs about 0.5 s + ahead of audio, never the silence that was missed on top.
    assert pushed_after < 0.5 + ahead + LiveOptions().frame
    y = tap.heard()[:, 0]
    gap = tone_track(y, BED, W) < 0.01
    assert gap[5:].sum() >= (0.9 - ahead - 0.05) * RATE / W  # the stall's silence, heard


async def test_frame_sink_gets_paced_frames_of_the_scene(tmp_path):
    got: list[rtc.AudioFrame] = []

    async def sink(frame: rtc.AudioFrame) -> None:
        got.append(frame)

    scape = Soundscape(write_tone_scene(tmp_path), seed=1)
    await scape.start(frame_sink=sink)
    await asyncio.sleep(0.6)
    delivered = list(got)
    await scape.aclose()
    y = np.concatenate([np.frombuffer(f.data, np.int16) for f in delivered]) / 32768
    # Real-time pacing: ~0.6 s played plus the queue ahead, not a flood; and since a frame
    # sink cannot be rewound, the default there is telephony-sized frames (20 ms).
    o = LiveOptions.preset("low-latency")
    assert scape.options == o
    assert {f.samples_per_channel for f in delivered} == {int(o.frame * RATE)}
    assert 0.6 <= y.size / RATE < 0.6 + o.ahead + o.frame + 0.1
    assert tone_level(y[RATE // 10 : RATE // 10 + 4 * W], BED) == pytest.approx(0.15, rel=0.05)


async def test_start_twice_is_a_clear_error_and_aclose_is_idempotent(tmp_path):
    scape, _ = await start(tmp_path)
    with pytest.raises(RuntimeError, match=r"already started; call `await scape.aclose\(\)`"):
        await scape.start()
    await scape.aclose()
    await scape.aclose()
    assert not scape.running


async def test_restart_after_aclose_plays_again_on_a_new_track(tmp_path):
    scape = Soundscape(write_tone_scene(tmp_path), seed=1)
    room = FakeRoom()
    for _ in range(2):
        await scape.start(room=room)
        source = scape.audio_source
        assert source is not None
        tap = AudioTap(source)
        await asyncio.sleep(0.4)
        await scape.aclose()
        y = tap.heard()[:, 0]
        y = y[onset(y, 1e-3) :]
        assert tone_level(y[2 * W : 6 * W], BED) > 0.1
    lp = room.local_participant
    assert [p.name for p in lp.published] == ["soundscape", "soundscape"]
    assert lp.unpublished == ["TR_1", "TR_2"] and lp.track_publications == {}


async def test_aclose_during_start_and_during_fade_is_safe(tmp_path):
    scape = Soundscape(write_tone_scene(tmp_path), seed=1)
    room = FakeRoom()
    starting = asyncio.ensure_future(scape.start(room=room))
    await asyncio.sleep(0)
    await scape.aclose()  # waits for the start, then closes
    await starting
    assert not scape.running and room.local_participant.track_publications == {}
    await scape.start(room=room)
    first = asyncio.ensure_future(scape.aclose(fade=0.5))
    await asyncio.sleep(0.1)  # mid-fade
    await scape.aclose()
    await first
    assert room.local_participant.track_publications == {}


async def test_unpublish_finds_the_track_after_a_full_reconnect(tmp_path):
    scape = Soundscape(write_tone_scene(tmp_path), seed=1)
    room = FakeRoom()
    await scape.start(room=room)
    [pub] = room.local_participant.published
    room.local_participant.republish(pub)  # what the SDK does on a full reconnect
    await scape.aclose()
    assert room.local_participant.unpublished == ["TR_1-re"]


def test_latency_setting_is_validated():
    assert LiveOptions.coerce({"frame": "200ms", "ahead": "450ms"}).frame == 0.2
    with pytest.raises(ValueError, match="must be at least two frames"):
        LiveOptions(frame=0.2, ahead=0.3)
    with pytest.raises(ValueError, match="unknown latency preset 'fast'"):
        LiveOptions.coerce("fast")
    # Options written for the buffered stream still load, and say what to do.
    with pytest.warns(DeprecationWarning, match="stream_buffer no longer has any effect"):
        assert LiveOptions.coerce({"stream_buffer": "300ms"}).frame == 0.4


async def test_a_failing_render_is_silence_and_the_track_goes_on(tmp_path, caplog, monkeypatch):
    from soundscape.engine import Engine

    scape, tap = await start(tmp_path)
    await asyncio.sleep(0.3)
    real, calls = Engine.render, {"n": 0}

    def flaky(self, frames):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("engine bug")
        return real(self, frames)

    monkeypatch.setattr(Engine, "render", flaky)
    await asyncio.sleep(1.2)  # the failed block is heard after the queue ahead of it
    m = scape.metrics
    end = tap.index(time.monotonic())
    await scape.aclose()
    y = tap.heard()[:end, 0]
    y = y[onset(y, 1e-3) :]
    assert m.render_errors == 1 and "engine bug" in caplog.text
    track = tone_track(y, BED, W)
    silent = np.flatnonzero(track < 0.01)
    block = round(LiveOptions().frame * RATE / W)
    assert block - 1 <= silent.size <= block + 1  # one block of silence (edges half-filled)...
    assert track[-5:].min() > 0.14  # ...then the bed again, at its level


async def test_trigger_before_start_is_a_clear_error(tmp_path):
    scape = Soundscape(write_tone_scene(tmp_path))
    with pytest.raises(RuntimeError, match=r"not running; `await scape\.start"):
        scape.trigger("order_confirmed")


async def test_a_handle_of_a_switched_away_scene_ends_with_it(tmp_path):
    scape, _ = await start(tmp_path)
    h = scape.play("chime", loop=True)
    await asyncio.sleep(0.2)
    await scape.switch(tmp_path / "hold.yaml", crossfade="100ms")
    await asyncio.wait_for(h, timeout=3)
    assert h.done()
    await scape.aclose()


async def test_a_missing_file_fails_start_with_the_file_and_scene_position(tmp_path):
    path = tmp_path / "scene.yaml"
    path.write_text("version: 1\nlayers:\n  bed: nothere.wav\n")
    scape = Soundscape(path)
    room = FakeRoom()
    with pytest.raises(
        AssetError,
        match=r"nothere.wav: file not found \(needed by layers/bed at .*scene.yaml:3:8\)",
    ):
        await scape.start(room=room)
    assert not scape.running and room.local_participant.published == []
    await scape.aclose()  # nothing to close, and no error


async def test_repeated_stalls_log_one_warning_per_period_but_count_every_underrun(
    tmp_path, caplog
):
    scape, _tap = await start(tmp_path)
    await asyncio.sleep(0.3)
    with caplog.at_level("WARNING", logger="soundscape"):
        for _ in range(3):
            time.sleep(0.9)  # three stalls, each longer than the queue lasts
            await asyncio.sleep(0.4)
    m = scape.metrics
    await scape.aclose()
    assert m.underruns == 3
    busy = [r for r in caplog.records if "busy for too long" in r.getMessage()]
    assert len(busy) == 1  # the later two fall within the same 10 s period


class _TickSink:
    """A sink on a 10 ms tick grid we choose, recording when each push is made."""

    can_clear = True

    def __init__(self, grid: float) -> None:
        self.rate, self.channels, self.grid = RATE, 1, grid
        self.pushes: list[float] = []

    async def capture(self, block: np.ndarray) -> None:
        self.pushes.append(asyncio.get_running_loop().time())

    def clear(self) -> None:
        pass

    async def replace(self, block: np.ndarray) -> None:
        await self.capture(block)

    async def aclose(self) -> None:
        pass


@pytest.mark.parametrize("before_tick_ms", [0.1, 1.0, 2.5])
async def test_a_new_timeline_is_not_started_right_at_a_tick(tmp_path, before_tick_ms):
    # The first push (and the first after running dry) sets which sample plays at which
    # tick. Pushed right at a tick it lands on either side of it, and every splice after
    # is a tick off: a phase jump in the bed, heard as a click (1 splice in 12 did, before).
    from soundscape.engine import Engine
    from soundscape.runtime.deck import Deck
    from soundscape.runtime.driver import LiveDriver

    plan = Soundscape(write_tone_scene(tmp_path), seed=1)._compile()
    loop = asyncio.get_running_loop()
    sink = _TickSink(grid=loop.time() + before_tick_ms / 1000 - 0.01)
    driver = LiveDriver(Deck(Engine(plan, seed=1)), sink, LiveOptions())
    task = asyncio.ensure_future(driver.run())
    await asyncio.sleep(0.05)
    driver.stop()
    await task
    phase_ms = ((sink.pushes[0] - sink.grid) % 0.01) * 1000
    assert 3.5 <= phase_ms <= 7.5, phase_ms  # clear of the tick on both sides


async def test_state_changed_fires_once_per_change_when_events_repeat_within_a_tick(tmp_path):
    # A session often says the same thing twice in a row (the agent's state, then a user
    # state that maps to it). The second one arrives while the first is already heard: its
    # rewind renders the first change again, and that must not be reported twice.
    scape, _tap = await start(tmp_path)
    changes: list[tuple[str | None, str]] = []
    scape.on("state_changed", lambda ev: changes.append((ev.old_state, ev.new_state)))
    await asyncio.sleep(0.3)
    for state in ("thinking", "speaking", "listening") * 4:
        scape.post(f"agent.{state}")
        await asyncio.sleep(0.003)  # inside the same 10 ms tick: the same sample playing
        scape.post(f"agent.{state}")
        await asyncio.sleep(0.15)
    await scape.aclose()
    moves = changes  # entering the initial state is not a change: never `idle → idle`
    assert moves[0] == ("idle", "thinking") and len(moves) == 12, changes
    assert all(old != new for old, new in moves), changes
    assert all(a[1] == b[0] for a, b in itertools.pairwise(moves)), changes
