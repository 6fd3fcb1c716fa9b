"""`PlayHandle`: what `Soundscape.play()` returns — awaitable, stoppable, like BackgroundAudioPlayer's."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Generator
from typing import Any


class PlayHandle:
    """A sound started with `play()`.

    ``await handle`` waits until it has been *heard* to its end (or stopped and faded out);
    ``handle.stop()`` stops it with its fade-out; ``handle.done()`` tells whether it ended.
    """

    def __init__(self, stop: Callable[[PlayHandle, float | None], None] | None = None) -> None:
        self._done: asyncio.Future[None] = asyncio.get_event_loop().create_future()
        self._stop_cb = stop
        self.voice: int | None = None  # the engine's voice handle, once started
        self.stopped = False

    def done(self) -> bool:
        """True once the sound has finished playing (or was stopped and has faded out)."""
        return self._done.done()

    def stop(self, *, fade: float | None = None) -> None:
        """Stop it, fading out over ``fade`` seconds (default: the fade_out given to play())."""
        if self.done() or self.stopped:
            return
        self.stopped = True
        if self._stop_cb is not None:
            self._stop_cb(self, fade)

    async def wait_for_playout(self) -> None:
        await asyncio.shield(self._done)

    def __await__(self) -> Generator[Any, None, PlayHandle]:
        async def wait() -> PlayHandle:
            await self.wait_for_playout()
            return self

        return wait().__await__()

    def _mark_done(self) -> None:
        if not self._done.done():
            self._done.set_result(None)
