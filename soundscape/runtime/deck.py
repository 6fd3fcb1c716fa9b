"""One or two engines behind the driver: two only while `switch()` crossfades scenes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np


class EngineLike(Protocol):
    """The part of `soundscape.engine.Engine` the runtime uses."""

    rate: int
    channels: int
    position: int
    on_event: Callable[[Any], None] | None
    plan: Any

    @property
    def state(self) -> str: ...
    @property
    def active_voices(self) -> int: ...
    def post(
        self, event: str, fields: dict[str, Any] | None = None, *, at: int | None = None
    ) -> None: ...
    def play(self, what: Any, *, loop: bool = ..., gain: float = ..., level: Any = ..., fade_in: float = ..., fade_out: float | None = ..., at: int | None = ...) -> int: ...  # fmt: skip
    def set_voice_loudness(self, lufs: float, *, at: int | None = None, glide: bool = True) -> None: ...  # fmt: skip
    def stop(self, handle: int, *, fade: float | None = None, at: int | None = None) -> None: ...
    def is_active(self, handle: int) -> bool: ...
    def stream_state(self, handle: int) -> tuple[int, int | None, int] | None: ...
    def render(self, frames: int) -> np.ndarray: ...
    def snapshot(self) -> object: ...
    def restore(self, snap: object) -> None: ...


@dataclass(frozen=True)
class _Slot:
    engine: EngineLike
    offset: int  # deck sample at which this engine's sample 0 plays


@dataclass(frozen=True)
class DeckSnapshot:
    position: int
    slots: tuple[tuple[_Slot, object], ...]
    fade: tuple[int, int] | None
    master: tuple[int, int] | None


class Deck:
    """Renders the current engine, crossfading from the previous one after a switch.

    Positions here are deck samples (the driver's clock); each engine keeps its own clock,
    offset by the deck sample at which it came in.
    """

    def __init__(self, engine: EngineLike) -> None:
        self.rate = engine.rate
        self.channels = engine.channels
        self.position = 0
        self._slots: list[_Slot] = [_Slot(engine, 0)]
        self._fade: tuple[int, int] | None = None  # (start, length) of the outgoing fade
        self._master: tuple[int, int] | None = None  # (start, length) of the closing fade

    @property
    def engine(self) -> EngineLike:
        """The current (newest) engine: commands go to it."""
        return self._slots[-1].engine

    @property
    def engines(self) -> list[EngineLike]:
        return [s.engine for s in self._slots]

    def to_engine(self, at: int | None) -> int | None:
        """A deck position as a position on the current engine's clock."""
        return None if at is None else at - self._slots[-1].offset

    def to_deck(self, engine: EngineLike, at: int) -> int:
        for s in self._slots:
            if s.engine is engine:
                return at + s.offset
        return at

    def on_engine(self, engine: EngineLike, at: int) -> int:
        """A deck position as a position on ``engine``'s clock."""
        for s in self._slots:
            if s.engine is engine:
                return at - s.offset
        return at

    def switch(self, engine: EngineLike, crossfade: int) -> None:
        """Bring ``engine`` in now (at `position`) over ``crossfade`` samples."""
        # Only the latest outgoing engine is kept; a switch during a switch drops the oldest.
        self._slots = [self._slots[-1], _Slot(engine, self.position)]
        self._fade = (self.position, max(crossfade, 1))

    def fade_out(self, length: int) -> None:
        """Fade everything to silence from now over ``length`` samples (the scene stopping)."""
        if self._master is None:
            self._master = (self.position, max(length, 1))

    @property
    def fade_end(self) -> int | None:
        """The deck sample where the closing fade reaches silence (None: not fading)."""
        return None if self._master is None else sum(self._master)

    @property
    def silent(self) -> bool:
        """True once the closing fade has ended."""
        return self._master is not None and self.position >= sum(self._master)

    def render(self, n: int) -> np.ndarray:
        out = self._render(n)
        if self._master is not None:
            start, length = self._master
            t = np.clip((self.position - n + np.arange(n) - start) / length, 0.0, 1.0)
            out = (out * np.cos(t * np.pi / 2)[:, None]).astype(np.float32)
        return out

    def _render(self, n: int) -> np.ndarray:
        if self._fade is None:
            out = self._slots[0].engine.render(n)
            self.position += n
            return out
        start, length = self._fade
        old, new = self._slots[0].engine.render(n), self._slots[-1].engine.render(n)
        t = (self.position + np.arange(n) - start) / length
        w = np.clip(t, 0.0, 1.0)[:, None]
        # Equal-power: two unrelated scenes, so powers (not amplitudes) should add to one.
        out = (old * np.cos(w * np.pi / 2) + new * np.sin(w * np.pi / 2)).astype(np.float32)
        self.position += n
        if self.position >= start + length:
            self._slots = [self._slots[-1]]
            self._fade = None
        return out

    def skip(self, n: int) -> None:
        """Advance the deck clock by ``n`` without rendering (the engines pause meanwhile)."""
        self.position += n
        self._slots = [_Slot(s.engine, s.offset + n) for s in self._slots]

    def snapshot(self) -> DeckSnapshot:
        return DeckSnapshot(
            self.position,
            tuple((s, s.engine.snapshot()) for s in self._slots),
            self._fade,
            self._master,
        )

    def restore(self, snap: DeckSnapshot) -> None:
        self.position = snap.position
        self._slots = [s for s, _ in snap.slots]
        for s, es in snap.slots:
            s.engine.restore(es)
        self._fade = snap.fade
        self._master = snap.master

    @property
    def active_voices(self) -> int:
        return sum(s.engine.active_voices for s in self._slots)
