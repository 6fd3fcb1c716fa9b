"""Stand-ins for the parts of LiveKit the benchmarks do not need for real.

The room only accepts ``publish_track``/``unpublish_track`` (no server, no WebRTC
connection); the agent session only emits ``agent_state_changed`` with real
livekit-agents event objects. The audio path — `rtc.AudioSource` and its native queue —
is always the real one.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from livekit import rtc
from livekit.agents.voice.events import AgentStateChangedEvent

_sids = itertools.count(1)


@dataclass
class Publication:
    sid: str
    name: str
    track: Any

    async def wait_for_subscription(self) -> None:
        """Subscribed at once (RoomIO's audio output waits for this before it speaks)."""


@dataclass
class LocalParticipant:
    track_publications: dict[str, Publication] = field(default_factory=dict)

    async def publish_track(self, track: Any, options: Any = None) -> Publication:
        pub = Publication(f"TR_bench{next(_sids)}", track.name, track)
        self.track_publications[pub.sid] = pub
        return pub

    async def unpublish_track(self, sid: str) -> None:
        self.track_publications.pop(sid, None)


@dataclass
class Room:
    """Accepts publish_track like `rtc.Room.local_participant` does; nothing leaves the process."""

    local_participant: LocalParticipant = field(default_factory=LocalParticipant)
    name: str = "bench"


class AgentSession(rtc.EventEmitter[str]):
    """Emits ``agent_state_changed`` exactly as `AgentSession` does (same event class)."""

    def __init__(self) -> None:
        super().__init__()
        self.agent_state = "listening"

    def set_state(self, state: str) -> None:
        old, self.agent_state = self.agent_state, state
        self.emit(
            "agent_state_changed",
            AgentStateChangedEvent(old_state=old, new_state=state),  # type: ignore[arg-type]
        )
