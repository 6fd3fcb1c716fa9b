"""A minimal stand-in for `rtc.Room`: a local participant that accepts publish/unpublish."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class FakePublication:
    sid: str
    name: str
    track: Any
    options: Any

    async def wait_for_subscription(self) -> None:
        """Someone is listening at once (as a caller already in the room)."""


@dataclass
class FakeLocalParticipant:
    track_publications: dict[str, FakePublication] = field(default_factory=dict)
    published: list[FakePublication] = field(default_factory=list)
    unpublished: list[str] = field(default_factory=list)

    async def publish_track(self, track: Any, options: Any = None) -> FakePublication:
        pub = FakePublication(f"TR_{len(self.published) + 1}", track.name, track, options)
        self.track_publications[pub.sid] = pub
        self.published.append(pub)
        return pub

    async def unpublish_track(self, sid: str) -> None:
        self.track_publications.pop(sid)
        self.unpublished.append(sid)

    def republish(self, pub: FakePublication) -> None:
        """What the SDK does on a full reconnect: same track, new SID."""
        del self.track_publications[pub.sid]
        pub.sid = pub.sid + "-re"
        self.track_publications[pub.sid] = pub


@dataclass
class FakeRoom:
    local_participant: FakeLocalParticipant = field(default_factory=FakeLocalParticipant)
    name: str = "stand-in"
