"""Each function tool sounds different, from the scene alone: no audio code in the tools.

examples/scenes/tool-sounds.yaml maps `tool.started`/`tool.ended` events, guarded on the
tool's name, to sounds: typing while `lookup_order` or `check_stock` runs and a success
sound when it returns, a notification when `send_email` goes out, ordinary thinking for
anything else (`get_time`). Run:

    python examples/tool_sounds.py dev

See examples/README.md.
"""

from __future__ import annotations

import asyncio
import time

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

SCENE = scene_path("examples/scenes/tool-sounds.yaml")


class ShopAgent(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="You help customers of a small shop with their orders.")

    @function_tool
    async def lookup_order(self, order: str) -> str:
        """Look up an order's delivery status.

        Args:
            order: The order number.
        """
        await asyncio.sleep(2.0)  # a slow backend
        return f"Order {order} ships tomorrow."

    @function_tool
    async def check_stock(self, item: str) -> str:
        """Check whether an item is in stock.

        Args:
            item: The item's name.
        """
        await asyncio.sleep(1.5)
        return f"{item} is in stock."

    @function_tool
    async def send_email(self, subject: str) -> str:
        """Email the customer.

        Args:
            subject: The email's subject.
        """
        await asyncio.sleep(0.3)
        return f"Sent {subject!r}."

    @function_tool
    async def get_time(self) -> str:
        """The current time."""
        await asyncio.sleep(1.0)
        return time.strftime("%H:%M")


def prewarm(proc: JobProcess) -> None:
    soundscape.prewarm(proc, SCENE)


server = AgentServer(setup_fnc=prewarm)

SCRIPT = [
    Reply(tools=(ToolCall("get_time"),)),
    Reply(text="Just after noon."),
    Reply(tools=(ToolCall("lookup_order", {"order": "A-1042"}),)),
    Reply(text="Your order ships tomorrow."),
    Reply(tools=(ToolCall("send_email", {"subject": "Your receipt"}),)),
    Reply(text="Receipt sent."),
]


@server.rtc_session()
async def entrypoint(ctx: JobContext) -> None:
    session, scripted = make_session(SCRIPT)
    # The caller hung up (RoomIO closes the session): end the job, or it idles ~20 s.
    session.on("close", lambda _: ctx.shutdown())
    scape = soundscape.Soundscape(SCENE)
    await session.start(agent=ShopAgent(), room=ctx.room, room_options=room_options(scripted))
    await scape.start(room=ctx.room, agent_session=session)
    await converse(
        ctx,
        session,
        scripted,
        "Welcome!",
        ["What time is it?", "Where is my order A-1042?", "Email me the receipt."],
    )


if __name__ == "__main__":
    check_console_audio()
    cli.run_app(server)
