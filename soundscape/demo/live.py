"""`soundscape demo`: a scripted support call through a real LiveKit server, recorded as the caller.

A real `AgentSession` (scripted LLM, espeak-ng or synthetic voice) talks in a room; a
`Soundscape` follows it on its own track; a `Caller` records both tracks as they arrive. The
result is what a caller heard, plus when each state change became audible at the caller.
Without a server, `render_offline` plays the same script through the offline renderer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..offline.render import Rendered, VoiceSpan
from ..scene.model import Scene
from .caller import Caller, Recording, mix_on_timeline, record_source

if TYPE_CHECKING:
    from ..runtime import StateChangedEvent, VoiceEndedEvent, VoiceStartedEvent

log = logging.getLogger("soundscape")

RATE = 48000

GREETING = "Hello, thanks for calling Acme support. How can I help you today?"
QUESTION = "Where is my order? It should have arrived yesterday."
ANSWER = "I found it. Your order left our warehouse this morning and arrives tomorrow before noon."
ASK_PERSON = "Can I talk to a person about the delivery address?"
TRANSFER = "Of course. Please hold while I transfer you."
GOODBYE = "Thanks for holding. Your address is updated. Goodbye!"
SPOKEN = (GREETING, ANSWER, TRANSFER, GOODBYE)
TOOL_SECONDS = 2.0  # how long the order lookup "takes"
HOLD_SECONDS = 5.0
INTRO_SECONDS = 1.5  # the scene alone before the agent greets: the bed from the start
MAX_NETWORK_DELAY = 2.0


@dataclass
class Latency:
    """One state change: when its cause was posted, and when the caller could hear it."""

    state: str
    event: str | None
    at: float  # seconds on the recording's timeline, when audible at the caller
    engine: float  # event → audible at the soundscape track's source
    network: float | None  # source → caller (SFU, Opus, jitter buffer)

    @property
    def total(self) -> float | None:
        return None if self.network is None else self.engine + self.network


@dataclass
class DemoResult:
    """What the caller heard (``rendered.audio``), what happened when, and how quickly."""

    rendered: Rendered
    mode: str  # "live" or "offline"
    voice: str  # "espeak-ng" or "synthetic"
    server: str = ""
    latencies: list[Latency] = field(default_factory=list)
    network: float | None = None
    spoken: list[str] = field(default_factory=list)
    user_said: list[str] = field(default_factory=list)


def make_tts(voice: str | None = None) -> tuple[Any, str]:
    """The agent's voice: espeak-ng when installed (or asked for), else the synthetic tone."""
    from ..testing import ScriptedTTS
    from .espeak import EspeakTTS, espeak_binary

    if voice != "synthetic" and espeak_binary() is not None:
        return EspeakTTS(), "espeak-ng"
    return ScriptedTTS(level=0.3), "synthetic"


async def _prepare_voice(tts: Any) -> None:
    """Synthesize the script ahead (espeak-ng runs as a process; not on the event loop)."""
    if hasattr(tts, "prepare"):
        await asyncio.to_thread(tts.prepare, SPOKEN)


def _transfer_mode(scene: Scene) -> str:
    return "trigger" if {"transfer", "resume"} <= set(scene.triggers) else "play"


# ---------------------------------------------------------------------- live


class _Tracking:
    """Records, on the monotonic clock, what the agent side did and when."""

    def __init__(self) -> None:
        self.posted: list[tuple[float, str]] = []
        self.states: list[tuple[float, str, str | None]] = []
        self.voices: dict[int, VoiceSpan] = {}
        self.spans: list[VoiceSpan] = []
        self.events: list[tuple[float, str]] = []
        self.agent_speaking: list[VoiceSpan] = []


def _tracked_soundscape(scene: Scene, track: _Tracking) -> Any:
    from ..runtime import Soundscape

    class Tracked(Soundscape):
        def post(self, event: str, **fields: Any) -> None:
            track.posted.append((time.monotonic(), event))
            super().post(event, **fields)

    scape = Tracked(scene, rate=RATE)

    @scape.on("state_changed")
    def _state(ev: StateChangedEvent) -> None:
        track.states.append((time.monotonic(), ev.new_state, ev.event))

    @scape.on("voice_started")
    def _vstart(ev: VoiceStartedEvent) -> None:
        label = (ev.owner or ev.name) if ev.kind == "layer" else ev.name
        if label.startswith("source:"):
            label = label.rsplit("/", 1)[-1].removeprefix("source:")
        span = VoiceSpan(label, ev.kind or "cue", time.monotonic())
        track.voices[ev.handle] = span
        track.spans.append(span)

    @scape.on("voice_ended")
    def _vstop(ev: VoiceEndedEvent) -> None:
        span = track.voices.pop(ev.handle, None)
        if span is not None:
            span.stop = time.monotonic()

    return scape


