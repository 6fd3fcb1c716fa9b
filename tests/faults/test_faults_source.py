"""The AudioSource raising from `capture_frame`: once, for a while, for good.

What we listen to is the track itself (an `rtc.AudioStream` on the source, see
tests/support/tap.py); the failure is injected in front of the real `capture_frame`.
"""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from support.audio_checks import clicks, onset, step_bound, tone_track
from support.tap import AudioTap, close_all
from support.tone_scene import AMP, BED, BED_GAIN, THINK, write_tone_scene

from soundscape.runtime import LiveOptions, Soundscape, make_audio_source
from soundscape.runtime.driver import PREROLL

RATE = 48000
W = 960
FULL = BED_GAIN * AMP
BED_STEP = step_bound([(FULL, BED)])


@pytest.fixture(autouse=True)
async def _close_taps():
    yield
    await close_all()


class Failing:
    """Wraps a source's capture_frame: raise while ``failing`` (or for the next ``once``)."""

    def __init__(self, source) -> None:
        self.real = source.capture_frame
        self.failing = False
        self.once = 0
        self.raised = 0
        source.capture_frame = self.capture_frame

    async def capture_frame(self, frame) -> None:
        if self.failing or self.once:
            self.once = max(self.once - 1, 0)
            self.raised += 1
            raise RuntimeError("capture_frame: internal error")
        await self.real(frame)


async def started(tmp_path, opts: LiveOptions | None = None):
    source = make_audio_source(RATE, 1, 1500)
    tap = AudioTap(source)
    fail = Failing(source)
    before = set(asyncio.all_tasks())
    scape = Soundscape(write_tone_scene(tmp_path), seed=9, latency=opts)
    await scape.start(audio_source=source)
    await asyncio.sleep(0.4)
    return scape, tap, fail, before


async def test_one_failed_capture_is_not_heard(tmp_path, caplog):
    caplog.set_level(logging.WARNING, "soundscape")
    scape, tap, fail, before = await started(tmp_path)
    fail.once = 1
    await asyncio.sleep(0.8)
    end = tap.index(time.monotonic())
    m = scape.metrics
    d = scape._driver
    assert d is not None
    rendered, sent, cleared = d.deck.position, sum(n for _, n in tap.pushed), tap.clears
    await scape.aclose()
    assert fail.raised == 1 and m.sink_errors == 1
    # Every sample rendered reached the source, in order (no event: no rewind re-sends);
    # a frame lost here would be skipped on the track (a jump) and leave the source's
    # queue a frame shorter than the driver believes. The first push leads with PREROLL
    # ticks of silence, and is made again, after a clear, if it came back late.
    assert m.rewinds == 0
    lead = PREROLL * RATE // 100
    first = tap.pushed[0][1]
    assert sent == rendered + lead + cleared * first
    assert sum("capture" in r.getMessage() for r in caplog.records) == 1
    # Retried at once: the bed goes on without a gap or a click.
    y = tap.heard()[:end, 0]
    y = y[onset(y, 1e-3) + 3 * W :]
    assert tone_track(y, BED, W).min() > 0.95 * FULL
    assert clicks(y, material_step=BED_STEP) == []
    assert [t for t in asyncio.all_tasks() - before if not t.done()] == []


async def test_failing_for_half_a_second_is_a_gap_then_exact_timing(tmp_path, caplog):
    caplog.set_level(logging.WARNING, "soundscape")
    opts = LiveOptions()
    scape, tap, fail, before = await started(tmp_path, opts)
    loop = asyncio.get_running_loop()
    fail.failing = True
    t_fail = time.monotonic()
    await asyncio.sleep(0.5)
    fail.failing = False
    t_ok = time.monotonic()
    await asyncio.sleep(opts.ahead + opts.frame + 0.3)  # retried a frame later, then refilled
    # Timing is exact again: a state change is heard when it is posted.
    t_post = time.monotonic()
    scape.post("agent.thinking")
    await asyncio.sleep(0.5)
    end = tap.index(time.monotonic())
    m = scape.metrics
    d = scape._driver
    assert d is not None
    queued = d.clock.queued(loop.time()) / RATE
    await scape.aclose()

    assert fail.raised >= 2 and m.sink_errors == fail.raised
    # Logged, but not once per frame for as long as it lasts.
    assert 1 <= sum("capture" in r.getMessage() for r in caplog.records) <= 3
    y = tap.heard()[:end, 0]
    bed = tone_track(y, BED, W)
    lost = bed[tap.index(t_fail) // W : tap.index(t_ok) // W + int(opts.ahead * 50) + 2]
    assert (lost < 0.01).sum() >= 10  # silence where the frames never arrived
    back = tap.index(t_ok) // W + int((opts.ahead + opts.frame) * 50) + 3
    assert bed[back : tap.index(t_post) // W].min() > 0.95 * FULL  # and the bed again
    think = tone_track(y, THINK, W)
    posted = tap.index(t_post) // W
    first = posted + int((think[posted:] > 0.1).argmax())
    assert first - posted <= 3  # within 60 ms (a 10 ms fade-in and a splice)
    assert 0 < queued <= opts.ahead + 0.01  # the model of the source's queue is right
    assert [t for t in asyncio.all_tasks() - before if not t.done()] == []


async def test_a_source_that_always_raises_still_closes_cleanly(tmp_path, caplog):
    caplog.set_level(logging.WARNING, "soundscape")
    scape, _tap, fail, before = await started(tmp_path)
    fail.failing = True
    await asyncio.sleep(1.0)
    scape.post("agent.thinking")  # events still apply: the scene goes on
    await asyncio.sleep(0.5)
    assert scape.running and scape.state == "thinking"
    await asyncio.wait_for(scape.aclose(), timeout=5)
    assert not scape.running
    assert sum("capture" in r.getMessage() for r in caplog.records) <= 3
    assert [t for t in asyncio.all_tasks() - before if not t.done()] == []
