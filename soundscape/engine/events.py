"""`EngineEvent`: what happened, and at which sample, for timelines, plots and metrics."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class EngineEvent:
    """One thing that happened during a render.

    ``kind`` is one of:
    - ``state``: the scene entered state ``name`` (``data``: ``from``, ``event``);
    - ``voice.start`` / ``voice.stop``: a voice became audible / ended (``name`` is the
      sound, or the file for an inline ``source:``; ``data``: ``handle``, ``kind`` (layer,
      cue, scatter, play), ``owner`` (state, layer or scatter name), ``source`` (the file));
    - ``voice.silent``: a pool's silence chance chose to play nothing;
    - ``voice.steal``: the voice cap stopped the oldest cue (``data``: ``handle``);
    - ``event``: an incoming event was applied (``data``: ``fields``, ``known``);
    - ``trigger``: a scene trigger fired (``name`` without the ``trigger.`` prefix).
    ``at`` is the sample (per channel) on the engine clock.
    """

    kind: str
    name: str
    at: int
    data: dict[str, Any] = field(default_factory=dict)
