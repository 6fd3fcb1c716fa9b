"""`VoiceGate`: decides, on a 1 ms grid, when the agent's voice is present for each duck
keyed by the voice signal (`duck: {by: voice}`).

The detector is the RMS of the voice over the last 10 ms, compared with each duck's
`threshold`; a duck is *on* from the first cell above it until `hold` after the last one.
Decisions fall on cell boundaries of the absolute sample clock and only depend on the
samples before them, so they are causal (1 ms late at most) and the same however the
timeline is cut into blocks. The engine turns each on/off decision into an ordinary duck
`Ramp` (attack down, release back), so the gain itself is exact per sample.

The voice is quantised to integers before squaring: every sum is then exact, in any order,
which is what makes a decision at a boundary independent of where a block ended.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

CELL_SECONDS = 0.001
"""The grid decisions fall on: fine enough to be inaudible under any attack (≥ 5 ms)."""
WINDOW_CELLS = 10
"""The RMS window in cells (10 ms): a low voice's pitch period, so voiced speech reads steady."""

_SCALE = float(1 << 20)  # -126 dBFS resolution; squares of ±4.0 summed stay far inside int64
_CLIP = 4.0
_NEVER = -(1 << 62)

Gate = tuple[float, int]
"""(threshold as linear RMS, hold in samples): what one duck asks the detector."""
Change = tuple[int, Gate, bool]
"""(sample, gate, on): from that sample on, the gate is on / off."""


class GateState(NamedTuple):
    """Everything the detector carries from one render to the next (immutable: a snapshot
    keeps a reference)."""

    pos: int
    """The next sample the detector reads."""
    partial: np.ndarray | None
    """Squared samples of the cell being filled (int64, read-only); None: all silent."""
    history: np.ndarray | None
    """Sums of the last WINDOW_CELLS - 1 complete cells (int64, read-only); None: all silent."""
    last: tuple[tuple[Gate, int], ...] = ()
    """Per gate: the last cell whose 10 ms RMS reached its threshold."""


def fresh(pos: int) -> GateState:
    """The detector at ``pos`` with nothing heard before (what came before reads as silence)."""
    return GateState(pos, None, None, ())


class VoiceGate:
    """The detector's fixed parameters at one sample rate (stateless: see `GateState`)."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self.cell = max(1, round(rate * CELL_SECONDS))
        self._params: dict[Gate, tuple[int, int]] = {}

    def _partial_len(self, pos: int) -> int:
        # Cells ending at or before pos - 1 are decided; the one ending at/after pos waits.
        return 0 if pos <= 0 else pos - ((pos - 1) // self.cell) * self.cell

    def params(self, gate: Gate) -> tuple[int, int]:
        """``gate`` in the detector's units: (threshold on a window's sum of squares, hold
        in cells)."""
        got = self._params.get(gate)
        if got is None:
            thr, hold = gate
            scale = _SCALE * _SCALE * self.cell * WINDOW_CELLS
            got = (max(1, math.ceil(thr * thr * scale)), round(hold / self.cell))
            self._params[gate] = got
        return got

    def advance(
        self,
        state: GateState,
        voice: np.ndarray | None,
        s: int,
        e: int,
        gates: tuple[Gate, ...],
        on: frozenset[Gate],
    ) -> tuple[GateState, list[Change]]:
        """Run the detector over samples ``s .. e`` (``voice``: float (e - s,) or None for
        silence). ``on`` is the gates the engine has on now. Returns the new state and the
        changes inside ``s .. e``, in time order."""
        if state.pos != s:
            state = fresh(s)  # the detector did not hear what led here: start from silence
        if e <= s:
            return state, []
        if voice is None and state.partial is None and state.history is None and not on:
            return state._replace(pos=e), []  # silence after silence: nothing can change
        g = self.cell
        plen = self._partial_len(s)
        if voice is None:
            sq = np.zeros(e - s, np.int64)
        else:
            q = np.multiply(voice, _SCALE, dtype=np.float64)
            if not math.isfinite(float(np.add.reduce(q))):  # rare: bad samples read as silence
                q = np.nan_to_num(q, nan=0.0, posinf=0.0, neginf=0.0)
            np.clip(q, -_CLIP * _SCALE, _CLIP * _SCALE, out=q)
            sq = np.rint(q, out=q).astype(np.int64)
            sq *= sq
        head = state.partial if state.partial is not None else np.zeros(plen, np.int64)
        buf = np.concatenate((head, sq)) if plen else sq
        k = (buf.shape[0] - 1) // g
        if k == 0:
            return GateState(e, _quiet(buf), state.history, state.last), []
        cells = buf[: k * g].reshape(k, g).sum(axis=1)
        hist = state.history if state.history is not None else _SILENT_HISTORY
        # Window sums as differences of a running sum: exact, since everything is an integer.
        run = np.concatenate((_ZERO, hist, cells)).cumsum()
        box = run[WINDOW_CELLS:] - run[:k]
        first = (s - plen) // g
        last = dict(state.last)
        changes: list[Change] = []
        for gate in gates:
            thr, hold = self.params(gate)
            before = last.get(gate, _NEVER)
            was = gate in on
            above = box >= thr
            if above.all():  # the voice all through: the common case while it speaks
                last[gate] = first + k - 1
                if not was:
                    changes.append(((first + 1) * g, gate, True))
                continue
            if not above.any() and (
                (was and first + k - 1 - before <= hold) or (not was and first - before > hold)
            ):
                continue  # no voice, and the gate stays as it is over the whole span
            index = np.arange(first, first + k, dtype=np.int64)
            seen = np.where(above, index, _NEVER)
            np.maximum.accumulate(seen, out=seen)
            np.maximum(seen, before, out=seen)
            present = (index - seen) <= hold
            last[gate] = int(seen[-1])
            flips = np.flatnonzero(present[1:] != present[:-1]) + 1
            if present[0] != was:
                changes.append(((first + 1) * g, gate, bool(present[0])))
            changes += [((first + int(i) + 1) * g, gate, bool(present[i])) for i in flips]
        if len(gates) > 1:
            changes.sort(key=lambda c: c[0])  # stable: gates keep their order on a sample
        keep = tuple((gate, at) for gate, at in last.items() if gate in gates and at != _NEVER)
        history = _quiet(run[-(WINDOW_CELLS - 1) :] - run[-WINDOW_CELLS:-1])
        return GateState(e, _quiet(buf[k * g :]), history, keep), changes


_ZERO = np.zeros(1, np.int64)
_SILENT_HISTORY = np.zeros(WINDOW_CELLS - 1, np.int64)


def _quiet(a: np.ndarray) -> np.ndarray | None:
    """``a`` as state (never written to again): None when all silent, the cheap idle path."""
    return a if a.any() else None


__all__ = ["CELL_SECONDS", "WINDOW_CELLS", "GateState", "VoiceGate", "fresh"]
