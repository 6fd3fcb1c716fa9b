"""`VoiceTap`: a pass-through link in an AgentSession's audio output chain that lets
`voice: auto` listen to the agent's speech.

It is a wrapper in livekit-agents' own ``next_in_chain`` design (as its transcript
synchroniser and recorder are): every call goes down the chain unchanged and every playback
event comes back up through `AudioOutput`'s forwarding. A frame is handed on before
anything looks at it, and what looks at it reads its samples and keeps nothing.
"""

from __future__ import annotations

import logging
from typing import Protocol

from livekit import rtc
from livekit.agents.voice import io

log = logging.getLogger("soundscape")


class VoiceListener(Protocol):
    def frame(self, frame: rtc.AudioFrame) -> None:
        """A frame the session captured (already handed down the chain; read, don't keep)."""

    def cleared(self) -> None:
        """The session cleared the output's buffer (what it held will not be heard)."""


class VoiceTap(io.AudioOutput):
    """Forwards everything to ``next_in_chain`` and shows each captured frame to its listeners."""

    def __init__(self, next_in_chain: io.AudioOutput) -> None:
        super().__init__(
            label="soundscape.VoiceTap",
            capabilities=io.AudioOutputCapabilities(pause=True),  # pausing is the chain's
            next_in_chain=next_in_chain,
        )
        self.listeners: list[VoiceListener] = []

    @property
    def sample_rate(self) -> int | None:
        return self.next_in_chain.sample_rate if self.next_in_chain else None

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        assert self.next_in_chain is not None
        # Down the chain first: the frame reaches the sink as it would without us.
        await self.next_in_chain.capture_frame(frame)
        await super().capture_frame(frame)
        for listener in self.listeners:
            try:
                listener.frame(frame)
            except Exception:
                log.exception("soundscape: measuring the agent's voice failed")

    def flush(self) -> None:
        super().flush()
        if self.next_in_chain is not None:
            self.next_in_chain.flush()

    def clear_buffer(self) -> None:
        if self.next_in_chain is not None:
            self.next_in_chain.clear_buffer()
        for listener in self.listeners:
            try:
                listener.cleared()
            except Exception:
                log.exception("soundscape: measuring the agent's voice failed")

    def on_playback_finished(
        self,
        *,
        playback_position: float,
        interrupted: bool,
        synchronized_transcript: str | None = None,
    ) -> None:
        if self._pending_playback_count == 0:
            # A segment captured through the chain before the tap joined it: the speech
            # that captured it waits on the link it used, and the base class would only log
            # "called more times than captured".
            return
        super().on_playback_finished(
            playback_position=playback_position,
            interrupted=interrupted,
            synchronized_transcript=synchronized_transcript,
        )


def find_tap(out: io.AudioOutput | None) -> VoiceTap | None:
    """The `VoiceTap` in the chain starting at ``out``, if any."""
    while out is not None:
        if isinstance(out, VoiceTap):
            return out
        out = out.next_in_chain
    return None
