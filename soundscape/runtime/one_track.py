"""One-track mode in an AgentSession: our `OneTrackOutput` where RoomIO's audio output was,
and RoomIO's kind of output back if the scape stops while the session goes on.

Before ``session.start()`` the output is simply the session's ``output.audio``: RoomIO then
publishes no audio track of its own and wraps ours for transcript synchronisation, as it
would wrap its own. After it, ours takes the room output's place at the bottom of the chain
through the `_AudioSinkProxy` livekit-agents keeps there for swapping sinks, when no speech
is under way, and the room output's track is unpublished and its source closed. Either way
the caller sees one audio track from the agent, named and published as RoomIO's would be.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from livekit import rtc

from .publish import is_connected
from .voice_output import OneTrackOutput, find_room_output

log = logging.getLogger("soundscape")

ROOM_TRACK = "roomio_audio"  # RoomIO's default name for the agent's voice track
BUSY_STATES = ("thinking", "speaking")
"""A speech may hold the chain in these states; the swap waits for the next other one."""
_ALREADY_SET = "RoomIO audio output is enabled but output.audio is already set"


def voice_publish_options() -> rtc.TrackPublishOptions:
    """RoomIO's (the agent's microphone: clients and transcriptions look for it there), with
    DTX off: between words the track still carries the scene, which must not be gated."""
    return rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE, dtx=False)


def room_track_of(session: Any) -> tuple[str, rtc.TrackPublishOptions | None] | None:
    """The name and publish options of the room output in ``session``'s chain, if any."""
    out = getattr(getattr(session, "output", None), "audio", None)
    found = find_room_output(out) if out is not None else None
    if found is None:
        return None
    room_out = found[1]
    return getattr(room_out, "_track_name", ROOM_TRACK), getattr(room_out, "_publish_options", None)


class _AlreadySet(logging.Filter):
    """RoomIO warns that ``output.audio`` is already set when it finds ours there: that is
    this mode working, not a mistake of the application's."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(_ALREADY_SET)


_filter = _AlreadySet()


class OneTrack:
    """Keeps ``output`` as ``session``'s audio output for one run of a scape."""

    def __init__(
        self, output: OneTrackOutput, session: Any, room: Any, *, console: Any = None
    ) -> None:
        self.output = output
        self.session = session
        self.room = room
        self.console = console
        """Console mode: finds the console's speaker output, which ours replaces in the
        session (its speaker then plays our mix: one mechanism for the room and the console)."""
        self.installed = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._listening = False
        self._restored: Any = None
        self._replaced: Any = None

    def install(self) -> None:
        """Become the session's audio output now, or once no speech is under way."""
        if self.installed:
            return
        io: Any = getattr(self.session, "output", None)
        if io is None:
            log.error("soundscape: one_track=True, but the session has no output to take over")
            return
        current = io.audio
        if self.console is not None:
            # The session takes the console's output at start() whatever is set before:
            # take its place once it is there.
            speaker = self.console()
            found = _find(current, lambda o: o is speaker) if speaker is not None else None
            if found is None:
                self._listen()
                return
        elif current is None:
            logging.getLogger("livekit.agents").addFilter(_filter)
            io.audio = self.output
            self._done()
            return
        else:
            found = find_room_output(current) or _find_ours(current)
        if found is None:
            log.error(
                "soundscape: one_track=True, but the session's audio output is %r, not "
                "RoomIO's: soundscape cannot take its place, so the scene plays on its own "
                "track and the voice where it was",
                current,
            )
            return
        if getattr(self.session, "agent_state", None) in BUSY_STATES:
            self._listen()  # after this speech: swapping now would cut it
            return
        above, old = found
        if above is None:
            io.audio = self.output
        elif hasattr(above, "set_next_in_chain"):
            above.set_next_in_chain(self.output)
        else:
            log.error("soundscape: one_track=True, but the chain above %r cannot be changed", old)
            return
        self._done()
        self._replaced = old
        if not isinstance(old, OneTrackOutput) and self.console is None:
            self._spawn(_retire(old, self.room))
        log.debug("soundscape: one track: the session's speech now goes through the scene")

    def _done(self) -> None:
        self.installed = True
        self._unlisten()

    def _listen(self) -> None:
        if not self._listening:
            self.session.on("agent_state_changed", self._on_state)
            self._listening = True

    def _unlisten(self) -> None:
        if self._listening:
            with contextlib.suppress(Exception):
                self.session.off("agent_state_changed", self._on_state)
            self._listening = False

    def _on_state(self, ev: Any) -> None:
        if getattr(ev, "new_state", None) not in BUSY_STATES:
            self.install()

    def _spawn(self, coro: Any) -> None:
        t = asyncio.ensure_future(coro)
        self._tasks.add(t)
        t.add_done_callback(self._tasks.discard)

    async def restore(self, *, track_name: str, options: rtc.TrackPublishOptions) -> None:
        """The scape stops but the session goes on: give the speech an output of RoomIO's own
        kind again (a track of its own), so the agent is never left without a voice."""
        self._unlisten()
        if not self.installed:
            return
        self.installed = False
        io: Any = getattr(self.session, "output", None)
        found = _find_ours(io.audio if io is not None else None, self.output)
        self.output.close()
        if found is None:
            return  # the session replaced its chain itself meanwhile
        if self.console is not None:  # the speaker's own output again
            _put(io, found[0], self._replaced)
            return
        from livekit.agents.voice.room_io._output import _ParticipantAudioOutput

        if self.room is None or not is_connected(self.room):
            return  # no room (the application feeds its own source), or it is gone
        new = _ParticipantAudioOutput(
            self.room,
            sample_rate=24000,
            num_channels=1,
            track_publish_options=options,
            track_name=track_name,
        )
        _put(io, found[0], new)
        self._restored = new
        # Publishing waits for a subscriber; the session's speech waits on the same future.
        self._spawn(new.start())
        self.session.on("close", self._close_restored)
        log.info("soundscape: one track: the scene stopped; the agent's voice has its own track")

    def _close_restored(self, *_: Any) -> None:
        new, self._restored = self._restored, None
        if new is not None:
            self._spawn(new.aclose())

    async def aclose(self) -> None:
        self._unlisten()
        for t in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(asyncio.shield(t), 2.0)


