"""`voice: auto` live and `play(level=)`: what the caller hears from a Soundscape next to a
real AgentSession (scripted LLM/TTS), on a real AudioSource, and what the session's own
audio output still receives."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from livekit import rtc
from livekit.agents import Agent, AudioConfig
from livekit.agents.voice import io
from support.audio_checks import db, onset, sine, tone_level, tone_track, write_wav
from support.room import FakeRoom
from support.tap import AudioTap, close_all

from soundscape.audio import loudness
from soundscape.audio.loudness import clip_loudness
from soundscape.runtime import Soundscape, make_audio_source
from soundscape.runtime.voice_tap import VoiceTap, find_tap
from soundscape.testing import RealtimeAudioOutput, Reply, ScriptedTTS, scripted_session

RATE = 48000
W = 960  # 20 ms windows
BED = 1000.0
QUIET, LOUD = 0.12, 0.24  # the scripted voice's amplitude before and after the 6 dB step
TEXT_A, TEXT_B = "a" * 80, "b" * 100  # 4 s and 5 s of speech

SCENE = """\
version: 1
name: follow
voice: {loudness: %s, glide: 300ms}
sounds:
  bed: bed.wav
layers:
  bed: {sound: bed, level: voice -25 LU, fade_in: 20ms}
states:
  idle:
