"""Which sample of what we pushed is playing now, and whether the source ran dry."""

from __future__ import annotations


class PlayClock:
    """A model of the AudioSource queue: it plays pushed samples at ``rate`` in real time.

    We keep our own model rather than `AudioSource.queued_duration`: the SDK's estimate goes
    wrong after the queue has run dry (its running total goes negative until a timer resets
    it). Time comes from the event loop's monotonic clock, the same clock the native queue
    drains on, so the model does not drift.
    """

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self.pushed = 0  # samples handed to the sink so far (engine clock of the queue's end)
        self._anchor_pos = 0
        self._anchor_t: float | None = None
        self.underruns = 0
        self.underrun_seconds = 0.0

    def playing(self, now: float) -> int:
        """The sample being played at ``now`` (== `pushed` when the queue is empty)."""
        if self._anchor_t is None:
            return self._anchor_pos
        pos = self._anchor_pos + int((now - self._anchor_t) * self.rate)
        return min(pos, self.pushed)

    def queued(self, now: float) -> int:
        return self.pushed - self.playing(now)

    def on_push(self, n: int, now: float, *, tolerance: float = 0.012) -> None:
        """Account for ``n`` samples pushed at ``now``; a queue found dry counts an underrun."""
        if self._anchor_t is None:
            self._anchor_pos, self._anchor_t = self.pushed, now
        else:
            dry_since = self._anchor_t + (self.pushed - self._anchor_pos) / self.rate
            if now > dry_since:
                gap = now - dry_since
                if gap > tolerance:
                    self.underruns += 1
                    self.underrun_seconds += gap
                # Resume from here: the stall is not made up for by pushing a burst.
                self._anchor_pos, self._anchor_t = self.pushed, now
        self.pushed += n

    def resync(self, position: int, now: float, pushed: int) -> None:
        """After `clear_queue()`: sample ``position`` plays at ``now``; ``pushed`` queued in total."""
        self._anchor_pos, self._anchor_t, self.pushed = position, now, pushed

    def full_at(self, now: float, capacity: int) -> None:
        """A capture had to wait: the native queue was full (holding ``capacity``) at ``now``."""
        self._anchor_pos = max(self.pushed - capacity, 0)
        self._anchor_t = now
