"""`soundscape demo` live: the scripted call through a real LiveKit server, recorded as the caller.

A real `AgentSession` (scripted LLM, espeak-ng or synthetic voice) talks in a room; a
`Soundscape` follows it on its own track; a `Caller` records both tracks as they arrive. The
result is what a caller heard, plus when each state change became audible at the caller.
Without a server, `demo.offline.render_offline` plays the same script through the offline renderer.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from typing import TYPE_CHECKING, Any

import numpy as np

from ..engine.plan import compile_scene
from ..offline.levels import scene_levels
from ..offline.render import Rendered, VoiceSpan
from ..scene.model import Scene
from .caller import Caller, Recording, mix_on_timeline, record_source
from .script import (
    ASK_PERSON,
    GOODBYE,
    GREETING,
    HOLD_SECONDS,
    INTRO_SECONDS,
    QUESTION,
    RATE,
    TOOL_SECONDS,
    USER_SAID,
    DemoResult,
    Latency,
    llm_replies,
    make_tts,
    prepare_voice,
    transfer_mode,
)

if TYPE_CHECKING:
    from ..runtime import StateChangedEvent, VoiceEndedEvent, VoiceStartedEvent

MAX_NETWORK_DELAY = 2.0


async def run_live(
    scene: Scene, url: str, api_key: str, api_secret: str, *, voice: str | None = None
) -> DemoResult:
    """Play the scripted call on the server at ``url`` and record it as the caller."""
    call = await _LiveCall.prepare(scene, voice)
    try:
        await call.connect(url, api_key, api_secret)
        await call.play_script()
    finally:
        await call.hang_up()
    return call.result(url)


class _LiveCall:
    """One run of the script: the agent's room, session and soundscape, and the caller."""

    @classmethod
    async def prepare(cls, scene: Scene, voice: str | None) -> _LiveCall:
        tts, voice_name = make_tts(voice, loudness=scene.voice.reference)
        await prepare_voice(tts)
        return cls(scene, tts, voice_name)

    def __init__(self, scene: Scene, tts: Any, voice_name: str) -> None:
        from livekit import rtc
        from livekit.agents import AgentSession

        from ..runtime import prewarm
        from ..runtime.sink import make_audio_source
        from ..testing import ScriptedLLM, ScriptedSTT

        self.scene = scene
        self.tts, self.voice_name = tts, voice_name
        self.room_name = f"soundscape-demo-{uuid.uuid4().hex[:8]}"
        self.track = _Tracking()
        prewarm(None, scene, rate=RATE)  # what a worker's setup_fnc does before the call
        self.scape = _tracked_soundscape(scene, self.track)
        self.hold: Any = None  # the hold music's handle, when the scene has no transfer trigger
        llm = ScriptedLLM(llm_replies())
        self.session: AgentSession = AgentSession(llm=llm, tts=tts, stt=ScriptedSTT())
        self.agent_room, self.caller = rtc.Room(), Caller(rate=RATE)
        self.source = make_audio_source(RATE, 1, 1000)
        self.sent = Recording("soundscape", "agent", RATE)
        self.tap: asyncio.Task[None] | None = None
        self.t0 = self.t_end = time.monotonic()
        self.speaking_since: list[float] = []
        self.listening = asyncio.Event()
        self.session.on("agent_state_changed", self._agent_state)
        self.session.on("function_tools_executed", self._tools)

    # ------------------------------------------------------------ the agent's side

    def _agent_state(self, ev: Any) -> None:
        now = time.monotonic()
        self.track.events.append((now, f"agent.{ev.new_state}"))
        if ev.new_state == "speaking":
            self.speaking_since.append(now)
        elif self.speaking_since and ev.old_state == "speaking":
            span = VoiceSpan("agent voice", "speech", self.speaking_since[-1], now)
            self.track.agent_speaking.append(span)
        if ev.new_state == "listening":
            self.listening.set()
        else:
            self.listening.clear()

    def _tools(self, ev: Any) -> None:
        for call in getattr(ev, "function_calls", []):
            self.track.events.append((time.monotonic(), f"tool done: {call.name}"))

    def start_hold(self) -> None:
        if transfer_mode(self.scene) == "trigger":
            self.scape.trigger("transfer")
        else:
            self.hold = self.scape.play(
                "builtin:hold-music", loop=True, gain=0.35, fade_in=1.0, fade_out=1.5
            )

    def end_hold(self) -> None:
        if transfer_mode(self.scene) == "trigger":
            self.scape.trigger("resume")
        elif self.hold is not None:
            self.hold.stop()

    # ------------------------------------------------------------------ the call

    async def connect(self, url: str, api_key: str, api_secret: str) -> None:
        """Both sides join, the session and the soundscape start; returns once the caller
        receives the soundscape's track."""
        from livekit.agents.voice import room_io

        from .livekit_local import make_token

        await self.caller.join(url, make_token(api_key, api_secret, "caller", self.room_name))
        await self.agent_room.connect(url, make_token(api_key, api_secret, "agent", self.room_name))
        self.tap = asyncio.ensure_future(record_source(self.source, self.sent))
        self.t0 = time.monotonic()
        await self.session.start(
            _support_agent(self),
            room=self.agent_room,
            room_options=room_io.RoomOptions(
                audio_input=False, text_input=False, close_on_disconnect=False
            ),
            record=False,
        )
        await self.scape.start(
            room=self.agent_room, agent_session=self.session, audio_source=self.source
        )
        await self.caller.wait_track("soundscape")

    async def play_script(self) -> None:
        """The call, turn by turn; then the soundscape closes, its fade-out still recorded."""
        await asyncio.sleep(INTRO_SECONDS)
        await self.turn(say=GREETING)
        await asyncio.sleep(0.8)
        await self.turn(user_text=QUESTION, label="where is my order?")
        await asyncio.sleep(0.8)
        await self.turn(user_text=ASK_PERSON, label="a person, please")
        await asyncio.sleep(HOLD_SECONDS)
        self.track.events.append((time.monotonic(), "resume"))
        self.end_hold()
        await asyncio.sleep(1.0)
        await self.turn(say=GOODBYE)
        await asyncio.sleep(1.0)
        await self.scape.aclose()
        for span in self.track.spans:  # still sounding when the scene faded out and closed
            if span.stop is None:
                span.stop = time.monotonic()
        await asyncio.sleep(0.5)

    async def turn(
        self, user_text: str | None = None, say: str | None = None, label: str = ""
    ) -> None:
        """One exchange; returns when the agent has finished speaking and is listening again."""
        self.listening.clear()
        if say is not None:
            await self.session.say(say)
        else:
            self.track.events.append((time.monotonic(), f"user: {label}"))
            self.session.generate_reply(user_input=user_text or "")
        # A tool call makes the agent speak in a second reply; wait until it has settled.
        while True:
            await asyncio.wait_for(self.listening.wait(), timeout=30)
            await asyncio.sleep(0.6)
            if self.listening.is_set():
                return

    async def hang_up(self) -> None:
        """Everything closes, whatever failed before; what was recorded stays."""
        with contextlib.suppress(Exception):
            await self.scape.aclose()
        with contextlib.suppress(Exception):
            await self.session.aclose()
        self.t_end = time.monotonic()
        await self.agent_room.disconnect()
        await self.caller.aclose()
        if self.tap is not None:
            self.tap.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.tap
        with contextlib.suppress(Exception):
            await self.source.aclose()

    # ---------------------------------------------------------------- the result

    def result(self, server: str) -> DemoResult:
        """What the caller heard, with the agent side's times moved to when they were heard."""
        track, t0 = self.track, self.t0
        delays = [
            d for rec in self.caller.tracks("soundscape") for d in network_delays(self.sent, rec)
        ]
        network = float(np.median([d for _, d in delays])) if delays else None
        shift = network or 0.0  # agent-side times → when the caller heard them
        audio = mix_on_timeline(self.caller.recordings, t0, self.t_end - t0, RATE)
        np.clip(audio, -1.0, 1.0, out=audio)
        out = Rendered(audio[:, None], RATE)
        out.states = [(0.0, self.scene.initial_state)]
        for t, s, _ in track.states:
            if s != out.states[-1][1]:
                out.states.append((max(t + shift - t0, 0.0), s))
        out.voices = [_moved(v, shift, t0) for v in track.spans]
        out.voices += [_moved(v, 0.0, t0) for v in track.agent_speaking]  # heard as it was said
        out.events = [(t - t0, name) for t, name in track.events]
        # The scene's levels as the plan sets them (its clips are cached by now: no decode).
        out.levels = scene_levels(compile_scene(self.scene, rate=RATE))
        result = DemoResult(out, "live", self.voice_name, server=server, network=network)
        result.spoken = list(self.tts.spoken)
        result.user_said = list(USER_SAID)
        result.latencies = _latencies(track, t0, delays)
        return result


def _moved(v: VoiceSpan, shift: float, t0: float) -> VoiceSpan:
    """``v`` on the recording's timeline (from ``t0``), ``shift`` seconds later."""
    stop = None if v.stop is None else v.stop + shift - t0
    return VoiceSpan(v.name, v.kind, v.start + shift - t0, stop)


def _support_agent(call: _LiveCall) -> Any:
    """The agent of the script: two tools, the order lookup and the transfer."""
    from livekit.agents import Agent, function_tool

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
            call.start_hold()
            return "The caller is on hold."

    return SupportAgent()


# ------------------------------------------------------------------- tracking


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


def _latencies(track: _Tracking, t0: float, delays: list[tuple[float, float]]) -> list[Latency]:
    out = []
    for t, state, event in track.states:
        causes = [tp for tp, name in track.posted if name == event and tp <= t]
        if not causes:
            continue
        net = _delay_at(delays, t)
        out.append(Latency(state, event, t - t0 + (net or 0.0), t - causes[-1], net))
    return out
