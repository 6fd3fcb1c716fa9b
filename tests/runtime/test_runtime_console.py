"""Console mode: the scene is heard through livekit-agents' local console output (no room).

The console's speaker is a sounddevice callback calling ``ConsoleAudioOutput.read_into``
on the audio thread. `Speaker` plays that part: a thread pulling 10 ms blocks in real time
from a real `ConsoleAudioOutput`, so no sound card is needed.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time

import numpy as np
import pytest
from livekit import rtc
from livekit.agents import cli
from livekit.agents.cli._legacy import SAMPLE_RATE, ConsoleAudioOutput
from support.audio_checks import tone_level, tone_track
from support.tone_scene import BED, write_tone_scene

from soundscape.runtime import Soundscape

AGENT = 3000.0  # the agent's "voice": a tone no layer of the tone scene uses
BLOCK = 240  # the console callback's 10 ms at 24 kHz


class Speaker(threading.Thread):
    """Pulls 10 ms blocks from each output, as the sound card's callback would."""

    def __init__(self, *outputs: ConsoleAudioOutput) -> None:
        super().__init__(daemon=True)
        self.outputs = outputs
        self.blocks: list[list[np.ndarray]] = [[] for _ in outputs]
        self._halt = threading.Event()

    def run(self) -> None:
        t0 = time.monotonic()
        n = 0
        while not self._halt.is_set():
            n += 1
            time.sleep(max(0.0, t0 + n * 0.01 - time.monotonic()))
            for out, got in zip(self.outputs, self.blocks, strict=True):
                buf = np.zeros((BLOCK, 1), dtype=np.int16)
                out.read_into(buf, BLOCK)
                got.append(buf[:, 0].copy())

    def heard(self, i: int = 0) -> np.ndarray:
        return np.concatenate(self.blocks[i]).astype(np.float64) / 32768.0

    def stop(self) -> None:
        self._halt.set()
        self.join()


def agent_frames(seconds: float, amp: float = 0.4) -> list[rtc.AudioFrame]:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    pcm = np.round(amp * 32767 * np.sin(2 * np.pi * AGENT * t)).astype(np.int16)
    return [
        rtc.AudioFrame(pcm[i : i + BLOCK].tobytes(), SAMPLE_RATE, 1, BLOCK)
        for i in range(0, pcm.size, BLOCK)
    ]


async def say(out: ConsoleAudioOutput, frames: list[rtc.AudioFrame]) -> None:
    for f in frames:
        await out.capture_frame(f)
    out.flush()


async def test_scene_is_mixed_in_and_the_agent_passes_unchanged(tmp_path):
    loop = asyncio.get_running_loop()
    out, ref = ConsoleAudioOutput(loop), ConsoleAudioOutput(loop)  # ref: the agent alone
    scape = Soundscape(write_tone_scene(tmp_path), seed=3)
    await scape.start(console=out)
    assert scape.rate == SAMPLE_RATE and scape.channels == 1
    speaker = Speaker(out, ref)
    speaker.start()
    await asyncio.sleep(0.6)
    frames = agent_frames(0.8)
    await say(out, frames)
    await say(ref, frames)
    await asyncio.sleep(1.4)
    speaker.stop()
    await scape.aclose(fade=0.01)
    assert "read_into" not in out.__dict__  # the console's own method again

    mixed, agent = speaker.heard(0), speaker.heard(1)
    scene = mixed - agent
    # The agent is exactly what was sent (the console's path without us)...
    sent = np.concatenate([np.frombuffer(f.data, np.int16) for f in frames]) / 32768.0
    start = int(np.flatnonzero(agent)[0]) - int(np.flatnonzero(sent)[0])
    assert np.array_equal(agent[start : start + sent.size], sent)
    # ...and what we add carries no trace of it: the difference is the scene, nothing else.
    assert tone_level(scene, AGENT, rate=SAMPLE_RATE) < 1e-4
    bed = tone_track(scene, BED, 480, rate=SAMPLE_RATE)
    heard = bed[bed > 0.075]
    assert heard.size > 90  # of ~100 windows: the whole 2 s
    assert np.all(np.abs(heard[2:-2] - 0.15) < 0.003)
    # While the agent talks the bed is still there, under it.
    during = scene[start : start + sent.size]
    assert tone_level(during, BED, rate=SAMPLE_RATE) == pytest.approx(0.15, rel=0.02)
    assert tone_level(mixed[start : start + sent.size], AGENT, rate=SAMPLE_RATE) == (
        pytest.approx(0.4, rel=0.01)
    )


@pytest.fixture
def console(monkeypatch):
    """The console livekit-agents' `console` command sets up, before the session starts."""
    c = cli.AgentsConsole()
    c.enabled = True
    monkeypatch.setattr(cli.AgentsConsole, "_instance", c)
    return c


async def test_no_room_under_the_console_command_plays_locally_once_the_session_starts(
    tmp_path, console, caplog
):
    scape = Soundscape(write_tone_scene(tmp_path), seed=3)
    with caplog.at_level(logging.INFO, logger="soundscape"):
        await scape.start()  # no room: what an agent does under `console`
        assert scape.audio_source is None
        await asyncio.sleep(0.3)
        # The AgentSession starts after the scape: the console acquires its io then.
        out = ConsoleAudioOutput(asyncio.get_running_loop())
        console._io_audio_output, console._io_acquired = out, True
        speaker = Speaker(out)
        speaker.start()
        await asyncio.sleep(1.0)
        speaker.stop()
        await scape.aclose(fade=0.01)
    messages = [r.getMessage() for r in caplog.records]
    assert any("console mode" in m and "24000 Hz" in m for m in messages)
    bed = tone_track(speaker.heard(), BED, 480, rate=SAMPLE_RATE)
    assert np.sum(np.abs(bed - 0.15) < 0.003) > 40  # of 50 windows: most of the second


