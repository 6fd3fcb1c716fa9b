"""The demo's call without a server: the scene rendered under the script's events, with the
agent's lines mixed in where the live call would speak them."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from ..offline.render import VoiceSpan
from ..scene.model import Scene
from .script import (
    ANSWER,
    GOODBYE,
    GREETING,
    HOLD_SECONDS,
    RATE,
    TOOL_SECONDS,
    TRANSFER,
    USER_SAID,
    DemoResult,
    make_tts,
    transfer_mode,
)

log = logging.getLogger("soundscape")


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
    if transfer_mode(scene) == "trigger":
        cues += [Cue(hold_start - 3.4, "trigger.transfer"), Cue(hold_end, "trigger.resume")]
    lines = [(1.0, GREETING), (9.4, ANSWER), (17.0, TRANSFER), (hold_end + 1.0, GOODBYE)]
    cues.sort()
    return Timeline(tuple(cues), hold_end + 7.0, "demo call"), lines


def render_offline(scene: Scene, *, voice: str | None = None) -> DemoResult:
    """The scripted call rendered without a server: the scene under the same script, the agent's
    lines mixed in where the live demo would speak them."""
    from ..offline.render import render

    timeline, lines = offline_timeline(scene)
    tts, voice_name = make_tts(voice, loudness=scene.voice.reference)
    # The agent's lines on the render's clock: the voice the levels are measured against
    # (and, with `voice: auto`, that the bed follows, as it would on the call).
    speech = np.zeros(round(timeline.duration * RATE), np.float32)
    said: list[tuple[float, float]] = []
    for start, text in lines:
        pcm = np.asarray(tts.voice(text), np.float32) / 32768
        x = _resample(pcm, tts.sample_rate, RATE)
        i = int(start * RATE)
        n = max(0, min(len(x), len(speech) - i))
        speech[i : i + n] += x[:n]
        said.append((start, start + len(x) / RATE))
    rendered = render(scene, timeline, seed=0, rate=RATE, voice=speech[:, None])
    audio = rendered.audio[:, 0]
    if transfer_mode(scene) == "play":
        _mix_hold_music(audio, 17.0 + 3.4, 17.0 + 3.4 + HOLD_SECONDS + 0.1)
        rendered.voices.append(VoiceSpan("hold-music", "play", 20.4, 25.5))
    n = min(len(speech), len(audio))
    audio[:n] += speech[:n]
    for start, stop in said:
        rendered.voices.append(VoiceSpan("agent voice", "speech", start, stop))
    np.clip(rendered.audio, -1.0, 1.0, out=rendered.audio)
    result = DemoResult(rendered, "offline", voice_name)
    result.spoken = [t for _, t in lines]
    result.user_said = list(USER_SAID)
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
