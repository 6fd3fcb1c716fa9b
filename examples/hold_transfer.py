"""Hold music while the call is transferred to a person.

scenes/hold.yaml plays the office bed; its `transfer` trigger fades the bed out and starts
hold music, `resume` brings the caller back. The agent's `transfer_to_person` tool fires
`transfer`, hands the call over, and fires `resume` when the colleague picks up. Run:

    python examples/hold_transfer.py dev

See examples/README.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import os

from _common import (
    check_console_audio,
    converse,
    make_session,
    room_options,
    scene_path,
)
from livekit.agents import Agent, AgentServer, JobContext, JobProcess, cli, function_tool

import soundscape
from soundscape.testing import Reply, ToolCall

SCENE = scene_path("scenes/hold.yaml")
# How long the simulated colleague takes to pick up.
PICKUP_SECONDS = float(os.environ.get("HOLD_SECONDS", "6"))


class Receptionist(Agent):
    def __init__(self, scape: soundscape.Soundscape) -> None:
        super().__init__(
            instructions="You are a receptionist. When the caller asks for a person, transfer them."
        )
        self.scape = scape
        self._transfer: asyncio.Task[None] | None = None

    @function_tool
    async def transfer_to_person(self, department: str) -> str:
        """Transfer the caller to a person; they hear hold music until someone picks up.

        Args:
            department: Who to transfer to, e.g. "sales" or "support".
        """
        self.scape.trigger("transfer")  # the bed fades out, hold music starts
        self._transfer = asyncio.ensure_future(self._hand_over(department))
        return f"The caller is on hold for {department}. Tell them briefly."

    async def _hand_over(self, department: str) -> None:
        # A real agent would transfer here (e.g. ctx.transfer_sip_participant, or invite a
        # human into the room) and resume once they answer; this one waits a moment.
        await asyncio.sleep(PICKUP_SECONDS)
        if not self.scape.running:  # the caller hung up while on hold
            return
        self.scape.trigger("resume")
        with contextlib.suppress(RuntimeError):  # ... or just now: the session is closing
            await self.session.say(f"Thanks for holding. You're through to {department} now.")


def prewarm(proc: JobProcess) -> None:
    soundscape.prewarm(proc, SCENE)


server = AgentServer(setup_fnc=prewarm)

SCRIPT = [
    Reply(tools=(ToolCall("transfer_to_person", {"department": "sales"}),)),
    Reply(text="Please hold while I transfer you to sales."),
]


@server.rtc_session()
async def entrypoint(ctx: JobContext) -> None:
    session, scripted = make_session(SCRIPT)
    # The caller hung up (RoomIO closes the session): end the job, or it idles ~20 s.
    session.on("close", lambda _: ctx.shutdown())
    scape = soundscape.Soundscape(SCENE)
    await session.start(
        agent=Receptionist(scape), room=ctx.room, room_options=room_options(scripted)
    )
    await scape.start(room=ctx.room, agent_session=session)
    await converse(
        ctx, session, scripted, "Hello, Acme reception.", ["Can I talk to someone in sales?"]
    )


if __name__ == "__main__":
    check_console_audio()
    cli.run_app(server)
