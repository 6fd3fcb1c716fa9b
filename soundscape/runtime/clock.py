"""Which sample of what we pushed is playing now, and whether the source ran dry.

Measured (docs/runtime.md): the native AudioSource hands its queue to WebRTC in 10 ms
ticks on a fixed grid that starts when the source is created, and `clear_queue()` drops
everything not yet handed over. So when we know the grid, the sample playing at time t is
exact: the last 10 ms boundary consumed on or before t. Without the grid (a source the
caller made elsewhere) we fall back to a continuous estimate, right to within one tick.
"""

from __future__ import annotations

import math

TICK = 0.01  # seconds per native tick


class PlayClock:
    """A model of the AudioSource queue on the event loop's monotonic clock.

    We keep our own model rather than `AudioSource.queued_duration`: the SDK's estimate is
    continuous (ignores the 10 ms ticks) and goes wrong after the queue has run dry (its
    running total goes negative until a timer resets it).
    """

    def __init__(self, rate: int, grid: float | None = None) -> None:
        self.rate = rate
        self.tick = rate // 100
        self.grid = grid  # the time of one native tick, if known
        self.pushed = 0  # samples handed to the sink so far (deck clock of the queue's end)
        self._anchor_pos = 0
        self._anchor_t: float | None = None
        self.underruns = 0
        self.underrun_seconds = 0.0

    def _ticks(self, a: float, b: float) -> int:
        """Native ticks in (a, b]."""
        g = self.grid
        assert g is not None
        return max(math.floor((b - g) / TICK) - math.floor((a - g) / TICK), 0)

    def playing(self, now: float) -> int:
        """The first sample not yet handed to the track at ``now`` (== `pushed` when dry)."""
        if self._anchor_t is None:
            return self._anchor_pos
        if self.grid is not None:
            pos = self._anchor_pos + self.tick * self._ticks(self._anchor_t, now)
        else:
            pos = self._anchor_pos + int((now - self._anchor_t) * self.rate)
        return min(pos, self.pushed)

    def queued(self, now: float) -> int:
        return self.pushed - self.playing(now)

    def unsafe_for(self, now: float, before: float = 0.0045, after: float = 0.004) -> float:
        """Seconds to wait so ``now`` is not next to a tick: a tick can run a few ms late on a
        busy machine (a splice decided just after its due time would then skip 10 ms), and
        the push after `clear_queue()` must land before the next tick. That push is copied
        into the queue by a native thread which a busy machine can leave waiting for 5 ms
        (measured with the load average at 3 on 2 cores): the earlier in the tick the clear,
        the more of that wait it survives, so only the 1.5 ms after ``after`` are safe."""
        if self.grid is None:
            return 0.0
        phase = (now - self.grid) % TICK
        if phase < after:
            return after - phase
        if phase > TICK - before:
            return TICK - phase + after
        return 0.0

    def anchoring(self, now: float) -> bool:
        """True if a push at ``now`` would start a new timeline (the first, or after running dry):
        its first sample plays at the next tick, so it should not be pushed right at one."""
        return self._anchor_t is None or self.playing(now) >= self.pushed

    def on_push(self, n: int, now: float, *, tolerance: float = 0.012) -> None:
        """Account for ``n`` samples pushed at ``now``; a queue found dry counts an underrun."""
        if self._anchor_t is None:
            self._anchor_pos, self._anchor_t = self.pushed, now
        elif self.playing(now) >= self.pushed:
            consumed = (self.pushed - self._anchor_pos) / self.rate
            dry_since = self._anchor_t + consumed
            gap = now - dry_since
            if gap > tolerance:
                self.underruns += 1
                self.underrun_seconds += gap
            # Resume from here: the stall is not made up for by pushing a burst.
            self._anchor_pos, self._anchor_t = self.pushed, now
        self.pushed += n

    def restart(self) -> None:
        """The source lost its queue: nothing is queued, the next push starts a new timeline
        (not an underrun: the caller accounts for the loss)."""
        self._anchor_pos, self._anchor_t = self.pushed, None

    def next_tick(self, now: float) -> float:
        """When the first native tick after ``now`` is due (``now`` itself without a grid)."""
        if self.grid is None:
            return now
        return self.grid + (math.floor((now - self.grid) / TICK) + 1) * TICK

    def time_of(self, position: int) -> float | None:
        """When deck sample ``position`` is handed to the track (the tick at which `playing`
        passes it), if it is pushed and nothing runs dry before it (None: not known yet)."""
        if self._anchor_t is None or position > self.pushed:
            return None
        k = max(position - self._anchor_pos, 0)
        if self.grid is None:
            return self._anchor_t + k / self.rate
        return self.next_tick(self._anchor_t) + (k // self.tick) * TICK

    def restart_at(self, position: int) -> None:
        """Nothing is queued; the next push starts a new timeline at deck sample ``position``."""
        self._anchor_pos, self._anchor_t, self.pushed = position, None, position

    def resync(self, position: int, now: float, pushed: int) -> None:
        """After `clear_queue()`: ``position`` is the next sample to play; ``pushed`` in total."""
        self._anchor_pos, self._anchor_t, self.pushed = position, now, pushed
