"""play(), trigger(), llm_tools(): what a user hears from a Soundscape on a real AudioSource."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
from livekit import rtc
from support.audio_checks import clicks, onset, sine, step_bound, tone_level, tone_track
from support.tap import AudioTap, close_all
from support.tone_scene import AMP, BED, BED_GAIN, CHIME, OTHER, write_tone_scene

from bench.parts.play import paced_tone
from soundscape.runtime import Soundscape, make_audio_source

RATE = 48000
W = 960


@pytest.fixture(autouse=True)
async def _close_taps():
    yield
    await close_all()  # 20 ms


async def start(tmp_path: Path, **kw) -> tuple[Soundscape, AudioTap]:
    scape = Soundscape(write_tone_scene(tmp_path), seed=3, **kw)
    source = make_audio_source(RATE, 1, 1000)
    tap = AudioTap(source)
    await scape.start(audio_source=source)
    return scape, tap


def tone_span(y: np.ndarray, freq: float, level: float) -> tuple[int, int, list[int]]:
    """(first window, last window, windows in between that miss the tone)."""
    track = tone_track(y, freq, W)
    on = np.flatnonzero(track > level)
    if on.size == 0:
        return -1, -1, []
    first, last = int(on[0]), int(on[-1])
    gaps = [i for i in range(first, last + 1) if track[i] <= level]
    return first, last, gaps


async def frames_16k_stereo(seconds: float, freq: float) -> AsyncIterator[rtc.AudioFrame]:
    rate, n = 16000, 160
    t = np.arange(int(seconds * rate)) / rate
    left = 0.4 * np.sin(2 * np.pi * freq * t)
    pcm = np.stack([left, left], axis=1)
    for i in range(0, pcm.shape[0], n):
        block = (pcm[i : i + n] * 32767).astype(np.int16)
        yield rtc.AudioFrame(block.tobytes(), rate, 2, block.shape[0])
        await asyncio.sleep(0)


async def test_async_iterator_at_16k_stereo_arrives_whole(tmp_path):
    scape, tap = await start(tmp_path)
    await asyncio.sleep(0.2)
    handle = scape.play(frames_16k_stereo(0.6, 1000.0))
    assert not handle.done()
    await asyncio.wait_for(handle, timeout=5)
    assert handle.done()
    await scape.aclose()
    y = tap.heard()[:, 0]
    first, last, gaps = tone_span(y, 1000.0, 0.3)
    # 0.6 s = 30 windows of 20 ms; a window half-covered at each end may read below level.
    assert 28 <= last - first + 1 <= 31
    assert gaps == []
    assert tone_level(y[(first + 2) * W : (last - 1) * W], 1000.0) == pytest.approx(0.4, rel=0.05)


async def test_a_real_time_iterator_is_heard_soon_and_without_gaps(tmp_path):
    # A stream that arrives in real time is not buffered: it starts at its first frame and is
    # rendered only as far as its frames reach, however much bed the driver keeps queued
    # otherwise (BackgroundAudioPlayer: ~0.6 s).
    scape, tap = await start(tmp_path)
    await asyncio.sleep(0.3)
    started: list[float] = []
    # 24 kHz: resampled on the way in, as a TTS plugin's frames would be.
    handle = scape.play(paced_tone(started, seconds=1.5, freq=1000.0, amp=0.4, rate=24000))
    await asyncio.wait_for(handle, timeout=6)
    rewinds = scape.metrics.rewinds
    await scape.aclose()
    y = tap.heard()[:, 0]
    first, last, gaps = tone_span(y, 1000.0, 0.3)
    assert first >= 0, "the stream was never heard"
    late = (first * W - tap.index(started[0])) / RATE
    # Not behind the render-ahead queue (0.85 s): a reaction, the stream's lead and a 20 ms
    # window of the tone track, with room to spare (the bench measures it precisely).
    assert late < 0.15, f"heard {late * 1000:.0f} ms after"

    # 1.5 s = 75 windows of 20 ms; a window half-covered at each end may read below level.
    assert 73 <= last - first + 1 <= 76
    assert gaps == [], f"holes in the stream at windows {gaps}"
    level = tone_level(y[(first + 2) * W : (last - 1) * W], 1000.0)
    assert level == pytest.approx(0.4, rel=0.05)
    # A splice (the start, a frame that came late) may not be heard.
    span = y[max(first - 2, 0) * W : (last + 3) * W]
    assert clicks(span, material_step=step_bound([(0.4, 1000.0), (BED_GAIN * AMP, BED)])) == []
    # Frames that come in time are appended, not spliced in one by one.
    assert rewinds < 75 / 3, f"{rewinds} rewinds for 75 frames"


QUIET = "version: 1\nname: quiet\nlevels: file\n"


def chirp(seconds: float, amp: float = 0.4) -> np.ndarray:
    """int16 mono sweeping 300 Hz → 3 kHz: no two stretches alike, so where it is heard
    from, and whether any of it was lost or repeated, shows in the samples."""
    t = np.arange(int(seconds * RATE)) / RATE
    phase = 2 * np.pi * (300 * t + (3000 - 300) / (2 * seconds) * t**2)
    return np.rint(amp * np.sin(phase) * 32767).astype(np.int16)


async def paced(
    pcm: np.ndarray, started: list[float], *, every: float = 0.02
) -> AsyncIterator[rtc.AudioFrame]:
    """``pcm`` as 20 ms frames, frame k yielded ``k * every`` s after the first (0.02: in
    real time, like a TTS stream or a relayed participant)."""
    n = RATE // 50
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    for k, i in enumerate(range(0, pcm.size, n)):
        await asyncio.sleep(max(0.0, t0 + k * every - loop.time()))
        if k == 0:
            started.append(time.monotonic())
        block = pcm[i : i + n]
        yield rtc.AudioFrame(block.tobytes(), RATE, 1, block.size)


async def quiet_scape(tmp_path: Path) -> tuple[Soundscape, AudioTap]:
    path = tmp_path / "quiet.yaml"
    path.write_text(QUIET)
    scape = Soundscape(path, seed=1)
    source = make_audio_source(RATE, 1, 1000)
    tap = AudioTap(source)
    await scape.start(audio_source=source)
    await asyncio.sleep(1.0)  # the render-ahead queue is full
    return scape, tap


def heard_int16(tap: AudioTap) -> np.ndarray:
    return np.rint(tap.heard()[:, 0] * 32768).astype(np.int32)


def found_at(y: np.ndarray, ref: np.ndarray) -> int:
    """The sample of ``y`` where ``ref`` starts (matched on its first 100 ms past the fade)."""
    a = int(np.flatnonzero(y)[0])
    probe = ref[RATE // 100 : RATE // 100 + RATE // 10].astype(np.float64)
    near = y[a : a + RATE // 10 + probe.size + RATE // 50].astype(np.float64)
    return a + int(np.argmax(np.correlate(near, probe, "valid"))) - RATE // 100


async def test_a_real_time_stream_is_heard_at_once_and_sample_for_sample(tmp_path):
    scape, tap = await quiet_scape(tmp_path)
    pcm = chirp(1.5)
    started: list[float] = []
    await asyncio.wait_for(scape.play(paced(pcm, started), level="file"), timeout=6)
    await asyncio.sleep(0.1)
    await scape.aclose()
    y = heard_int16(tap)
    ref = pcm.astype(np.int32)
    at = found_at(y, ref)
    onset = (at - tap.index(started[0])) / RATE
    # Not behind the render-ahead queue (0.85 s of scene); bench/parts/play.py has the figure.
    assert onset < 0.15, f"heard {onset * 1000:.0f} ms after its first frame"
    # Whole, once, and nothing else: the samples as yielded, back to back (the first and
    # last 5 ms carry the click-safe fades; the int16 → float → int16 trip costs 1 LSB).
    got = y[at : at + ref.size]
    fade = RATE // 200
    bad = np.flatnonzero(np.abs(got[fade:-fade] - ref[fade:-fade]) > 2)
    assert bad.size == 0, f"{bad.size} samples differ, the first {bad[0] + fade} in"
    assert not y[:at].any() and not y[at + ref.size :].any()
    # No holes: every 10 ms window inside the stream at the chirp's level (0.4 / √2).
    win = RATE // 100
    body = got[fade : (ref.size - fade) // win * win].astype(np.float64) / 32768
    rms = np.sqrt((body[: body.size // win * win].reshape(-1, win) ** 2).mean(axis=1))
    assert rms.min() > 0.8 * 0.4 / np.sqrt(2), f"a window at {rms.min():.3f} rms"


async def test_a_stream_faster_than_real_time_is_appended_without_rewinds(tmp_path):
    scape, tap = await quiet_scape(tmp_path)
    pcm = chirp(1.5)
    before = scape.metrics.rewinds
    await asyncio.wait_for(scape.play(paced(pcm, [], every=0.01), level="file"), timeout=6)
    rewinds = scape.metrics.rewinds - before
    await asyncio.sleep(0.1)
    await scape.aclose()
    # One to start it at its first frame; the rest lands ahead of the render head.
    assert rewinds <= 2, f"{rewinds} rewinds for 75 frames"
    y = heard_int16(tap)
    ref = pcm.astype(np.int32)
    at = found_at(y, ref)
    fade = RATE // 200
    got = y[at + fade : at + ref.size - fade]
    assert np.abs(got - ref[fade:-fade]).max() <= 2


async def test_a_stream_slower_than_real_time_plays_as_it_comes_over_a_bed_that_never_stops(
    tmp_path,
):
    scape, tap = await start(tmp_path)
    await asyncio.sleep(0.5)
    started: list[float] = []
    pcm = (sine(1000.0, 1.0, 0.4) * 32767).astype(np.int16)[:, 0]
    # 20 ms of audio every 30 ms: it runs dry again and again.
    handle = scape.play(paced(pcm, started, every=0.03), level="file")
    await asyncio.wait_for(handle, timeout=6)
    await asyncio.sleep(0.2)
    end = tap.index(time.monotonic())
    await scape.aclose()
    y = tap.heard()[:end, 0]
    begin = tap.index(started[0])
    # The bed never stopped: every 20 ms window from before the stream to after it carries
    # it (a splice that lands a tick off dents one: see the xfail below; a stop reads ~0).
    bed = tone_track(y[begin - 10 * W :], BED, W)
    assert bed.min() > 0.2 * BED_GAIN * AMP, f"the bed fell to {bed.min():.3f}"
    # The stream as it came: its second heard (nothing lost wholesale, nothing twice; it
    # runs dry at nearly every frame, and each time costs a 5 ms fade either side: up to
    # ~0.35 s of its energy), spread over the ~1.5 s it took to arrive, no click.
    span = y[begin : begin + int(2.0 * RATE)]
    spec = np.abs(np.fft.rfft(span)) ** 2
    band = (np.abs(np.fft.rfftfreq(span.size, 1 / RATE) - 1000.0) < 30).nonzero()[0]
    energy = 2 * spec[band].sum() / span.size  # Parseval: the tone's share of sum(x²)
    heard = energy / (0.4**2 / 2) / RATE
    assert 0.5 < heard < 1.05, f"{heard:.2f} s of a 1 s stream heard"
    track = tone_track(y[begin:], 1000.0, W // 2)
    on = np.flatnonzero(track > 0.2)
    assert (on[-1] - on[0]) * (W // 2) / RATE > 1.3  # not buffered up and played in one go


async def test_a_paused_stream_gives_the_bed_its_queue_back_and_resumes_at_once(tmp_path):
    # While a live stream plays, the queue ends near its last frame; a producer that pauses
    # (a muted participant, a TTS between sentences) must not keep it that short: a loop
    # stall in the pause (a garbage collection) would leave the whole track dry.
    scape, tap = await start(tmp_path)
    await asyncio.sleep(0.5)
    pcm = (sine(1000.0, 0.4, 0.4) * 32767).astype(np.int16)[:, 0]
    starts: list[float] = []

    async def talk_pause_talk() -> AsyncIterator[rtc.AudioFrame]:
        for _ in range(2):
            async for f in paced(pcm, starts):
                yield f
            await asyncio.sleep(1.5)

    handle = scape.play(talk_pause_talk(), level="file")
    await asyncio.sleep(1.2)  # 0.8 s into the pause
    stall = tap.index(time.monotonic())
    time.sleep(0.2)  # the loop is blocked
    await asyncio.wait_for(handle, timeout=8)
    end = tap.index(time.monotonic())
    await scape.aclose()
    y = tap.heard()[:end, 0]
    bed = tone_track(y[stall - 10 * W : stall + 20 * W], BED, W)
    assert bed.min() > 0.5 * BED_GAIN * AMP, f"the bed fell to {bed.min():.3f} in the stall"
    for k, t in enumerate(starts):
        part = y[tap.index(t) - 5 * W : tap.index(t) + int(0.8 * RATE)]
        first, last, gaps = tone_span(part, 1000.0, 0.3)
        late = (first - 5) * W / RATE
        assert late < 0.15, f"part {k} heard {late * 1000:.0f} ms after its first frame"
        assert 19 <= last - first + 1 <= 21 and gaps == [], (k, first, last, gaps)


@pytest.mark.xfail(
    reason="known: a stream slower than real time is spliced in about once per frame, and "
    "a splice whose capture reaches the native queue a tick late (or after one) skips or "
    "drops 10 ms: a click now and then (docs/performance.md)",
    strict=False,
)
async def test_a_stream_slower_than_real_time_is_spliced_in_without_clicks(tmp_path):
    scape, tap = await start(tmp_path)
    await asyncio.sleep(0.5)
    started: list[float] = []
    pcm = (sine(1000.0, 1.0, 0.4) * 32767).astype(np.int16)[:, 0]
    await asyncio.wait_for(scape.play(paced(pcm, started, every=0.03), level="file"), 6)
    await asyncio.sleep(0.2)
    await scape.aclose()
    y = tap.heard()[:, 0]
    span = y[tap.index(started[0]) :][: int(1.8 * RATE)]
    assert clicks(span, material_step=step_bound([(0.4, 1000.0), (BED_GAIN * AMP, BED)])) == []


async def test_scene_sound_plays_once_and_await_returns_after_it_was_heard(tmp_path):
    scape, tap = await start(tmp_path)
    await asyncio.sleep(0.2)
    handle = scape.play("chime")
    await asyncio.wait_for(handle, timeout=5)
    heard_at_return = tap.index(time.monotonic())
    await scape.aclose()
    y = tap.heard()[:, 0]
    first, last, gaps = tone_span(y, CHIME, 0.3)
    assert 14 <= last - first + 1 <= 16  # 0.3 s
    assert gaps == []
    assert heard_at_return >= (last + 1) * W - W  # not done before it was heard


async def test_stop_fades_a_looping_sound_out(tmp_path):
    scape, tap = await start(tmp_path)
    await asyncio.sleep(0.1)
    handle = scape.play("chime", loop=True, fade_out=0.1)
    await asyncio.sleep(0.8)  # loops past its 0.3 s length
    stop_at = tap.index(time.monotonic())
    handle.stop()
    await asyncio.wait_for(handle, timeout=5)
    await scape.aclose()
    y = tap.heard()[:, 0]
    assert tone_level(y[stop_at - 20 * W : stop_at - W], CHIME) > 0.45  # looped, ~0.5
    after = stop_at + int(0.1 * RATE) + 3 * W  # fade + splice + a window
    assert tone_level(y[after : after + 5 * W], CHIME) < 0.005


async def test_stopping_an_endless_stream_fades_it_and_closes_the_producer(tmp_path):
    # A relayed participant never ends on its own: stop() must silence it, let the bed have
    # its queue back, and stop reading the producer (which is told by its aclose()).
    scape, tap = await start(tmp_path)
    await asyncio.sleep(0.5)
    closed: list[bool] = []
    second = (sine(1000.0, 1.0, 0.4) * 32767).astype(np.int16)[:, 0]

    async def endless() -> AsyncIterator[rtc.AudioFrame]:
        try:
            while True:
                async for f in paced(second, []):
                    yield f
        finally:
            closed.append(True)

    handle = scape.play(endless(), level="file", fade_out=0.05)
    await asyncio.sleep(0.6)
    stop_at = tap.index(time.monotonic())
    handle.stop()
    await asyncio.wait_for(handle, timeout=5)
    await asyncio.sleep(0.3)
    assert closed == [True], "the producer was still being read"
    stall = tap.index(time.monotonic())
    time.sleep(0.2)  # the bed's queue is whole again: it outlasts a stalled loop
    await asyncio.sleep(0.3)
    await scape.aclose()
    y = tap.heard()[:, 0]
    assert tone_level(y[stop_at - 10 * W : stop_at - W], 1000.0) > 0.3
    after = stop_at + int(0.05 * RATE) + 3 * W  # fade + splice + a window
    assert tone_level(y[after:], 1000.0) < 0.005
    bed = tone_track(y[stall - 5 * W : stall + 15 * W], BED, W)
    assert bed.min() > 0.5 * BED_GAIN * AMP, f"the bed fell to {bed.min():.3f} in the stall"


async def test_builtin_and_file_path_play(tmp_path):
    scape, tap = await start(tmp_path)
    p = tmp_path / "beep.wav"
    from support.audio_checks import write_wav

    write_wav(p, sine(2500.0, 0.2, 0.4))
    await asyncio.wait_for(scape.play(str(p)), timeout=5)
    h = scape.play("builtin:keyboard-typing", gain=0.5)
    await asyncio.sleep(0.4)
    h.stop()
    await asyncio.wait_for(h, timeout=5)
    await scape.aclose()
    y = tap.heard()[:, 0]
    first, last, _ = tone_span(y, 2500.0, 0.3)
    assert 9 <= last - first + 1 <= 11


async def test_trigger_plays_its_sound_and_llm_tool_fires_it(tmp_path):
    scape, tap = await start(tmp_path)
    fired: list[tuple[str, dict]] = []
    scape.on("trigger", lambda ev: fired.append((ev.name, ev.fields)))
    await asyncio.sleep(0.2)
    scape.trigger("order_confirmed", order="17")
    await asyncio.sleep(0.6)
    tools = scape.llm_tools()
    assert [t.info.name for t in tools] == ["order_confirmed"]
    schema = tools[0].info.raw_schema
    assert schema["description"] == "The order went through; play a chime."
    assert schema["parameters"]["properties"] == {
        "order": {"type": "string", "description": "the order number"}
    }
    await tools[0](raw_arguments={"order": "18"})
    await asyncio.sleep(0.6)
    await scape.aclose()
    assert fired == [("order_confirmed", {"order": "17"}), ("order_confirmed", {"order": "18"})]
    track = tone_track(tap.heard()[:, 0], CHIME, W)
    bursts = np.flatnonzero(np.diff((track > 0.3).astype(int)) == 1)
    assert len(bursts) == 2  # one chime per firing


async def chime_heard_around_a_stall(tmp_path, monkeypatch, method: str, stall_after) -> None:
    """Play the 300 ms chime with a 200 ms stall injected after the driver's ``method``
    (once, when ``stall_after(kwargs)`` says so); assert the chime is heard whole."""
    from soundscape.runtime.driver import LiveDriver

    real, stalls = getattr(LiveDriver, method), [1]

    def wrapped(self, *args, **kw):
        out = real(self, *args, **kw)
        if stalls and stall_after(kw):
            stalls.pop()
            time.sleep(0.2)  # the event loop is blocked (a full GC, a slow callback...)
        return out

    scape, tap = await start(tmp_path)
    await asyncio.sleep(0.3)
    monkeypatch.setattr(LiveDriver, method, wrapped)
    scape.play("chime")
    await asyncio.sleep(1.0)
    await scape.aclose()
    assert not stalls, "the stall was not injected"
    first, last, gaps = tone_span(tap.heard()[:, 0], CHIME, 0.3)
    # 0.3 s = 15 windows of 20 ms; a window half-covered at each end may read below level.
    assert 14 <= last - first + 1 <= 16, f"heard {(last - first + 1) * 20} ms of a 300 ms chime"
    assert gaps == []


async def test_a_sound_played_just_before_the_loop_stalls_is_heard_whole(tmp_path, monkeypatch):
    # The driver reacts after the stall; the chime must start then, not 200 ms in the past
    # where its first two thirds would already have been "played" by the old queue.
    await chime_heard_around_a_stall(tmp_path, monkeypatch, "submit", lambda kw: kw.get("whole"))


async def test_a_sound_whose_reaction_stalls_mid_render_is_heard_whole(tmp_path, monkeypatch):
    # The stall may also come while the driver re-renders for the play (a gen-2 garbage
    # collection is likeliest there: rendering allocates). The splice then lands 200 ms
    # after the chime's start; it must start there instead of losing its first 200 ms.
    await chime_heard_around_a_stall(tmp_path, monkeypatch, "_rerender", lambda kw: True)


async def test_unknown_trigger_and_field_are_clear_errors(tmp_path):
    scape, _ = await start(tmp_path)
    with pytest.raises(
        ValueError, match=r"no trigger named 'order_confirm'; did you mean 'order_confirmed'\?"
    ):
        scape.trigger("order_confirm")
    with pytest.raises(
        ValueError, match=r"trigger 'order_confirmed' has no field\(s\) colour; declared: order"
    ):
        scape.trigger("order_confirmed", colour="red")
    with pytest.raises(
        ValueError, match=r"cannot play 'chimes': not a sound of .*scene.yaml \(sounds: bed, chime"
    ):
        scape.play("chimes")
    await scape.aclose()


async def test_a_raising_listener_does_not_stop_the_track(tmp_path, caplog):
    scape, tap = await start(tmp_path)

    def bad(ev):
        raise RuntimeError("app bug")

    scape.on("state_changed", bad)
    await asyncio.sleep(0.1)
    scape.post("agent.thinking")
    await asyncio.sleep(0.4)
    end = tap.index(time.monotonic())
    await scape.aclose()
    assert "app bug" in caplog.text
    y = tap.heard()[:end, 0]
    y = y[onset(y, 1e-3) :]
    # The bed never stopped: every 20 ms window after the fade-in carries it.
    track = tone_track(y, BED, W)[3:-3]
    assert (track > 0.1).all()


async def test_stereo_scene_renders_two_channels(tmp_path):
    scape = Soundscape(write_tone_scene(tmp_path), seed=1, channels=2)
    source = make_audio_source(RATE, 2, 1000)
    tap = AudioTap(source)
    await scape.start(audio_source=source)
    await asyncio.sleep(0.4)
    await scape.aclose()
    y = tap.heard()
    assert y.shape[1] == 2
    mid = y.shape[0] // 2
    assert tone_level(y[mid : mid + 4 * W, 0], BED) > 0.08
    assert tone_level(y[mid : mid + 4 * W, 1], BED) > 0.08


async def test_switch_crossfades_without_a_gap(tmp_path):
    scape, tap = await start(tmp_path)
    await asyncio.sleep(0.4)
    await scape.switch(tmp_path / "hold.yaml", crossfade="200ms")
    await asyncio.sleep(0.6)
    end = tap.index(time.monotonic())
    await scape.aclose()
    y = tap.heard()[:end, 0]
    y = y[onset(y, 1e-3) :]
    bed, music = tone_track(y, BED, W), tone_track(y, OTHER, W)
    assert bed[5] > 0.12 and music[5] < 0.005  # before: the bed only
    assert bed[-3] < 0.005 and music[-3] > 0.2  # after: the hold music only
    # No gap: the summed power never falls far below that of either scene alone.
    power = bed**2 + music**2
    assert power[3:-2].min() > 0.5 * min(bed[5] ** 2, music[-3] ** 2)
