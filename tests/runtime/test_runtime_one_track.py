"""One-track mode: soundscape as the AgentSession's audio output. What leaves on the track
(a real `rtc.AudioSource`, read back sample for sample) against what the session gave."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import numpy as np
import pytest
from livekit import rtc
from livekit.agents import Agent
from livekit.agents.voice import io
from support.audio_checks import clicks, db, sine, step_bound, tone_level, tone_track, write_wav
from support.tap import AudioTap, close_all

from soundscape.runtime import Soundscape, make_audio_source
from soundscape.runtime.voice_output import OneTrackOutput
from soundscape.testing import Reply, scripted_session

RATE = 48000
TICK = RATE // 100
BED, VOICE = 1000.0, 180.0  # the bed's tone; ScriptedTTS speaks at 180 Hz (+ 360 Hz)
W = 960  # 20 ms windows

SCENE = """\
version: 1
name: one
levels: file
sounds:
  bed: bed.wav
layers:
  bed: {sound: bed, gain: %s, fade_in: 10ms}
states:
  idle:
"""


@pytest.fixture(autouse=True)
async def _close_taps():
    yield
    await close_all()


def _scene(d: Path, gain: str = "1.0") -> Path:
    write_wav(d / "bed.wav", sine(BED, 2.0, 0.1))
    path = d / "scene.yaml"
    path.write_text(SCENE % gain)
    return path


def _tone(seconds: float, amp: float = 0.3, freq: float = VOICE) -> np.ndarray:
    return (sine(freq, seconds, amp) * 32767).astype(np.int16)


def _frames(pcm: np.ndarray, ms: int = 20) -> list[rtc.AudioFrame]:
    n = RATE * ms // 1000
    return [
        rtc.AudioFrame(pcm[i : i + n].tobytes(), RATE, 1, len(pcm[i : i + n]))
        for i in range(0, len(pcm), n)
    ]


async def _one_track(tmp_path: Path, gain: str = "1.0", **kw):
    """A scape in one-track mode on a tapped source, its output, and the (unstarted) session."""
    session = scripted_session(**kw)
    session.output.audio = None  # as before `session.start()`: ours takes the place
    source = make_audio_source(RATE, 1, 1000)
    tap = AudioTap(source)
    scape = Soundscape(_scene(tmp_path, gain), seed=1)
    await scape.start(agent_session=session, audio_source=source, one_track=True)
    out = session.output.audio
    assert isinstance(out, OneTrackOutput)
    return session, scape, out, tap


def _record(out: io.AudioOutput) -> list[tuple[float, rtc.AudioFrame]]:
    """The frames the session hands ``out``, with when (`time.monotonic()`)."""
    got: list[tuple[float, rtc.AudioFrame]] = []
    capture = out.capture_frame

    async def capture_frame(frame: rtc.AudioFrame) -> None:
        got.append((time.monotonic(), frame))
        await capture(frame)

    out.capture_frame = capture_frame  # type: ignore[method-assign]
    return got


def _pcm(frames: list[tuple[float, rtc.AudioFrame]]) -> np.ndarray:
    return np.concatenate([np.frombuffer(f.data, np.int16) for _, f in frames])


def _int16(tap: AudioTap) -> np.ndarray:
    return np.rint(tap.heard()[:, 0] * 32768).astype(np.int32)


def _voice_windows(y: np.ndarray, floor_db: float = -40.0) -> np.ndarray:
    """Per 10 ms window: does it hold the voice tone?"""
    track = tone_track(y, VOICE, TICK)
    return 20 * np.log10(np.maximum(track, 1e-9)) > floor_db


async def test_with_a_silent_scene_the_track_carries_the_sessions_own_samples(tmp_path):
    session, scape, out, tap = await _one_track(tmp_path, gain="-inf dB", replies=[Reply("a" * 40)])
    given = _record(out)
    await session.start(agent=Agent(instructions="test"))
    await asyncio.wait_for(session.generate_reply(user_input="hi"), 20)
    await asyncio.sleep(0.2)
    await scape.aclose()
    await session.aclose()
    y = _int16(tap)
    voice = _pcm(given).astype(np.int32)
    assert len(voice) > RATE  # over a second of speech went through us
    first = int(np.flatnonzero(voice)[0])
    start = int(np.flatnonzero(y)[0]) - first
    # Bit for bit, back to back, and nothing else on the track.
    assert np.array_equal(y[start : start + len(voice)], voice)
    assert not y[:start].any() and not y[start + len(voice) :].any()


async def test_speech_is_heard_at_once_over_a_bed_that_never_stops(tmp_path):
    session, scape, out, tap = await _one_track(tmp_path, replies=[Reply("a" * 40)])
    given = _record(out)
    await session.start(agent=Agent(instructions="test"))
    await asyncio.sleep(1.0)  # the render-ahead queue is full of bed
    await asyncio.wait_for(session.generate_reply(user_input="hi"), 20)
    await asyncio.sleep(0.3)
    done = time.monotonic()
    await scape.aclose()
    await session.aclose()
    y = tap.heard()[:, 0]
    on = _voice_windows(y)
    first_voice = int(np.flatnonzero(on)[0]) * TICK
    arrived = tap.index(given[0][0])
    # Not behind the 850 ms of bed already queued: spliced in at the next tick (how soon,
    # in ms, is `python -m bench one-track`'s figure; a busy machine may delay the splice).
    assert 0 <= first_voice - arrived < 0.2 * RATE
    # The voice is the session's, in full: as long as what it gave.
    assert on.sum() * TICK == pytest.approx(len(_pcm(given)), abs=4 * TICK)
    # The bed plays on under the speech, at its level, in every 20 ms window.
    bed = 20 * np.log10(tone_track(y[int(0.3 * RATE) : tap.index(done)], BED, W))
    alone = db(tone_level(y[int(0.3 * RATE) : arrived], BED))
    assert np.all(np.abs(bed - alone) < 1.0)


async def test_a_tts_slower_than_real_time_plays_as_it_comes(tmp_path):
    _, scape, out, tap = await _one_track(tmp_path)
    await asyncio.sleep(1.0)
    frames = _frames(_tone(1.0))
    sent: list[float] = []
    for f in frames:  # 20 ms of speech every 40 ms: half real time
        sent.append(time.monotonic())
        await out.capture_frame(f)
        await asyncio.sleep(0.04)
    out.flush()
    await asyncio.wait_for(out.wait_for_playout(), 5)
    await asyncio.sleep(0.2)
    await scape.aclose()
    y = tap.heard()[:, 0]
    on = _voice_windows(y[tap.index(sent[0]) // TICK * TICK :])
    # Every frame was heard, whole, as it came (no waiting to buffer more).
    # (Not buffered into one run: frames that arrive with a gap play with one. On a late
    # loop two may land back to back, so not all 50 gaps need survive.)
    bursts = np.flatnonzero(np.diff(on.astype(int)) == 1)
    assert len(bursts) >= 0.6 * len(frames)
    assert on.sum() * TICK == pytest.approx(len(frames) * 960, abs=3 * TICK)
    # And the bed never stopped for the gaps.
    seg = y[tap.index(sent[0]) : tap.index(sent[-1])]
    bed = 20 * np.log10(tone_track(seg, BED, W))
    assert np.all(bed > db(0.1) - 1.5)


async def test_a_clear_cuts_the_voice_where_it_plays_and_reports_what_was_heard(tmp_path):
    _, scape, out, tap = await _one_track(tmp_path)
    finished: list[io.PlaybackFinishedEvent] = []
    out.on("playback_finished", finished.append)
    await asyncio.sleep(0.5)
    for f in _frames(_tone(3.0)):  # faster than real time, as a TTS gives it
        await out.capture_frame(f)
    out.flush()
    await asyncio.sleep(1.0)
    cleared = time.monotonic()
    out.clear_buffer()
    ev = await asyncio.wait_for(out.wait_for_playout(), 2)
    await asyncio.sleep(0.5)
    await scape.aclose()
    y = tap.heard()[:, 0]
    on = _voice_windows(y)
    start, end = np.flatnonzero(on)[[0, -1]] * TICK
    assert ev.interrupted and finished == [ev]
    # The position reported is the voice heard, to the tick.
    assert ev.playback_position * RATE == pytest.approx(end - start, abs=2 * TICK)
    assert 0.8 < ev.playback_position < 1.3
    # Cut where it was playing when cleared (not after what was queued).
    assert abs(end - tap.index(cleared)) < 0.1 * RATE
    # Faded, not clicked: no step larger than the voice and the bed make by themselves.
    step = step_bound([(0.3, VOICE), (0.1, BED)])
    assert clicks(y[end - 10 * TICK : end + 10 * TICK], material_step=step, ratio=1.2) == []
    # The bed goes on after the cut.
    after = tone_level(y[end + TICK : end + int(0.4 * RATE)], BED)
    assert db(after) == pytest.approx(db(0.1), abs=1.0)


async def test_pause_holds_the_voice_and_resume_gives_back_all_of_it(tmp_path):
    _, scape, out, tap = await _one_track(tmp_path)
    await asyncio.sleep(0.5)
    for f in _frames(_tone(1.5)):
        await out.capture_frame(f)
    out.flush()
    await asyncio.sleep(0.5)
    out.pause()
    await asyncio.sleep(0.6)
    out.resume()
    ev = await asyncio.wait_for(out.wait_for_playout(), 4)
    await asyncio.sleep(0.2)
    await scape.aclose()
    on = _voice_windows(tap.heard()[:, 0])
    assert not ev.interrupted and ev.playback_position == pytest.approx(1.5, abs=0.001)
    # All 1.5 s heard (the few ms faded at the pause are heard again after it), around
    # a pause of about 0.6 s.
    assert on.sum() * TICK == pytest.approx(1.5 * RATE, abs=3 * TICK)
    runs = np.flatnonzero(np.diff(on.astype(int)) != 0)
    assert len(runs) == 4  # on, off (pause), on (resume), off
    gap = (runs[2] - runs[1]) * TICK / RATE
    assert 0.4 < gap < 0.9


async def test_a_scene_that_fails_to_render_never_silences_the_voice(tmp_path):
    _, scape, out, tap = await _one_track(tmp_path)
    await asyncio.sleep(0.3)
    driver = scape._driver
    assert driver is not None

    def broken(n: int) -> np.ndarray:
        raise RuntimeError("a broken scene")

    driver.deck.render = broken  # type: ignore[method-assign]
    await asyncio.sleep(1.2)  # the bed queued before the fault has played
    voice = _tone(1.0)
    sent = time.monotonic()
    for f in _frames(voice):
        await out.capture_frame(f)
    out.flush()
    ev = await asyncio.wait_for(out.wait_for_playout(), 4)
    errors = scape.metrics.render_errors
    await scape.aclose()
    y = _int16(tap)
    voice = voice[:, 0].astype(np.int32)
    i0 = tap.index(sent) - TICK  # silence since the fault: the first sound is the voice
    start = i0 + int(np.flatnonzero(y[i0:])[0]) - int(np.flatnonzero(voice)[0])
    # The scene went silent (and said so); the voice went on, sample for sample.
    assert errors > 0
    assert np.array_equal(y[start : start + len(voice)], voice)
    assert ev.playback_position == pytest.approx(1.0, abs=0.001)
