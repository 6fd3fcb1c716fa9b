"""Publishing the soundscape track, and taking it down again.

Reconnects: on a *resume* the SDK keeps the PeerConnection and the publication; on a *full
reconnect* it re-publishes local tracks itself (`local_track_republished`, new SIDs, same
track and AudioSource). The driver never stops feeding the source, so the track plays on in
both cases; what we must cover is finding the publication by track rather than by a cached
SID when unpublishing.
"""

from __future__ import annotations

import logging
from typing import Any

from livekit import rtc

log = logging.getLogger("soundscape")


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

    async def publish(self, source: rtc.AudioSource) -> None:
        self.track = rtc.LocalAudioTrack.create_audio_track(self.name, source)
        self.publication = await self.room.local_participant.publish_track(self.track, self.options)

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
        if self.publication is None:
            return
        sid = self._current_sid()
        self.publication = None
        if sid is None:
            return
        try:
            await self.room.local_participant.unpublish_track(sid)
        except Exception as e:  # the room may already be gone; nothing left to take down
            log.debug("soundscape: unpublish of %s failed: %s", sid, e)
