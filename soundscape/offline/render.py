"""Offline rendering of a scene under a timeline: deterministic audio plus what happened when."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..audio.analysis import integrated_loudness, peak_dbfs
from ..engine import Engine, EngineEvent, compile_scene
from ..scene.model import Scene
from .timeline import Timeline

CHUNK_SECONDS = 1.0


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
            "peak_dbfs": round(peak_dbfs(self.audio), 2),
            "integrated_lufs": round(integrated_loudness(self.audio, self.rate), 2),
            "speed_x_realtime": round(self.duration / self.seconds_taken, 1)
            if self.seconds_taken
            else None,
        }


def render(
    scene: Scene,
    timeline: Timeline,
    *,
    seed: int = 0,
    rate: int = 48000,
    channels: int = 1,
    duration: float | None = None,
) -> Rendered:
    """Render ``scene`` driven by ``timeline``; the same inputs always give the same samples."""
    plan = compile_scene(scene, rate=rate, channels=channels)
    eng = Engine(plan, seed=seed)
    total = round((duration if duration is not None else timeline.duration) * rate)
    out = Rendered(np.zeros((total, channels), np.float32), rate)
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
    chunk = int(CHUNK_SECONDS * rate)
    t0 = time.perf_counter()
    pos = 0
    while pos < total:
        n = min(chunk, total - pos)
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
