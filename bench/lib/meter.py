"""Count what reaches a real `rtc.AudioSource`, and model its queue to spot underruns.

`Meter` wraps the source's ``capture_frame`` and ``clear_queue`` (the calls still go
through unchanged). Every push adds its samples to a model of the native queue, which
drains at the sample rate on the monotonic clock; a push that finds the model queue empty
for more than ``TOLERANCE`` counts one underrun (the track carried silence for that long).
``clear_queue`` drops what the model still holds, so re-rendered audio is not counted
twice. The same model is applied to every system, so their figures compare.
"""

from __future__ import annotations

import time
from typing import Any

from livekit import rtc

TOLERANCE = 0.02  # seconds dry before a push counts as an underrun (two native ticks)


class Meter:
    """Wraps one source; read `delivered`, `underruns` and friends at any time."""

    def __init__(self, source: rtc.AudioSource) -> None:
        self.source = source
        self.rate = source.sample_rate
        self.pushes = 0
        self.pushed = 0  # samples handed to capture_frame
        self.dropped = 0  # samples the model had queued when clear_queue ran
        self.clears = 0
        self.underruns = 0
        self.underrun_seconds = 0.0
        self._level = 0.0  # model queue (samples) at _t
        self._t: float | None = None
        self._created = time.monotonic()
        cap, clear = source.capture_frame, source.clear_queue

        async def capture_frame(frame: rtc.AudioFrame) -> None:
            self._on_push(frame.samples_per_channel, time.monotonic())
            await cap(frame)

        def clear_queue() -> None:
            now = time.monotonic()
            left = self._left(now)
            self.dropped += int(left)
            self.clears += 1
            self._level, self._t = 0.0, now
            clear()

        source.capture_frame = capture_frame  # type: ignore[method-assign]
        source.clear_queue = clear_queue  # type: ignore[method-assign]

    def _left(self, now: float) -> float:
        if self._t is None:
            return 0.0
        return max(self._level - (now - self._t) * self.rate, 0.0)

    def _on_push(self, n: int, now: float) -> None:
        if self._t is not None:
            dry_at = self._t + self._level / self.rate
            gap = now - dry_at
            if gap > TOLERANCE:
                self.underruns += 1
                self.underrun_seconds += gap
        self._level = self._left(now) + n
        self._t = now
        self.pushes += 1
        self.pushed += n

    @property
    def delivered(self) -> int:
        """Samples that reached the track (pushed minus what a clear_queue threw away)."""
        return self.pushed - self.dropped

    def dry_for(self, now: float) -> float:
        """How long the model queue has been empty (0 if it holds audio); a source never
        fed has been dry since the meter was made."""
        if self._t is None:
            return now - self._created
        return max(now - (self._t + self._level / self.rate), 0.0)

    def snapshot(self) -> dict[str, Any]:
        """Totals so far; a source dry right now (no push came) counts as an underrun in
        progress, so a player that stopped pushing altogether is not reported as fine."""
        now = time.monotonic()
        dry = self.dry_for(now)
        ongoing = dry > TOLERANCE
        return {
            "pushes": self.pushes,
            # Played so far, not pushed: with 400 ms frames a window of a few seconds would
            # otherwise be off by up to a frame (±8 % of 5 s) depending on when pushes fell.
            "delivered": self.delivered - int(self._left(now)),
            "clears": self.clears,
            "underruns": self.underruns + (1 if ongoing else 0),
            "underrun_seconds": self.underrun_seconds + (dry if ongoing else 0.0),
        }
