"""End to end through a real LiveKit server (SFU, Opus and all) on loopback.

An agent-side participant plays a scene of pure tones (one frequency per layer and cue);
a caller subscribes to the soundscape track and records it. We listen to what the caller
got, window by window, around the moments events were posted on the agent's side. Windows
are chosen by when frames *arrived* at the caller, so the network's delay is part of what
is checked: a cue must be absent from everything that arrived before its event.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from livekit import rtc
from support.audio_checks import sine, tone_level, tone_track, write_wav

from soundscape.demo.caller import Caller, Recording, record_source
from soundscape.demo.livekit_local import LocalServer
from soundscape.runtime import Soundscape
from soundscape.runtime.sink import make_audio_source

RATE = 48000
BED, THINK, HOLD, CHIME = 220.0, 660.0, 990.0, 1320.0
AMP = 0.5
BED_LEVEL = AMP * 0.3  # layer gain 0.3
CUE_LEVEL = AMP * 0.5  # cue gain 0.5
CHIME_SECONDS = 0.6
SETTLE = 0.6  # what arrives this long after an event shows the new state (fades + network)
WIN = 1920  # 40 ms windows: tones 220 Hz apart stay apart

# Tones as written (`levels: file`): their levels at the caller are checked against the gains.
SCENE = """\
version: 1
name: e2e-tones
levels: file
sounds:
  bed: bed.wav
  think: think.wav
  hold: hold.wav
  chime: chime.wav
layers:
  bed: {sound: bed, gain: 0.3, fade_in: 20ms, fade_out: 100ms}
states:
  idle:
  listening:
  thinking:
    cues:
      - {sound: think, gain: 0.5, loop: true, fade_in: 10ms, fade_out: 50ms}
  speaking:
  on_hold:
    cues:
      - {sound: hold, gain: 0.5, loop: true, fade_in: 10ms, fade_out: 50ms}
triggers:
  hold: Put the caller on hold.
transitions:
  - {on: trigger.hold, to: on_hold}