def _find(out: Any, match: Any) -> tuple[Any, Any] | None:
    """(the link above, the output) for the first output in the chain ``match`` accepts."""
    above = None
    while out is not None:
        if match(out):
            return above, out
        above, out = out, out.next_in_chain
    return None


def _find_ours(out: Any, ours: Any = None) -> tuple[Any, Any] | None:
    return _find(out, lambda o: isinstance(o, OneTrackOutput) and (ours is None or o is ours))


def _put(io: Any, above: Any, new: Any) -> None:
    """``new`` where ours was: the session's output itself, or below the proxy above it."""
    if above is None:
        io.audio = new
    else:
        above.set_next_in_chain(new)


async def _retire(old: Any, room: Any) -> None:
    """Take RoomIO's audio output out of service: its track unpublished, its source closed
    (each source ticks on a native thread: the cost one-track mode exists to save)."""
    if getattr(old, "_forwarding_task", True) is None:
        # RoomIO starts its output in a background task once a participant is there, often
        # after `session.start()` returned: started on a closed source, it would fail there
        # (an error logged, RoomIO never ready). Not started yet: it never will be.
        old.start = _started_elsewhere(old)
    else:
        # Its start is under way: publishing then waits for the first subscriber (there is
        # one: the start waited for a participant); closing the source under it would fail.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.shield(old.subscribed), 5.0)
    pub = getattr(old, "_publication", None)
    with contextlib.suppress(Exception):
        await asyncio.wait_for(old.aclose(), 2.0)
    if pub is None or room is None:
        return
    try:
        await asyncio.wait_for(room.local_participant.unpublish_track(pub.sid), 2.0)
    except Exception as e:  # the room may be going away meanwhile
        log.debug("soundscape: unpublishing RoomIO's audio track failed: %r", e)


def _started_elsewhere(old: Any) -> Any:
    """A ``start`` for RoomIO's retired output: no track to publish, subscribed at once
    (the session waits on it to arm its user-away timer)."""

    async def start(**_: Any) -> None:
        fut = getattr(old, "subscribed", None)
        if isinstance(fut, asyncio.Future) and not fut.done():
            fut.set_result(None)

    return start
