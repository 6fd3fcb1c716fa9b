"""The live driver's latency/CPU setting."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Literal

from ..scene.units import parse_duration

Preset = Literal["balanced", "low-cpu", "low-latency"]


@dataclass(frozen=True)
class LiveOptions:
    """How the driver feeds the AudioSource.

    ``frame``: seconds per `capture_frame` call (each call costs ~0.3 ms of CPU, so larger
    frames are cheaper). ``ahead``: how much audio is queued in the source (must be at least
    two frames; more survives longer event-loop stalls). ``rewind``: when an event arrives,
    re-render the queued audio from the sample now playing instead of letting the event wait
    behind the queue, so reaction time no longer depends on ``frame``/``ahead``. ``splice``:
    crossfade at a rewind splice, so the bed continues without a click. ``stream_buffer``:
    no longer used (an async iterator given to `play()` starts at its first frame and the
    driver renders only as far as its frames reach); still accepted, with a
    `DeprecationWarning`, so options written for earlier versions load.
    """

    frame: float = 0.4
    ahead: float = 0.85
    rewind: bool = True
    splice: float = 0.005
    stream_buffer: float = 0.25

    def __post_init__(self) -> None:
        if self.frame < 0.01:
            raise ValueError(f"frame must be at least 10 ms, got {self.frame * 1000:g} ms")
        if self.ahead < 2 * self.frame:
            raise ValueError(
                f"ahead ({self.ahead:g} s) must be at least two frames ({2 * self.frame:g} s)"
            )
        if not 0 <= self.splice <= self.frame:
            raise ValueError("splice must be between 0 and one frame")
        if self.stream_buffer != 0.25:
            warnings.warn(
                "LiveOptions.stream_buffer no longer has any effect (a stream given to play() "
                "is not buffered: it starts at its first frame); remove it",
                DeprecationWarning,
                stacklevel=3,
            )

    @classmethod
    def preset(cls, name: Preset) -> LiveOptions:
        """``low-cpu`` (the default: 400 ms frames), ``balanced`` (100 ms frames: a shorter
        queue, so a cheaper rewind and, for sinks that cannot rewind, a quicker reaction) or
        ``low-latency`` (20 ms frames: quick even without rewind, several times the CPU)."""
        table = {
            "low-cpu": cls(),
            "balanced": cls(frame=0.1, ahead=0.25),
            "low-latency": cls(frame=0.02, ahead=0.06),
        }
        if name not in table:
            raise ValueError(f"unknown latency preset {name!r}; use one of {sorted(table)}")
        return table[name]

    @classmethod
    def coerce(cls, value: LiveOptions | str | dict[str, Any] | None) -> LiveOptions:
        """Accept options, a preset name, or a mapping with durations like ``'100ms'``."""
        if value is None:
            return cls()
        if isinstance(value, LiveOptions):
            return value
        if isinstance(value, str):
            return cls.preset(value)  # type: ignore[arg-type]
        kw: dict[str, Any] = {
            k: (parse_duration(v) if k in ("frame", "ahead", "splice", "stream_buffer") else v)
            for k, v in value.items()
        }
        return cls(**kw)
