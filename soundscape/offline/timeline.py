"""Scripted timelines: timestamped events that drive a scene offline (`soundscape render`).

A timeline file is a list of ``{at: 1.5s, event: agent.thinking}`` entries (optionally with
``fields: {tool: lookup}``), or a mapping with ``duration`` and ``events``; the format is
documented in docs/authoring.md (a test parses its example). Without a file,
`default_timeline` scripts an ordinary conversation so any scene renders out of the box.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import Diagnostic, Pos, SceneError
from ..scene import events as vocab
from ..scene.model import Scene
from ..scene.units import Duration
from ..scene.yamlio import load_document


@dataclass(frozen=True, order=True)
class Cue:
    """One scripted event: ``event`` with ``fields`` at ``at`` seconds."""

    at: float
    event: str
    fields: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Timeline:
    events: tuple[Cue, ...]
    duration: float
    name: str = "timeline"


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    at: Duration
    event: str
    fields: dict[str, str | int | float | bool] = Field(default_factory=dict)


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")
    duration: Duration | None = None
    events: list[_Entry]


def load_timeline(path: Path, scene: Scene | None = None) -> Timeline:
    """Read and check a timeline file; unknown events (for ``scene``) are errors with positions."""
    doc = load_document(path)
    data = {"events": doc.data} if isinstance(doc.data, list) else doc.data
    prefix: tuple[Any, ...] = () if isinstance(doc.data, list) else ("events",)
    try:
        parsed = _File.model_validate(data)
    except ValidationError as e:
        diags = []
        for err in e.errors(include_url=False):
            loc = tuple(err["loc"])
            loc = loc[1:] if not prefix and loc[:1] == ("events",) else loc
            pos = _nearest(doc.values, loc) or Pos(str(path))
            msg = err["msg"].removeprefix("Value error, ")
            diags.append(Diagnostic(pos, f"timeline: {msg}", code="SC102"))
        raise SceneError(diags) from None
    triggers = set(scene.triggers) if scene else set()
    diags = []
    cues: list[Cue] = []
    for i, entry in enumerate(parsed.events):
        name = vocab.normalize(entry.event, triggers)
        if name is None:
            import difflib

            close = difflib.get_close_matches(entry.event, vocab.all_names(triggers), n=1)
            pos = doc.values.get((*prefix, i, "event"), Pos(str(path)))
            sug = f"; did you mean '{close[0]}'?" if close else ""
            diags.append(Diagnostic(pos, f"unknown event '{entry.event}'{sug}", code="SC204"))
            continue
        cues.append(Cue(entry.at, name, dict(entry.fields)))
    if diags:
        raise SceneError(diags)
    cues.sort(key=lambda c: c.at)  # stable: events at the same time keep the order written
    end = cues[-1].at + 3.0 if cues else 10.0
    return Timeline(tuple(cues), parsed.duration or end, path.name)


def _nearest(values: dict[tuple[Any, ...], Pos], loc: tuple[Any, ...]) -> Pos | None:
    for n in range(len(loc), -1, -1):
        if loc[:n] in values:
            return values[loc[:n]]
    return None


# A plain conversation: greeting, a question, thinking with a tool call, the answer, the user
# stepping away and coming back, a short second turn. Times in seconds.
_CONVERSATION: tuple[tuple[float, str, dict[str, Any]], ...] = (
    (0.0, "agent.initializing", {}),
    (0.6, "agent.listening", {}),
    (1.0, "speech.created", {"source": "say", "user_initiated": True}),
    (1.0, "agent.speaking", {}),
    (4.0, "agent.listening", {}),
    (5.0, "user.speaking", {}),
    (8.0, "user.listening", {}),
    (8.2, "agent.thinking", {}),
    (9.0, "tool.started", {"tool": "lookup_order", "call_id": "call_1"}),
    (13.5, "tool.ended", {"tool": "lookup_order", "call_id": "call_1", "status": "done"}),
    (14.0, "speech.created", {"source": "generate_reply", "user_initiated": False}),
    (14.0, "agent.speaking", {}),
    (19.0, "agent.listening", {}),
    (21.0, "user.away", {}),
    (29.0, "user.speaking", {}),
    (31.0, "user.listening", {}),
    (31.2, "agent.thinking", {}),
    (33.0, "agent.speaking", {}),
    (37.0, "agent.listening", {}),
)
_TRIGGER_GAP = 5.0


def default_timeline(scene: Scene | None = None) -> Timeline:
    """The built-in scripted conversation; each of the scene's triggers then fires once, 5 s apart."""
    cues = [Cue(at, ev, dict(f)) for at, ev, f in _CONVERSATION]
    t = cues[-1].at
    for name in scene.triggers if scene else ():
        t += _TRIGGER_GAP
        cues.append(Cue(t, f"trigger.{name}", {}))
    return Timeline(tuple(cues), t + 4.0, "conversation")