"""


@pytest.fixture(autouse=True)
async def _close_taps():
    yield
    await close_all()


def _scene(d: Path, voice: str = "auto") -> Path:
    write_wav(d / "bed.wav", sine(BED, 2.0, 0.3))
    path = d / "scene.yaml"
    path.write_text(SCENE % voice)
    return path


def _voice_pcm(frames: list[tuple[float, rtc.AudioFrame]]) -> np.ndarray:
    return np.concatenate([np.frombuffer(f.data, dtype=np.int16) for _, f in frames])


async def _converse(session, step) -> None:
    await session.start(agent=Agent(instructions="test"))
    await step()
    await session.generate_reply(user_input="first")
    tts = session.tts
    assert isinstance(tts, ScriptedTTS)
    tts.level = LOUD
    await session.generate_reply(user_input="second")


async def test_a_voice_6_db_louder_lifts_the_voice_relative_bed_6_db_smoothly(tmp_path):
    session = scripted_session([Reply(TEXT_A), Reply(TEXT_B)], keep_audio=True)
    # The same conversation without a soundscape: what the session's output must still get.
    alone = scripted_session([Reply(TEXT_A), Reply(TEXT_B)], keep_audio=True)
    alone.tts.level = QUIET  # type: ignore[attr-defined]
    other = alone.output.audio
    sink = session.output.audio
    assert isinstance(sink, RealtimeAudioOutput)
    tts = session.tts
    assert isinstance(tts, ScriptedTTS)
    tts.level = QUIET
    marks: list[tuple[float, str]] = []
    session.on("agent_state_changed", lambda e: marks.append((time.monotonic(), e.new_state)))
    source = make_audio_source(RATE, 1, 1000)
    tap = AudioTap(source)
    scape = Soundscape(_scene(tmp_path), seed=1)

    async def start_scape() -> None:
        await scape.start(room=FakeRoom(), agent_session=session, audio_source=source)
        assert isinstance(find_tap(session.output.audio), VoiceTap)
        await asyncio.sleep(0.3)

    await asyncio.gather(
        _converse(session, start_scape), _converse(alone, lambda: asyncio.sleep(0.3))
    )
    await asyncio.sleep(0.2)
    await scape.aclose()
    await session.aclose()
    await alone.aclose()
    y = tap.heard()[:, 0]

    speaking = [t for t, s in marks if s == "speaking"]
    listening = [t for t, s in marks if s == "listening" and t > speaking[0]]
    assert len(speaking) == 2 and len(listening) >= 2  # both speeches played out through the tap
    a0, a1 = tap.index(speaking[0]), tap.index(listening[0])
    b0, b1 = tap.index(speaking[1]), tap.index(listening[1])
    # Settled on each voice: the quiet one from 1 s (its first estimate) + the glide, the
    # loud one once its 3 s short-term window holds nothing but it (+ the glide).
    quiet = tone_level(y[a0 + int(2.0 * RATE) : a1 - W], BED)
    loud = tone_level(y[b0 + int(3.8 * RATE) : b1 - W], BED)
    assert db(loud) - db(quiet) == pytest.approx(20 * np.log10(LOUD / QUIET), abs=1.0)
    # Gliding: no 20 ms window more than 0.5 dB from the one before, from before the step
    # to after it.
    track = 20 * np.log10(tone_track(y[a0 + int(2.0 * RATE) : b1 - W], BED, W))
    assert np.max(np.abs(np.diff(track))) < 0.5
    # The session's own output got what it gets with no soundscape: the same frames, cut
    # the same way, with the same samples.
    assert isinstance(other, RealtimeAudioOutput)
    sizes = [f.samples_per_channel for _, f in sink.frames]
    assert sizes == [f.samples_per_channel for _, f in other.frames]
    assert np.array_equal(_voice_pcm(sink.frames), _voice_pcm(other.frames))
    assert np.abs(_voice_pcm(sink.frames)).max() > 0.9 * LOUD * 32767 / 1.4


async def test_a_fixed_voice_reference_leaves_the_session_output_alone(tmp_path):
    session = scripted_session()
    sink = session.output.audio
    scape = Soundscape(_scene(tmp_path, "-20 LUFS"), seed=1)
    await scape.start(room=FakeRoom(), agent_session=session, audio_source=make_audio_source())
    await session.start(agent=Agent(instructions="test"))
    await asyncio.sleep(0.1)
    assert session.output.audio is sink
    assert find_tap(session.output.audio) is None
    await scape.aclose()
    await session.aclose()


async def test_the_tap_joins_an_output_set_after_the_scape_started(tmp_path, caplog):
    # As RoomIO does: the session gets its audio output inside session.start().
    caplog.set_level(logging.DEBUG, logger="soundscape")
    session = scripted_session()
    session.output.audio = None
    scape = Soundscape(_scene(tmp_path), seed=1)
    await scape.start(room=FakeRoom(), agent_session=session, audio_source=make_audio_source())
    scape.post("anything")  # not a session event: nothing to re-check
    sink = RealtimeAudioOutput()
    session.output.audio = sink
    await session.start(agent=Agent(instructions="test"))
    await asyncio.sleep(0.1)
    tap = find_tap(session.output.audio)
    assert tap is not None and tap.next_in_chain is not None
    assert find_tap(tap.next_in_chain) is None  # one tap, above the session's own chain
    said = [r for r in caplog.records if "has no audio output" in r.getMessage()]
    assert len(said) == 1 and said[0].levelno == logging.DEBUG
    await scape.aclose()
    await session.aclose()


class _Sink(io.AudioOutput):
    """A leaf that records what reaches it, and when (relative to the tap's listener)."""

    def __init__(self, log: list[str]) -> None:
        super().__init__(label="sink", capabilities=io.AudioOutputCapabilities(pause=True))
        self.log = log
        self.frames: list[rtc.AudioFrame] = []

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        await super().capture_frame(frame)
        self.frames.append(frame)
        self.log.append("sink")

    def flush(self) -> None:
        super().flush()
        self.log.append("flush")

    def clear_buffer(self) -> None:
        self.log.append("clear")

    def pause(self) -> None:
        self.log.append("pause")


class _Listener:
    def __init__(self, log: list[str]) -> None:
        self.log = log

    def frame(self, frame: rtc.AudioFrame) -> None:
        self.log.append("listener")

    def cleared(self) -> None:
        self.log.append("listener cleared")


async def test_the_tap_hands_each_frame_on_at_once_and_forwards_every_call_and_event():
    log: list[str] = []
    sink = _Sink(log)
    tap = VoiceTap(sink)
    tap.listeners.append(_Listener(log))
    frame = rtc.AudioFrame(np.full(240, 1000, dtype=np.int16).tobytes(), 24000, 1, 240)
    # The wrapped capture completes in one step when the sink's does: no await of its own.
    coro = tap.capture_frame(frame)
    with pytest.raises(StopIteration):
        coro.send(None)
    assert sink.frames == [frame] and sink.frames[0] is frame
    assert log == ["sink", "listener"]  # the sink had it before anything looked at it
    finished: list[io.PlaybackFinishedEvent] = []
    tap.on("playback_finished", finished.append)
    tap.flush()
    tap.pause()
    tap.clear_buffer()
    assert log[2:] == ["flush", "pause", "clear", "listener cleared"]
    sink.on_playback_finished(playback_position=0.01, interrupted=True)
    ev = await asyncio.wait_for(tap.wait_for_playout(), timeout=1)
    assert finished and finished[0].interrupted and ev.playback_position == 0.01
    assert tap.sample_rate == sink.sample_rate and tap.can_pause


# ------------------------------------------------------------------------- play(level=)

PLAY_SCENE = """\
version: 1
name: plays
voice: -20 LUFS
levels: {cue: voice -15 LU}
states:
  idle:
"""


async def _play_and_hear(tmp_path: Path, *plays) -> list[np.ndarray]:
    clip = write_wav(tmp_path / "tone.wav", sine(BED, 1.5, 0.5))
    (tmp_path / "plays.yaml").write_text(PLAY_SCENE)
    scape = Soundscape(tmp_path / "plays.yaml", seed=1)
    source = make_audio_source(RATE, 1, 1000)
    tap = AudioTap(source)
    await scape.start(audio_source=source)
    heard = []
    for what, kw in plays:
        await asyncio.sleep(0.2)
        n0 = tap.heard().shape[0]
        handle = scape.play(str(clip) if what is None else what(clip), **kw)
        await asyncio.wait_for(handle, timeout=10)
        await asyncio.sleep(0.1)
        y = tap.heard()[n0:, 0]
        on = onset(y, 1e-4)
        assert on is not None
        heard.append(y[on + RATE // 10 : on + int(1.4 * RATE)])
    await scape.aclose()
    return heard


async def test_play_at_a_voice_relative_level_lands_there_and_never_measures_on_the_loop(
    tmp_path, monkeypatch
):
    threads: list[str] = []
    measure = loudness.measured

    def spy(*args, **kw):
        threads.append(threading.current_thread().name)
        return measure(*args, **kw)

    monkeypatch.setattr(loudness, "measured", spy)
    quiet, default = await _play_and_hear(
        tmp_path, (None, {"level": "voice -10 LU"}), (None, {"loop": False})
    )
    assert clip_loudness(quiet, RATE) == pytest.approx(-30.0, abs=1.0)
    assert clip_loudness(default, RATE) == pytest.approx(-35.0, abs=1.0)  # the scene's cue level
    assert threads and threading.main_thread().name not in threads  # measured once, off it


async def test_an_audio_config_plays_the_file_at_its_volume(tmp_path):
    (heard,) = await _play_and_hear(tmp_path, (lambda p: AudioConfig(str(p), volume=0.3), {}))
    assert tone_level(heard, BED) == pytest.approx(0.5 * 0.3, rel=0.03)


async def test_a_bad_level_is_refused_at_the_call(tmp_path):
    (tmp_path / "plays.yaml").write_text(PLAY_SCENE)
    scape = Soundscape(tmp_path / "plays.yaml", seed=1)
    await scape.start(audio_source=make_audio_source())
    with pytest.raises(ValueError, match="level"):
        scape.play("builtin:hold-music", level="loud")
    await scape.aclose()


async def test_an_interruption_still_stops_the_speech_through_the_tap(tmp_path):
    session = scripted_session([Reply("c" * 200)])  # 10 s of speech
    sink = session.output.audio
    assert isinstance(sink, RealtimeAudioOutput)
    scape = Soundscape(_scene(tmp_path), seed=1)
    await session.start(agent=Agent(instructions="test"))
    await scape.start(room=FakeRoom(), agent_session=session, audio_source=make_audio_source())
    finished: list[io.PlaybackFinishedEvent] = []
    sink.on("playback_finished", finished.append)
    handle = session.generate_reply(user_input="talk")
    await asyncio.sleep(1.5)
    assert session.agent_state == "speaking"
    await session.interrupt()
    await asyncio.wait_for(handle, timeout=5)
    assert handle.interrupted
    # The sink was cleared: it played a part of the 10 s, and said so.
    assert finished and finished[-1].interrupted and finished[-1].playback_position < 5
    await scape.aclose()
    await session.aclose()


async def test_a_scene_switched_to_starts_at_the_voice_measured_so_far(tmp_path):
    first = _scene(tmp_path)
    write_wav(tmp_path / "bed2.wav", sine(BED, 2.0, 0.3))  # heard alone once crossfaded in
    second = tmp_path / "second.yaml"
    second.write_text(first.read_text().replace("bed.wav", "bed2.wav"))
    session = scripted_session([Reply(TEXT_A)])
    session.tts.level = QUIET  # type: ignore[attr-defined]  # 8 dB under the assumed -20 LUFS
    source = make_audio_source(RATE, 1, 1000)
    tap = AudioTap(source)
    scape = Soundscape(first, seed=1)
    await session.start(agent=Agent(instructions="test"))
    await scape.start(room=FakeRoom(), agent_session=session, audio_source=source)
    await session.generate_reply(user_input="talk")
    spoke = tap.index(time.monotonic())
    t = time.monotonic()
    await scape.switch(second, crossfade="100ms")
    await asyncio.sleep(0.8)
    await scape.aclose()
    await session.aclose()
    y = tap.heard()[:, 0]
    before = tone_level(y[spoke - int(0.5 * RATE) : spoke], BED)
    after = tone_level(y[tap.index(t) + int(0.4 * RATE) : tap.index(t) + int(0.7 * RATE)], BED)
    # The same clip at the same level under the same measured voice: the same loudness
    # from the start, not the 8 dB louder bed of a voice at -20 LUFS.
    assert db(after) == pytest.approx(db(before), abs=0.5)
