"""Picking a variant from a sound's pool: weighted random, shuffle, sequence, avoid-repeat, silence.

Pick state is tiny (a few ints per sound) and copied by `Engine.snapshot`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class PickState:
    """What a pool remembers between picks."""

    recent: list[int] = field(default_factory=list)  # last picks, newest last (avoid_repeat)
    bag: list[int] = field(default_factory=list)  # shuffle: what is left of this round
    next_index: int = 0  # sequence
    last: int = -1

    def copy(self) -> PickState:
        return PickState(list(self.recent), list(self.bag), self.next_index, self.last)


def pick(
    rng: np.random.Generator,
    state: PickState,
    *,
    weights: tuple[float, ...],
    mode: str,
    avoid_repeat: int,
    silence: float,
) -> int | None:
    """The index of the variant to play, or None when the draw says silence.

    A variant of weight 0 is never picked, in any mode; a pool whose weights are all 0
    never plays (None, like a silent draw).
    """
    if silence > 0.0 and rng.random() < silence:
        return None
    live = [i for i, w in enumerate(weights) if w > 0.0]
    if not live:
        return None
    n = len(live)
    if n == 1:
        choice = live[0]
    elif mode == "sequence":
        # The next playable variant in declared order (weight-0 ones are stepped over).
        k = len(weights)
        choice = next(
            i % k for i in range(state.next_index, state.next_index + k) if weights[i % k] > 0.0
        )
        state.next_index = (choice + 1) % k
    elif mode == "shuffle":
        state.bag = [i for i in state.bag if weights[i] > 0.0]  # weights may change on reload
        if not state.bag:
            bag = [live[int(i)] for i in rng.permutation(n)]
            # A new round must not start with the variant that ended the last one.
            if bag[-1] == state.last:
                bag[0], bag[-1] = bag[-1], bag[0]
            state.bag = bag
        choice = state.bag.pop()
    else:
        choice = _weighted(rng, weights, state.recent[-avoid_repeat:] if avoid_repeat else [])
    state.last = choice
    if avoid_repeat:
        state.recent.append(choice)
        del state.recent[:-avoid_repeat]
    return choice


def _weighted(rng: np.random.Generator, weights: tuple[float, ...], banned: list[int]) -> int:
    """A weighted draw avoiding ``banned`` (oldest first to go when nothing else may play)."""
    while True:
        w = [0.0 if i in banned else max(0.0, x) for i, x in enumerate(weights)]
        total = sum(w)
        if total > 0.0 or not banned:
            break
        # Every variant not recently played has weight 0: allow the oldest recent one again
        # rather than play a variant of weight 0. `pick` made sure some weight is above 0.
        banned = banned[1:]
    r = rng.random() * total
    acc = 0.0
    for i, x in enumerate(w):
        acc += x
        if r < acc and x > 0.0:
            return i
    return max(i for i, x in enumerate(w) if x > 0.0)