def network_delays(
    sent: Recording, heard: Recording, every: float = 1.0
) -> list[tuple[float, float]]:
    """Source → caller delay over time: ``(time at the caller, delay)`` pairs.

    Each 0.5 s of what the caller heard is found in what the source played just before
    (correlation over delays of 0-2 s), and the arrival times of the same samples are
    compared. Short probes, because the receiver's jitter buffer stretches and squeezes time
    as it adapts, so no one offset holds for a whole call. Probes in silence or without a
    clear match are skipped.
    """
    out: list[tuple[float, float]] = []
    s, s_t = sent.audio(), sent.sample_times()
    h, h_t = heard.audio(), heard.sample_times()
    n, hop, span = RATE // 2, int(every * RATE), int(MAX_NETWORK_DELAY * RATE)
    for j in range(0, len(h) - n, hop):
        probe = h[j : j + n] - h[j : j + n].mean()
        p_energy = float(np.dot(probe, probe))
        if p_energy < n * 1e-9:
            continue  # silence matches anywhere
        hi = int(np.searchsorted(s_t, h_t[j]))  # the source sample going out as this arrived
        lo = max(hi - span, 0)
        if hi <= lo or hi + n > len(s):
            continue
        seg = s[lo : hi + n]
        size = 1 << int(np.ceil(np.log2(len(seg) + n)))
        full = np.fft.irfft(np.fft.rfft(seg, size) * np.conj(np.fft.rfft(probe, size)), size)
        corr = full[: len(seg) - n + 1]  # = np.correlate(seg, probe, "valid")
        k = int(np.argmax(corr))
        s_energy = float(np.dot(seg[k : k + n], seg[k : k + n]))
        if corr[k] < 0.6 * np.sqrt(p_energy * s_energy):
            continue
        out.append((float(h_t[j]), float(h_t[j] - s_t[lo + k])))
    return out


def _delay_at(delays: list[tuple[float, float]], t: float) -> float | None:
    """The median delay measured within 3 s of ``t`` (a stray match cannot skew it)."""
    near = [d for at, d in delays if abs(at - t) <= 3.0]
    if not near:
        near = [min(delays, key=lambda d: abs(d[0] - t))[1]] if delays else []
    return float(np.median(near)) if near else None


