"""The scene a preview plays: engine, per-layer meters, reload from its file.

Meters: each layer is also rendered alone by a *stem* engine built from the same
plan (same audio buffers, nothing decoded twice) with every cue, timed play,
transition play and scatter removed. Stems receive the same events, so their
states and per-state layer levels follow the main engine exactly; a meter is the
RMS of its stem over each block, in dBFS, after master gain.

Nothing here reads the wall clock: the server decides when to render.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ...engine import Engine, EngineEvent, compile_scene
from ...engine.plan import Plan
from ...errors import AssetError, SceneError
from ...scene import Scene, load
from ...scene.events import EVENTS
from ..graph import SceneGraph, scene_graph
from .diagram import diagram_svg

log = logging.getLogger("soundscape")

FLOOR_DB = -90.0
CROSSFADE_SECONDS = 0.08
"""A reload swaps engines under this crossfade, so saving the file never clicks."""


@dataclass(frozen=True)
class Loaded:
    scene: Scene
    plan: Plan
    graph: SceneGraph


def stem_plan(plan: Plan, layer: str) -> Plan:
    """The plan with only ``layer`` sounding; states, timers and transitions still move."""
    states = {
        name: dataclasses.replace(
            sp, cues=(), timers=tuple(dataclasses.replace(t, play=None) for t in sp.timers)
        )
        for name, sp in plan.states.items()
    }
    return dataclasses.replace(
        plan,
        layers=tuple(lp for lp in plan.layers if lp.name == layer),
        states=states,
        transitions=tuple(dataclasses.replace(t, play=None) for t in plan.transitions),
        scatter=(),
    )


def _db(x: np.ndarray) -> float:
    if x.size == 0:
        return FLOOR_DB
    r = float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))
    return max(FLOOR_DB, 20 * np.log10(r)) if r > 0 else FLOOR_DB


class LiveScene:
    """One scene file, playing; thread-safe (the server renders, posts and reloads)."""

    def __init__(self, path: Path, *, rate: int = 48000, channels: int = 2, seed: int = 0) -> None:
        self.path = Path(path)
        self.rate = rate
        self.channels = channels
        self.seed = seed
        self.version = 0
        self.diagnostics: list[str] = []
        self.loaded: Loaded | None = None
        self.meters: dict[str, float] = {}
        self.master_db = FLOOR_DB
        self.log: deque[str] = deque(maxlen=30)
        self._lock = threading.RLock()
        self._engine: Engine | None = None
        self._stems: dict[str, Engine] = {}
        self._old: Engine | None = None
        self._fade_left = 0
        self.reload()

    # ------------------------------------------------------------------ loading

    def reload(self) -> bool:
        """Load the file again; on any problem keep playing what was loaded and say why."""
        try:
            scene = load(self.path)
            plan = compile_scene(scene, rate=self.rate, channels=self.channels)
        except SceneError as e:
            return self._failed([str(d) for d in e.diagnostics if d.severity == "error"])
        except AssetError as e:
            return self._failed([f"{self.path}: cannot load audio: {e}"])
        except OSError as e:
            return self._failed([f"{self.path}: cannot read: {e.strerror or e}"])
        engine = Engine(plan, seed=self.seed)
        engine.on_event = self._record
        stems = {lp.name: Engine(stem_plan(plan, lp.name), seed=self.seed) for lp in plan.layers}
        with self._lock:
            if self._engine is not None:
                self._old = self._engine
                self._fade_left = round(CROSSFADE_SECONDS * self.rate)
            self._engine, self._stems = engine, stems
            self.loaded = Loaded(scene, plan, scene_graph(scene))
            self.diagnostics = []
            self.meters = {name: FLOOR_DB for name in stems}
            self.version += 1
            self.log.append(f"loaded {self.path.name} (version {self.version})")
        log.info("preview: loaded %s", self.path)
        return True

    def files(self) -> list[Path]:
        """What to watch: the scene file and what its loaded version extends or includes."""
        with self._lock:
            loaded = self.loaded
        return loaded.scene.files if loaded is not None else [self.path]

    def _failed(self, diagnostics: list[str]) -> bool:
        with self._lock:
            self.diagnostics = diagnostics or [f"{self.path}: cannot load"]
            self.version += 1
            kept = "kept the previous version" if self.loaded else "nothing to play yet"
            self.log.append(f"{self.path.name} has errors; {kept}")
        return False

    # ------------------------------------------------------------------ playing

    def post(self, event: str, fields: Mapping[str, Any] | None = None) -> None:
        """Apply an event now (to the scene and its meter stems)."""
        with self._lock:
            if self._engine is None:
                return
            self._engine.post(event, fields)
            for stem in self._stems.values():
                stem.post(event, fields)

    def render(self, frames: int) -> np.ndarray:
        """The next ``frames`` frames (silence while nothing valid is loaded)."""
        with self._lock:
            if self._engine is None:
                return np.zeros((frames, self.channels), np.float32)
            out = self._engine.render(frames)
            if self._old is not None:
                out = self._crossfade(out)
            for name, stem in self._stems.items():
                self.meters[name] = _db(stem.render(frames))
            self.master_db = _db(out)
            return out

    def _crossfade(self, new: np.ndarray) -> np.ndarray:
        assert self._old is not None
        n = new.shape[0]
        total = round(CROSSFADE_SECONDS * self.rate)
        done = total - self._fade_left
        ramp = np.clip((np.arange(n) + done + 1) / total, 0.0, 1.0).astype(np.float32)[:, None]
        mixed = self._old.render(n) * (1.0 - ramp) + new * ramp
        self._fade_left -= n
        if self._fade_left <= 0:
            self._old = None
        return mixed.astype(np.float32)

    def _record(self, ev: EngineEvent) -> None:
        t = ev.at / self.rate
        if ev.kind == "state":
            self.log.append(
                f"{t:7.2f}s  → {ev.name}"
                + (f" ({ev.data['event']})" if ev.data.get("event") else "")
            )
        elif ev.kind == "event":
            known = "" if ev.data.get("known") else " (not an event of this scene)"
            self.log.append(f"{t:7.2f}s  {ev.name}{known}")
        elif ev.kind == "voice.start" and ev.data.get("kind") != "layer":
            self.log.append(f"{t:7.2f}s  ▶ {ev.name.removeprefix('source:')}")

    # ------------------------------------------------------------------ what the page shows

    def status(self) -> dict[str, Any]:
        """What changes all the time: state, meters, log, diagnostics, scene version."""
        with self._lock:
            return {
                "version": self.version,
                "state": self._engine.state if self._engine else None,
                "meters": {k: round(v, 1) for k, v in self.meters.items()},
                "master": round(self.master_db, 1),
                "diagnostics": list(self.diagnostics),
                "log": list(self.log),
            }

    def ui(self) -> dict[str, Any]:
        """What changes when the file does: title, diagram, buttons, layers."""
        with self._lock:
            loaded = self.loaded
            if loaded is None:
                return {"version": self.version, "title": self.path.name, "svg": "",
                        "buttons": [], "layers": [], "file": str(self.path)}  # fmt: skip
            scene = loaded.scene
            return {
                "version": self.version,
                "title": scene.name or self.path.stem,
                "file": str(self.path),
                "svg": diagram_svg(loaded.graph),
                "buttons": buttons(scene),
                "layers": list(scene.layers),
            }


def buttons(scene: Scene) -> list[dict[str, Any]]:
    """A button per event and trigger, and one per guarded transition (with its fields)."""
    out: list[dict[str, Any]] = []
    for name, spec in EVENTS.items():
        group, _, short = name.partition(".")
        out.append({"group": group, "label": short, "event": name, "fields": {},
                    "title": spec.description})  # fmt: skip
    for name, trig in scene.triggers.items():
        out.append({"group": "trigger", "label": name, "event": f"trigger.{name}",
                    "fields": {}, "title": trig.description})  # fmt: skip
    seen: set[str] = set()
    for t in scene.transitions:
        if not t.when:
            continue
        fields = {k: (v[0] if isinstance(v, tuple) else v) for k, v in t.when.items()}
        label = t.on + " " + ", ".join(f"{k}={v}" for k, v in fields.items())
        if label not in seen:
            seen.add(label)
            out.append({"group": "guarded", "label": label, "event": t.on, "fields": fields,
                        "title": "fires the guarded transition"})  # fmt: skip
    return out
