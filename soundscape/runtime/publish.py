"""Publishing the soundscape track, and taking it down again.

Reconnects: on a *resume* the SDK keeps the PeerConnection and the publication; on a *full
reconnect* it re-publishes local tracks itself (`local_track_republished`, new SIDs, same
track and AudioSource). The driver never stops feeding the source, so the track plays on in
both cases; what we must cover is finding the publication by track rather than by a cached
SID when unpublishing. A publish the room refuses at start (it is reconnecting) is logged
and retried on the room's next ``reconnected``/``connected`` event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from livekit import rtc

log = logging.getLogger("soundscape")

CONNECT_TIMEOUT = 20.0
"""Seconds `start()` lets a room take to connect before it says what is missing."""
UNPUBLISH_TIMEOUT = 2.0  # seconds; a room disconnecting meanwhile never answers
_POLL = 0.01  # the SDK sets the state without an event on a first connect: look for it


def is_connected(room: Any) -> bool:
    """Whether ``room`` can take a publish now (a room without the notion always can)."""
    check = getattr(room, "isconnected", None)
    return bool(check()) if callable(check) else True


async def wait_connected(room: Any, timeout: float, track: str) -> None:
    """Return once ``room`` is connected. Past ``timeout`` log one error and keep waiting:
    a room connected late still gets its track."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    warned = False
    while not is_connected(room):
        if not warned and loop.time() >= deadline:
            warned = True
            log.error(
                "soundscape: the room is still not connected %.0f s after scape.start(), so "
                "track %r is not published yet. Connect it: `await ctx.connect()`, or "
                "`await session.start(agent=..., room=ctx.room)`, which connects it; the "
                "track is published as soon as it is",
                timeout,
                track,
            )
        await asyncio.sleep(_POLL if not warned else 10 * _POLL)


def default_publish_options() -> rtc.TrackPublishOptions:
    """DTX off (a quiet bed must not be gated as 'silence'), RED off (ambience needs no
    redundancy: packet-loss concealment covers it, at half the bandwidth), source unknown
    (it is not the agent's microphone, so clients do not treat it as the agent's voice)."""
    return rtc.TrackPublishOptions(dtx=False, red=False, source=rtc.TrackSource.SOURCE_UNKNOWN)


class Publisher:
    """Publishes one track for an AudioSource on a room's local participant."""

    def __init__(self, room: Any, name: str, options: rtc.TrackPublishOptions | None) -> None:
        self.room = room
        self.name = name
        self.options = options or default_publish_options()
        self.track: Any = None
        self.publication: Any = None
        self._source: rtc.AudioSource | None = None
        self._watching = False
        self._retry: asyncio.Task[None] | None = None
        self.on_published: list[Callable[[Any], None]] = []
        """Called with each publication made (the first, and one after a refused publish)."""

    async def publish(self, source: rtc.AudioSource) -> None:
        """Publish a track of ``source``. If the room refuses (e.g. it is reconnecting) and
        it emits events, log it and publish again when it (re)connects; else raise."""
        self._source = source
        try:
            await self._publish_once()
        except Exception as e:
            on = getattr(self.room, "on", None)
            if not callable(on):
                raise
            on("reconnected", self._on_connected)
            on("connected", self._on_connected)
            self._watching = True
            log.error(
                "soundscape: could not publish track %r (%s); the scene keeps playing and the "
                "track is published when the room reconnects",
                self.name,
                str(e),  # not the exception: its frames would keep the refused track alive
            )

    async def _publish_once(self) -> None:
        assert self._source is not None
        # A fresh track per attempt: a refused publish may leave the old one half-registered.
        self.track = rtc.LocalAudioTrack.create_audio_track(self.name, self._source)
        self.publication = await self.room.local_participant.publish_track(self.track, self.options)
        for cb in self.on_published:
            try:
                cb(self.publication)
            except Exception:
                log.exception("soundscape: error after publishing track %r", self.name)

    def _on_connected(self, *_: Any) -> None:
        idle = self._retry is None or self._retry.done()
        if self.publication is None and self._source is not None and idle:
            self._retry = asyncio.ensure_future(self._republish())

    async def _republish(self) -> None:
        try:
            await self._publish_once()
            log.info("soundscape: track %r published after the room reconnected", self.name)
        except Exception as e:
            log.error("soundscape: publishing track %r failed again (%s)", self.name, str(e))

    def _unwatch(self) -> None:
        if self._watching:
            for event in ("reconnected", "connected"):
                with contextlib.suppress(Exception):
                    self.room.off(event, self._on_connected)
            self._watching = False

    def _current_sid(self) -> str | None:
        # After a full reconnect the SID changed; look the track up again.
        pubs = getattr(self.room.local_participant, "track_publications", {}) or {}
        for sid, pub in pubs.items():
            if getattr(pub, "track", None) is self.track and self.track is not None:
                return str(sid)
        for sid, pub in pubs.items():
            if getattr(pub, "name", None) == self.name:
                return str(sid)
        pub = self.publication
        return getattr(pub, "sid", None) if pub is not None else None

    async def unpublish(self) -> None:
        self._unwatch()
        self._source = None
        if self._retry is not None:
            self._retry.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._retry
            self._retry = None
        if self.publication is None:
            return
        sid = self._current_sid()
        self.publication = None
        # A room that has disconnected took its tracks with it, and an unpublish sent to it
        # is never answered: livekit-agents disconnects a job's room *before* it runs the
        # shutdown callbacks, and an unpublish waiting there kept the job process alive
        # until its supervisor killed it.
        if sid is None or not is_connected(self.room):
            return
        try:
            await asyncio.wait_for(
                self.room.local_participant.unpublish_track(sid), UNPUBLISH_TIMEOUT
            )
        except Exception as e:  # the room may be going away meanwhile; nothing left to undo
            log.debug("soundscape: unpublish of %s failed: %r", sid, e)