async def test_the_console_jobs_stand_in_room_is_not_published_to(tmp_path, console):
    from livekit.agents.ipc.mock_room import create_mock_room

    out = ConsoleAudioOutput(asyncio.get_running_loop())
    console._io_audio_output, console._io_acquired = out, True
    room = create_mock_room()  # what ctx.room is in a console job
    room.local_participant.publish_track.reset_mock()
    scape = Soundscape(write_tone_scene(tmp_path), seed=3)
    await scape.start(room=room)
    assert "read_into" in out.__dict__ and scape.publication is None
    assert room.local_participant.publish_track.call_count == 0
    await scape.aclose(fade=0.01)
    assert "read_into" not in out.__dict__
    await scape.start(console=False)  # asked not to: a track as usual
    assert scape.audio_source is not None and "read_into" not in out.__dict__
    await scape.aclose(fade=0.01)


async def test_console_true_outside_the_console_command_says_so(tmp_path):
    scape = Soundscape(write_tone_scene(tmp_path), seed=3)
    with pytest.raises(RuntimeError, match="not running with the `console` command"):
        await scape.start(console=True)
    with pytest.raises(TypeError, match="read_into"):
        await scape.start(console=object())


async def test_a_real_agent_session_under_the_console_hears_scene_and_voice(tmp_path, monkeypatch):
    """The console livekit-agents' `console` command builds (its rich, legacy one), a real
    AgentSession that acquires its io, and the code an agent runs in a real room."""
    from livekit.agents import Agent
    from livekit.agents.cli import _legacy
    from livekit.agents.ipc.mock_room import create_mock_room

    from soundscape.testing import Reply, scripted_session

    c = _legacy.AgentsConsole()
    c.enabled = True
    monkeypatch.setattr(cli.AgentsConsole, "_instance", c)
    session = scripted_session([Reply("Hello there, this is the agent speaking.", delay=0.2)])
    await session.start(agent=Agent(instructions="test"))
    scape = Soundscape(write_tone_scene(tmp_path), seed=3)
    await scape.start(room=create_mock_room(), agent_session=session)
    speaker = Speaker(c._io_audio_output)
    speaker.start()
    await asyncio.sleep(0.5)
    await session.generate_reply(user_input="hi")
    await asyncio.sleep(0.5)
    speaker.stop()
    await session.aclose()
    await asyncio.wait_for(scape.wait_closed(), 5)

    y = speaker.heard()
    win = 4800  # 200 ms: 5 Hz bins, so the 180 Hz voice does not leak into the 220 Hz bed
    voice = tone_track(y, 180.0, win, rate=SAMPLE_RATE)
    bed = tone_track(y, BED, win, rate=SAMPLE_RATE)
    talking = np.flatnonzero(voice > 0.05)
    assert talking.size >= 3, voice  # the agent is heard through the console
    assert bed[1] == pytest.approx(0.15, rel=0.03)  # before it speaks: the bed at its level
    mid = bed[talking[1] : talking[-1]]
    assert mid.size and np.all((mid > 0.02) & (mid < 0.06)), mid  # ducked to 0.25 × 0.15


async def test_one_track_under_the_console_plays_the_voice_through_the_scene(tmp_path, monkeypatch):
    """`one_track=True` under the console: the session's speech goes through the scape, which
    the speaker then plays (one mechanism for the room and the console), bit for bit."""
    from livekit.agents import Agent
    from livekit.agents.cli import _legacy
    from livekit.agents.ipc.mock_room import create_mock_room

    from soundscape.runtime.voice_output import OneTrackOutput
    from soundscape.testing import Reply, scripted_session

    c = _legacy.AgentsConsole()
    c.enabled = True
    monkeypatch.setattr(cli.AgentsConsole, "_instance", c)
    session = scripted_session([Reply("Hello there, this is the agent speaking.", delay=0.2)])
    scape = Soundscape(write_tone_scene(tmp_path), seed=3)
    # Before the session: it takes the console's output at start(), and ours takes its place.
    await scape.start(room=create_mock_room(), agent_session=session, one_track=True)
    await session.start(agent=Agent(instructions="test"))
    ours = session.output.audio
    while ours is not None and not isinstance(ours, OneTrackOutput):
        ours = ours.next_in_chain
    assert isinstance(ours, OneTrackOutput)
    given: list[rtc.AudioFrame] = []
    capture = ours.capture_frame

    async def capture_frame(frame: rtc.AudioFrame) -> None:
        given.append(frame)
        await capture(frame)

    ours.capture_frame = capture_frame  # type: ignore[method-assign]
    speaker = Speaker(c._io_audio_output)
    speaker.start()
    await asyncio.sleep(0.5)
    await session.generate_reply(user_input="hi")
    await asyncio.sleep(0.5)
    speaker.stop()
    await session.aclose()
    await asyncio.wait_for(scape.wait_closed(), 5)

    y = speaker.heard()
    win = 4800
    voice = tone_track(y, 180.0, win, rate=SAMPLE_RATE)
    bed = tone_track(y, BED, win, rate=SAMPLE_RATE)
    talking = np.flatnonzero(voice > 0.05)
    assert talking.size >= 3, voice  # the agent is heard, through us
    assert len(given) > 10 and not c._io_audio_output._output_buf  # none through the console's
    assert bed[1] == pytest.approx(0.15, rel=0.03)
    mid = bed[talking[1] : talking[-1]]
    assert mid.size and np.all((mid > 0.02) & (mid < 0.06)), mid  # ducked as in a room
