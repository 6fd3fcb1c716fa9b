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
from typing import Any

from livekit import rtc

log = logging.getLogger("soundscape")
# An unpublish that takes longer is abandoned: the room is on its way out.
_UNPUBLISH = 5.0


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
        if sid is None:
            return
        connected = getattr(self.room, "isconnected", None)
        if callable(connected) and not connected():
            # The room is gone and the track with it. livekit 1.1's unpublish_track never
            # returns after room.disconnect() (a job disconnects before its shutdown
            # callbacks run), so asking would hang the job until it is killed.
            log.debug("soundscape: room disconnected; %s needs no unpublish", sid)
            return
        try:
            await asyncio.wait_for(self.room.local_participant.unpublish_track(sid), _UNPUBLISH)
        except Exception as e:  # the room may already be gone; nothing left to take down
            log.debug("soundscape: unpublish of %s failed: %s", sid, e)
