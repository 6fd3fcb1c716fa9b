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
    """The index of the variant to play, or None when the draw says silence."""
    if silence > 0.0 and rng.random() < silence:
        return None
    n = len(weights)
    if n == 1:
        choice = 0
    elif mode == "sequence":
        choice = state.next_index % n
        state.next_index = (choice + 1) % n
    elif mode == "shuffle":
        if not state.bag:
            bag = [int(i) for i in rng.permutation(n)]
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
    w = [0.0 if i in banned else max(0.0, x) for i, x in enumerate(weights)]
    total = sum(w)
    if total <= 0.0:
        # Every allowed variant has weight 0: fall back to a uniform draw among them.
        w = [0.0 if i in banned else 1.0 for i in range(len(weights))]
        total = sum(w)
    r = rng.random() * total
    acc = 0.0
    for i, x in enumerate(w):
        acc += x
        if r < acc and x > 0.0:
            return i
    return max(i for i, x in enumerate(w) if x > 0.0)
