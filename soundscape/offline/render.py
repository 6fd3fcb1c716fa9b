"""Offline rendering of a scene under a timeline: deterministic audio plus what happened when."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..audio.analysis import integrated_loudness, peak_dbfs
from ..audio.loudness import VoiceMeter
from ..engine import Engine, EngineEvent, compile_scene
from ..engine.plan import Plan
from ..engine.voice_key import ArrayVoiceKey
from ..scene.model import Scene
from .levels import PlayLevel, scene_levels
from .timeline import Timeline

CHUNK_SECONDS = 1.0
VOICE_BLOCK_SECONDS = 0.02
"""With a voice fed to `voice: auto`, the meter and the engine step in blocks of this (a
live session's frame), so levels follow the voice as they would on a call."""


@dataclass
class VoiceSpan:
    """One voice's life on the clock, for the plot and the summary."""

    name: str
    kind: str
    start: float
    stop: float | None = None


@dataclass
class Rendered:
    audio: np.ndarray
    rate: int
    states: list[tuple[float, str]] = field(default_factory=list)
    voices: list[VoiceSpan] = field(default_factory=list)
    events: list[tuple[float, str]] = field(default_factory=list)
    silent_picks: int = 0
    steals: int = 0
    seconds_taken: float = 0.0
    plan: Plan | None = field(default=None, repr=False)
    levels: list[PlayLevel] = field(default_factory=list)
    """Each layer and cue of the scene with its loudness and distance from the voice."""
    voice_lufs: float | None = None
    """The voice's integrated loudness when one was given (the levels' reference)."""

    @property
    def duration(self) -> float:
        return self.audio.shape[0] / self.rate

    def summary(self) -> dict[str, Any]:
        played = Counter(v.name for v in self.voices if v.kind != "layer")
        return {
            "duration_s": round(self.duration, 3),
            "states": [{"at": round(t, 3), "state": s} for t, s in self.states],
            "cues_played": dict(sorted(played.items())),
            "layers": sorted({v.name for v in self.voices if v.kind == "layer"}),
            "silent_picks": self.silent_picks,
            "voice_steals": self.steals,
            "voice_lufs": None if self.voice_lufs is None else round(self.voice_lufs, 1),
            "levels": [lv.as_dict() for lv in self.levels],
            "peak_dbfs": round(peak_dbfs(self.audio), 2),
            "integrated_lufs": round(integrated_loudness(self.audio, self.rate), 2),
            "speed_x_realtime": round(self.duration / self.seconds_taken, 1)
            if self.seconds_taken
            else None,
        }


def _feed(eng: Engine, meter: VoiceMeter, block: np.ndarray, at: int) -> None:
    """One block of the voice through the meter; a changed estimate glides the bed from it."""
    if block.size and meter.push(block) and meter.loudness is not None:
        eng.set_voice_loudness(meter.loudness, at=at)


def render(
    scene: Scene,
    timeline: Timeline,
    *,
    seed: int = 0,
    rate: int = 48000,
    channels: int = 1,
    duration: float | None = None,
    voice: np.ndarray | None = None,
) -> Rendered:
    """Render ``scene`` driven by ``timeline``; the same inputs always give the same samples.

    ``voice`` is the agent's voice, float (frames, channels) at ``rate`` from sample 0: its
    integrated loudness is the reference of the reported levels, and when the scene says
    `voice: auto` it is metered block by block on the sample clock and the engine told of
    every change, so voice-relative levels move as they would live. It is also the engine's
    `voice_key`, so ducks keyed by the voice signal (`duck: {by: voice}`) move exactly as
    they would live with the voice at the same samples. It is not mixed in.
    """
    plan = compile_scene(scene, rate=rate, channels=channels)
    eng = Engine(plan, seed=seed)
    total = round((duration if duration is not None else timeline.duration) * rate)
    out = Rendered(np.zeros((total, channels), np.float32), rate)
    meter = None
    if voice is not None:
        voice = np.asarray(voice, np.float32).reshape(len(voice), -1)
        lufs = integrated_loudness(voice, rate)
        out.voice_lufs = lufs if np.isfinite(lufs) else None
        if plan.voice_auto:
            meter = VoiceMeter(rate, voice.shape[1])
        eng.voice_key = ArrayVoiceKey(voice)
    out.levels = scene_levels(plan, voice=out.voice_lufs)
    out.plan = plan
    open_voices: dict[int, VoiceSpan] = {}
    out.states.append((0.0, eng.state))

    def record(ev: EngineEvent) -> None:
        t = ev.at / rate
        if ev.kind == "state":
            out.states.append((t, ev.name))
        elif ev.kind == "voice.start":
            kind = str(ev.data.get("kind", "cue"))
            # Layers are known by their layer name; cues by their sound (or file for inline ones).
            label = str(ev.data.get("owner", ev.name)) if kind == "layer" else ev.name
            if label.startswith("source:"):
                label = label.rsplit("/", 1)[-1].removeprefix("source:")
            span = VoiceSpan(label, kind, t)
            open_voices[int(ev.data["handle"])] = span
            out.voices.append(span)
        elif ev.kind == "voice.stop":
            span_ = open_voices.pop(int(ev.data["handle"]), None)
            if span_ is not None:
                span_.stop = t
        elif ev.kind == "voice.silent":
            out.silent_picks += 1
        elif ev.kind == "voice.steal":
            out.steals += 1
        elif ev.kind in ("event", "trigger"):
            out.events.append((t, ev.name if ev.kind == "event" else f"trigger.{ev.name}"))

    eng.on_event = record
    for cue in timeline.events:
        eng.post(cue.event, dict(cue.fields), at=round(cue.at * rate))
    chunk = int((CHUNK_SECONDS if meter is None else VOICE_BLOCK_SECONDS) * rate)
    t0 = time.perf_counter()
    pos = 0
    while pos < total:
        n = min(chunk, total - pos)
        if meter is not None and voice is not None:
            _feed(eng, meter, voice[pos : pos + n], pos)
        out.audio[pos : pos + n] = eng.render(n)
        pos += n
    out.seconds_taken = time.perf_counter() - t0
    # The initial state's entry is reported at sample 0 too; keep one entry per change.
    dedup: list[tuple[float, str]] = []
    for t, s in out.states:
        if not dedup or dedup[-1][1] != s:
            dedup.append((t, s))
    out.states = dedup
    return out