async def run_live(
    scene: Scene, url: str, api_key: str, api_secret: str, *, voice: str | None = None
) -> DemoResult:
    """Play the scripted call on the server at ``url`` and record it as the caller."""
    from livekit import rtc
    from livekit.agents import Agent, function_tool
    from livekit.agents.voice import room_io

    from ..runtime.sink import make_audio_source
    from ..testing import Reply, ScriptedLLM, ScriptedSTT, ToolCall
    from .livekit_local import make_token

    tts, voice_name = make_tts(voice)
    await _prepare_voice(tts)
    room_name = f"soundscape-demo-{uuid.uuid4().hex[:8]}"
    track = _Tracking()
    from ..runtime import prewarm

    prewarm(None, scene, rate=RATE)  # what a worker's setup_fnc does before the call
    scape = _tracked_soundscape(scene, track)
    hold: dict[str, Any] = {}

    async def start_hold() -> None:
        if _transfer_mode(scene) == "trigger":
            scape.trigger("transfer")
        else:
            hold["handle"] = scape.play(
                "builtin:hold-music", loop=True, gain=0.35, fade_in=1.0, fade_out=1.5
            )

    def end_hold() -> None:
        if _transfer_mode(scene) == "trigger":
            scape.trigger("resume")
        elif "handle" in hold:
            hold["handle"].stop()

    class SupportAgent(Agent):
        def __init__(self) -> None:
            super().__init__(instructions="You are Acme's support agent.")

        @function_tool
        async def lookup_order(self, order: str) -> str:
            """Look up an order's delivery status."""
            await asyncio.sleep(TOOL_SECONDS)
            return f"Order {order} ships tomorrow before noon."

        @function_tool
        async def transfer_call(self) -> str:
            """Transfer the caller to a person; they hear hold music meanwhile."""
            await start_hold()
            return "The caller is on hold."

    llm = ScriptedLLM(
        [
            Reply(tools=(ToolCall("lookup_order", {"order": "A-1042"}),), delay=0.8),
            Reply(text=ANSWER, delay=0.4),
            Reply(tools=(ToolCall("transfer_call"),), delay=0.6),
            Reply(text=TRANSFER, delay=0.3),
        ]
    )
    from livekit.agents import AgentSession

    session: AgentSession = AgentSession(llm=llm, tts=tts, stt=ScriptedSTT())
    agent_room, caller = rtc.Room(), Caller(rate=RATE)
    source = make_audio_source(RATE, 1, 1000)
    sent = Recording("soundscape", "agent", RATE)
    tap_task: asyncio.Task[None] | None = None
    t0 = time.monotonic()

    speaking_since: list[float] = []
    listening = asyncio.Event()

    @session.on("agent_state_changed")
    def _agent_state(ev: Any) -> None:
        now = time.monotonic()
        track.events.append((now, f"agent.{ev.new_state}"))
        if ev.new_state == "speaking":
            speaking_since.append(now)
        elif speaking_since and ev.old_state == "speaking":
            track.agent_speaking.append(VoiceSpan("agent voice", "speech", speaking_since[-1], now))
        if ev.new_state == "listening":
            listening.set()
        else:
            listening.clear()

    @session.on("function_tools_executed")
    def _tools(ev: Any) -> None:
        for call in getattr(ev, "function_calls", []):
            track.events.append((time.monotonic(), f"tool done: {call.name}"))

    async def turn(user_text: str | None = None, say: str | None = None, label: str = "") -> None:
        """One exchange; returns when the agent has finished speaking and is listening again."""
        listening.clear()
        if say is not None:
            await session.say(say)
        else:
            track.events.append((time.monotonic(), f"user: {label}"))
            session.generate_reply(user_input=user_text or "")
        # A tool call makes the agent speak in a second reply; wait until it has settled.
        while True:
            await asyncio.wait_for(listening.wait(), timeout=30)
            await asyncio.sleep(0.6)
            if listening.is_set():
                return

    try:
        await caller.join(url, make_token(api_key, api_secret, "caller", room_name))
        await agent_room.connect(url, make_token(api_key, api_secret, "agent", room_name))
        tap_task = asyncio.ensure_future(record_source(source, sent))
        t0 = time.monotonic()
        await session.start(
            SupportAgent(),
            room=agent_room,
            room_options=room_io.RoomOptions(
                audio_input=False, text_input=False, close_on_disconnect=False
            ),
            record=False,
        )
        await scape.start(room=agent_room, agent_session=session, audio_source=source)
        await caller.wait_track("soundscape")
        await asyncio.sleep(INTRO_SECONDS)
        await turn(say=GREETING)
        await asyncio.sleep(0.8)
        await turn(user_text=QUESTION, label="where is my order?")
        await asyncio.sleep(0.8)
        await turn(user_text=ASK_PERSON, label="a person, please")
        await asyncio.sleep(HOLD_SECONDS)
        track.events.append((time.monotonic(), "resume"))
        end_hold()
        await asyncio.sleep(1.0)
        await turn(say=GOODBYE)
        await asyncio.sleep(1.0)
        await scape.aclose()
        for span in track.spans:  # still sounding when the scene faded out and closed
            if span.stop is None:
                span.stop = time.monotonic()
        await asyncio.sleep(0.5)
    finally:
        with contextlib.suppress(Exception):
            await scape.aclose()
        with contextlib.suppress(Exception):
            await session.aclose()
        t_end = time.monotonic()
        await agent_room.disconnect()
        await caller.aclose()
        if tap_task is not None:
            tap_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await tap_task
        with contextlib.suppress(Exception):
            await source.aclose()

    delays = [d for rec in caller.tracks("soundscape") for d in network_delays(sent, rec)]
    network = float(np.median([d for _, d in delays])) if delays else None
    shift = network or 0.0  # agent-side times → when the caller heard them
    audio = mix_on_timeline(caller.recordings, t0, t_end - t0, RATE)
    np.clip(audio, -1.0, 1.0, out=audio)
    out = Rendered(audio[:, None], RATE)
    out.states = [(0.0, scene.initial_state)]
    for t, s, _ in track.states:
        if s != out.states[-1][1]:
            out.states.append((max(t + shift - t0, 0.0), s))
    out.voices = [
        VoiceSpan(
            v.name, v.kind, v.start + shift - t0, None if v.stop is None else v.stop + shift - t0
        )
        for v in track.spans
    ]
    out.voices += [
        VoiceSpan(v.name, v.kind, v.start - t0, None if v.stop is None else v.stop - t0)
        for v in track.agent_speaking
    ]
    out.events = [(t - t0, name) for t, name in track.events]
    result = DemoResult(out, "live", voice_name, server=url, network=network)
    result.spoken = list(tts.spoken)
    result.user_said = [QUESTION, ASK_PERSON]
    result.latencies = _latencies(track, t0, delays)
    return result