"""


def write_scene(d: Path) -> Path:
    for name, f, secs in (("bed", BED, 2.0), ("think", THINK, 1.0), ("hold", HOLD, 1.0)):
        write_wav(d / f"{name}.wav", sine(f, secs, AMP))
    # The one-shot: a tone with 5 ms edges, so its start and end are crisp in the recording.
    chime = sine(CHIME, CHIME_SECONDS, AMP)
    edge = np.minimum(1.0, np.minimum(np.arange(len(chime)), np.arange(len(chime))[::-1]) / 240)
    write_wav(d / "chime.wav", chime * edge[:, None])
    path = d / "scene.yaml"
    path.write_text(SCENE)
    return path


def level(x: np.ndarray, freq: float) -> float:
    """The median level of ``freq`` over 40 ms windows (robust to a codec hiccup)."""
    track = tone_track(x, freq, WIN, RATE)
    return float(np.median(track)) if track.size else 0.0


@dataclass
class Call:
    agent: rtc.Room
    scape: Soundscape
    caller: Caller
    server: LocalServer
    sent: Recording

    async def heard(self, seconds: float) -> tuple[float, float]:
        """Let ``seconds`` of audio arrive; return the (start, end) of that stretch."""
        t0 = time.monotonic()
        await asyncio.sleep(seconds)
        return t0, time.monotonic()

    def track(self) -> Recording:
        return self.caller.tracks("soundscape")[-1]


@asynccontextmanager
async def call(server: LocalServer, tmp_path: Path, *, tap: bool = False) -> AsyncIterator[Call]:
    """Agent + caller in a fresh room. ``tap``: the scape feeds a source of ours, and
    ``Call.sent`` records what that source handed to WebRTC (the sender's side)."""
    room_name = f"e2e-{uuid.uuid4().hex[:8]}"
    agent, caller = rtc.Room(), Caller(rate=RATE)
    scape = Soundscape(write_scene(tmp_path), seed=1)
    source = make_audio_source(RATE, 1, 1000) if tap else None
    sent = Recording("tap", "agent", RATE)
    tapping = asyncio.ensure_future(record_source(source, sent)) if source is not None else None
    try:
        await caller.join(server.url, server.token("caller", room_name))
        await agent.connect(server.url, server.token("agent", room_name))
        await scape.start(room=agent, audio_source=source)
        await caller.wait_track("soundscape")
        yield Call(agent, scape, caller, server, sent)
    finally:
        await scape.aclose()
        await agent.disconnect()
        await caller.aclose()
        if tapping is not None:
            tapping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await tapping
        if source is not None:
            await source.aclose()


async def test_bed_from_the_start_and_each_cue_follows_its_state(
    livekit_server: LocalServer,
    tmp_path: Path,
) -> None:
    async with call(livekit_server, tmp_path) as c:
        rec = c.track()
        # The first audio the caller ever gets is the bed, alone.
        await c.heard(0.8)
        first = rec.audio()[: int(0.5 * RATE)]
        assert level(first, BED) > 0.6 * BED_LEVEL
        assert level(first, THINK) < 0.1 * CUE_LEVEL and level(first, HOLD) < 0.1 * CUE_LEVEL

        marks: dict[str, float] = {"start": rec.frames[0][0]}
        for name, post in (
            ("thinking", lambda: c.scape.post("agent.thinking")),
            ("speaking", lambda: c.scape.post("agent.speaking")),
            ("on_hold", lambda: c.scape.trigger("hold")),
            ("listening", lambda: c.scape.post("agent.listening")),
        ):
            marks[name] = time.monotonic()
            post()
            await c.heard(1.4)
        marks["end"] = time.monotonic()

    def stretch(state: str, after: str) -> np.ndarray:
        """What arrived while ``state`` was settled: from SETTLE after it until the next event."""
        return rec.between(marks[state] + SETTLE, marks[after])

    thinking, speaking = stretch("thinking", "speaking"), stretch("speaking", "on_hold")
    on_hold, listening = stretch("on_hold", "listening"), stretch("listening", "end")
    before_thinking = rec.between(marks["start"], marks["thinking"])
    before_hold = rec.between(marks["start"], marks["on_hold"])
    # Nothing of a cue reached the caller before its event was posted…
    assert max(tone_track(before_thinking, THINK, WIN, RATE)) < 0.1 * CUE_LEVEL
    assert max(tone_track(before_hold, HOLD, WIN, RATE)) < 0.1 * CUE_LEVEL
    # …it sounds while its state lasts, and is gone once the state has ended.
    assert level(thinking, THINK) > 0.6 * CUE_LEVEL
    assert level(speaking, THINK) < 0.1 * CUE_LEVEL
    assert level(on_hold, HOLD) > 0.6 * CUE_LEVEL
    assert level(listening, HOLD) < 0.1 * CUE_LEVEL
    # The bed plays under all of it.
    for part in (thinking, speaking, on_hold, listening):
        assert level(part, BED) > 0.6 * BED_LEVEL


def chime_runs(x: np.ndarray) -> list[tuple[float, float]]:
    """(start, end) in seconds of each stretch where the chime sounds (10 ms resolution)."""
    on = tone_track(x, CHIME, 480, RATE) > 0.5 * CUE_LEVEL
    edges = np.flatnonzero(np.diff(np.concatenate([[0], on.astype(int), [0]])))
    return [(a * 0.01, b * 0.01) for a, b in zip(edges[::2], edges[1::2], strict=True)]


async def test_a_one_shot_play_arrives_whole(livekit_server: LocalServer, tmp_path: Path) -> None:
    async with call(livekit_server, tmp_path, tap=True) as c:
        await c.heard(0.5)
        t0 = time.monotonic()
        handle = c.scape.play("chime", gain=0.5)
        await asyncio.wait_for(handle, timeout=5)
        await c.heard(0.5)
        sent = c.sent.between(t0, time.monotonic())
        got = c.track().between(t0, time.monotonic())
    # The source sent it as one unbroken tone exactly as long as the clip (10 ms windows)…
    runs = chime_runs(sent)
    assert len(runs) == 1, f"the chime left the source in {len(runs)} pieces"
    assert abs(runs[0][1] - runs[0][0] - CHIME_SECONDS) <= 0.011
    # …and the caller got all of it: from its start to its end, at full level. The caller's
    # jitter buffer may stretch or squeeze time by a few packets as it adapts (and conceal a
    # late one), so its length is checked to ±50 ms and 90 % coverage, not to the sample.
    runs = chime_runs(got)
    assert runs, "the chime never reached the caller"
    start, end = runs[0][0], runs[-1][1]
    assert abs(end - start - CHIME_SECONDS) <= 0.05
    assert sum(b - a for a, b in runs) >= 0.9 * CHIME_SECONDS
    mid = got[int((start + 0.1) * RATE) : int((end - 0.1) * RATE)]
    assert tone_level(mid, CHIME, RATE) > 0.8 * CUE_LEVEL
    # The bed underneath did not stop for it.
    assert level(mid, BED) > 0.6 * BED_LEVEL


@pytest.mark.parametrize(
    "scenario",
    [
        rtc.SimulateScenarioKind.SIMULATE_SIGNAL_RECONNECT,
        rtc.SimulateScenarioKind.SIMULATE_FULL_RECONNECT,
    ],
    ids=["resume", "full-reconnect"],
)
async def test_the_track_survives_the_agents_reconnect(
    livekit_server: LocalServer,
    tmp_path: Path,
    scenario: int,
) -> None:
    async with call(livekit_server, tmp_path) as c:
        reconnected = asyncio.Event()
        c.agent.on("reconnected", lambda: reconnected.set())
        await c.heard(0.5)
        await c.agent.simulate_scenario(scenario)  # type: ignore[arg-type]
        await asyncio.wait_for(reconnected.wait(), timeout=15)
        await c.heard(SETTLE)
        t_after, _ = await c.heard(1.0)
        # Still the bed, on whichever subscription the caller has now (a full reconnect
        # republishes the track under a new SID)…
        rec = await c.caller.wait_track("soundscape")
        assert level(rec.between(t_after, time.monotonic()), BED) > 0.6 * BED_LEVEL
        # …and the scene still follows events.
        t_think = time.monotonic()
        c.scape.post("agent.thinking")
        await c.heard(1.2)
        rec = c.caller.tracks("soundscape")[-1]
        assert level(rec.between(t_think + SETTLE, time.monotonic()), THINK) > 0.6 * CUE_LEVEL
        assert c.agent.connection_state == rtc.ConnectionState.CONN_CONNECTED


async def test_closing_the_scene_unpublishes_the_track(
    livekit_server: LocalServer, tmp_path: Path
) -> None:
    async with call(livekit_server, tmp_path) as c:
        await c.heard(0.5)
        assert [p.name for p in c.agent.local_participant.track_publications.values()] == [
            "soundscape"
        ]
        t_close = time.monotonic()
        await c.scape.aclose()
        await c.caller.wait_for(lambda: any(n == "soundscape" for _, n in c.caller.unpublished))
        assert not c.agent.local_participant.track_publications
        agent_seen = c.caller.room.remote_participants["agent"]
        assert not agent_seen.track_publications
        # It faded out (the bed's 100 ms fade) rather than stopping mid-waveform: the level
        # of the last 40 ms received is well under the bed's.
        tail = c.track().between(t_close, time.monotonic())
        assert tail.size == 0 or tone_level(tail[-WIN:], BED, RATE) < 0.5 * BED_LEVEL
