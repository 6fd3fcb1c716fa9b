"""The conversation every benchmark plays: thinking 2 s, speaking 3 s, staggered across sessions."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from .standin import AgentSession

THINK = 2.0
SPEAK = 3.0
CYCLE = THINK + SPEAK


def schedule(
    sessions: Sequence[AgentSession],
    start: float,
    until: float,
    *,
    think: float = THINK,
    speak: float = SPEAK,
) -> list[asyncio.TimerHandle]:
    """Queue every state change from loop time ``start`` to ``until``; session i is offset
    by i/N of a cycle, so the changes are spread evenly over time rather than bunched."""
    loop = asyncio.get_running_loop()
    cycle = think + speak
    handles = []
    n = len(sessions)
    for i, s in enumerate(sessions):
        t = start + cycle * i / n
        while t < until:
            handles.append(loop.call_at(t, s.set_state, "thinking"))
            if t + think < until:
                handles.append(loop.call_at(t + think, s.set_state, "speaking"))
            t += cycle
    return handles