def _latencies(track: _Tracking, t0: float, delays: list[tuple[float, float]]) -> list[Latency]:
    out = []
    for t, state, event in track.states:
        causes = [tp for tp, name in track.posted if name == event and tp <= t]
        if not causes:
            continue
        net = _delay_at(delays, t)
        out.append(Latency(state, event, t - t0 + (net or 0.0), t - causes[-1], net))
    return out


# ---------------------------------------------------------------------- offline


def offline_timeline(scene: Scene) -> tuple[Any, list[tuple[float, str]]]:
    """The same call as scripted events on a clock, and (start, text) of each agent line."""
    from ..offline.timeline import Cue, Timeline

    hold_start, hold_end = 20.5, 20.5 + HOLD_SECONDS
    cues = [
        Cue(0.0, "agent.listening"),
        Cue(1.0, "agent.speaking"),
        Cue(5.0, "agent.listening"),
        Cue(6.0, "agent.thinking"),
        Cue(6.8, "tool.started", {"tool": "lookup_order", "call_id": "call_1"}),
        Cue(
            6.8 + TOOL_SECONDS,
            "tool.ended",
            {"tool": "lookup_order", "call_id": "call_1", "status": "done"},
        ),
        Cue(9.4, "agent.speaking"),
        Cue(15.0, "agent.listening"),
        Cue(16.0, "agent.thinking"),
        Cue(16.6, "tool.started", {"tool": "transfer_call", "call_id": "call_2"}),
        Cue(16.7, "tool.ended", {"tool": "transfer_call", "call_id": "call_2", "status": "done"}),
        Cue(17.0, "agent.speaking"),
        Cue(20.0, "agent.listening"),
        Cue(hold_end + 1.0, "agent.speaking"),
        Cue(hold_end + 5.0, "agent.listening"),
    ]
    if _transfer_mode(scene) == "trigger":
        cues += [Cue(hold_start - 3.4, "trigger.transfer"), Cue(hold_end, "trigger.resume")]
    lines = [(1.0, GREETING), (9.4, ANSWER), (17.0, TRANSFER), (hold_end + 1.0, GOODBYE)]
    cues.sort()
    return Timeline(tuple(cues), hold_end + 7.0, "demo call"), lines


def render_offline(scene: Scene, *, voice: str | None = None) -> DemoResult:
    """The scripted call rendered without a server: the scene under the same script, the agent's
    lines mixed in where the live demo would speak them."""
    from ..offline.render import render

    timeline, lines = offline_timeline(scene)
    rendered = render(scene, timeline, seed=0, rate=RATE)
    tts, voice_name = make_tts(voice)
    audio = rendered.audio[:, 0]
    if _transfer_mode(scene) == "play":
        _mix_hold_music(audio, 17.0 + 3.4, 17.0 + 3.4 + HOLD_SECONDS + 0.1)
        rendered.voices.append(VoiceSpan("hold-music", "play", 20.4, 25.5))
    for start, text in lines:
        pcm = np.asarray(tts.voice(text), np.float32) / 32768
        x = _resample(pcm, tts.sample_rate, RATE)
        i = int(start * RATE)
        n = max(0, min(len(x), len(audio) - i))
        audio[i : i + n] += x[:n]
        rendered.voices.append(VoiceSpan("agent voice", "speech", start, start + len(x) / RATE))
    np.clip(rendered.audio, -1.0, 1.0, out=rendered.audio)
    result = DemoResult(rendered, "offline", voice_name)
    result.spoken = [t for _, t in lines]
    result.user_said = [QUESTION, ASK_PERSON]
    return result


def _mix_hold_music(audio: np.ndarray, start: float, stop: float) -> None:
    from ..audio import load_clip
    from ..scene.sources import resolve

    try:
        clip = load_clip(resolve("builtin:hold-music", Path.cwd()), RATE, 1)
    except Exception as e:  # the clip ships with livekit-agents; without it, no music
        log.warning("soundscape demo: no hold music offline: %s", e)
        return
    i, j = int(start * RATE), min(int(stop * RATE), len(audio))
    n = min(j - i, clip.samples.shape[0])
    ramp = np.minimum(1.0, np.minimum(np.arange(n), np.arange(n)[::-1]) / RATE)
    audio[i : i + n] += 0.35 * clip.samples[:n, 0] * ramp


def _resample(x: np.ndarray, src: int, dst: int) -> np.ndarray:
    if src == dst or x.size == 0:
        return x
    t = np.arange(int(len(x) * dst / src)) * src / dst
    return np.interp(t, np.arange(len(x)), x).astype(np.float32)
