"""Sounds the LLM plays itself: a notification, and a thinking indicator for a while.

The soundscape take on livekit-agents' background_audio_advanced example, with
examples/scenes/assistant.yaml:

- the scene's `notify` trigger is marked ``llm: true``, so ``scape.llm_tools()`` hands the
  agent a ``notify`` function tool that plays the notification;
- ``start_thinking_sound(seconds)`` / ``stop_thinking_sound()`` are the agent's own tools:
  they loop the scene's ``thinking`` sound with ``scape.play()`` and stop the handle.

Run:

    python examples/advanced.py test     # check the audio setup, no room needed
    python examples/advanced.py dev      # a worker for your LiveKit server

See examples/README.md.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

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

SCENE = scene_path("examples/scenes/assistant.yaml")
THINKING = "thinking"  # the scene sound the indicator loops
NOTIFY = "notify"  # the scene trigger the LLM fires
MAX_THINKING = 30.0  # seconds: the LLM cannot leave the indicator on forever


class Assistant(Agent):
    def __init__(self, scape: soundscape.Soundscape) -> None:
        super().__init__(
            instructions=(
                "You are a helpful assistant. Call notify to get the caller's attention. "
                "Before a long think, call start_thinking_sound; stop it when you are done."
            ),
            tools=scape.llm_tools(),  # `notify`, from the scene's triggers
        )
        self.scape = scape
        self.thinking: soundscape.PlayHandle | None = None
        self._timer: asyncio.TimerHandle | None = None

    @function_tool
    async def start_thinking_sound(self, seconds: float) -> str:
        """Play a soft thinking sound so the caller knows you are working on it.

        Args:
            seconds: How long to play it at most; it also stops when you call
                stop_thinking_sound.
        """
        seconds = min(max(float(seconds), 0.5), MAX_THINKING)
        self._stop()
        self.thinking = self.scape.play(THINKING, loop=True, fade_in=0.2, fade_out=0.4)
        self._timer = asyncio.get_running_loop().call_later(seconds, self._stop)
        return f"The thinking sound plays for up to {seconds:g} seconds."

    @function_tool
    async def stop_thinking_sound(self) -> str:
        """Stop the thinking sound."""
        was_on = self.thinking is not None and not self.thinking.done()
        self._stop()
        return "Stopped the thinking sound." if was_on else "No thinking sound was playing."

    def _stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.thinking is not None:
            self.thinking.stop()
            self.thinking = None


def prewarm(proc: JobProcess) -> None:
    soundscape.prewarm(proc, SCENE)


server = AgentServer(setup_fnc=prewarm)

SCRIPT = [
    Reply(tools=(ToolCall(NOTIFY),)),
    Reply(text="Done."),
    Reply(tools=(ToolCall("start_thinking_sound", {"seconds": 20}),)),
    Reply(text="Let me think."),
    Reply(tools=(ToolCall("stop_thinking_sound"),)),
    Reply(text="Stopped."),
]


@server.rtc_session()
async def entrypoint(ctx: JobContext) -> None:
    session, scripted = make_session(SCRIPT)
    # The caller hung up (RoomIO closes the session): end the job, or it idles ~20 s.
    session.on("close", lambda _: ctx.shutdown())
    scape = soundscape.Soundscape(SCENE)
    await session.start(agent=Assistant(scape), room=ctx.room, room_options=room_options(scripted))
    await scape.start(room=ctx.room, agent_session=session)  # closes itself with the session
    await converse(
        ctx,
        session,
        scripted,
        "Hi! How can I help?",
        ["Ping me, please.", "Think about it for a while.", "Never mind, stop."],
    )


# --------------------------------------------------------------------------- `test`


def check_audio(path: str) -> int:
    """``python examples/advanced.py test``: load and lint the scene, decode its clips,
    render a second of it offline, and check what this example needs is there."""
    import numpy as np

    from soundscape.audio.analysis import peak_dbfs, rms_dbfs
    from soundscape.engine import Engine, compile_scene
    from soundscape.lint import lint_file

    rate = 48000
    print(f"scene: {path}")
    try:
        scape = soundscape.Soundscape(path)
    except soundscape.SoundscapeError as e:  # SceneError/AssetError: file:line and a hint
        print(f"FAIL: the scene does not load:\n{e}")
        return 1
    except OSError as e:
        print(f"FAIL: cannot read the scene: {e}")
        return 1
    scene = scape.scene
    problems = [str(d) for d in lint_file(Path(path)) if d.severity in ("error", "warning")]
    if THINKING not in scene.sounds:
        problems.append(f"{path}: no sound {THINKING!r} for the thinking indicator")
    if NOTIFY not in scene.triggers or not scene.triggers[NOTIFY].llm:
        problems.append(f"{path}: no trigger {NOTIFY!r} with `llm: true`")
    try:
        plan = compile_scene(scene, rate, 1)
    except soundscape.SoundscapeError as e:
        print(f"FAIL: a clip does not decode:\n{e}")
        return 1
    for name, snd in plan.sounds.items():
        secs = ", ".join(f"{len(v.samples) / rate:.2f} s" for v in snd.variants)
        label = snd.variants[0].source if name.startswith("source:") else name
        print(f"  sound {label}: {secs}")
    engine = Engine(plan, seed=1)
    engine.post("agent.listening", at=0)
    if NOTIFY in scene.triggers:
        engine.post(f"trigger.{NOTIFY}", at=rate // 4)
    if THINKING in plan.sounds:
        engine.play(THINKING, loop=True, at=rate // 2)
    audio = engine.render(rate)
    peak, level = peak_dbfs(audio), rms_dbfs(audio)
    print(f"  rendered 1.0 s: peak {peak:.1f} dBFS, rms {level:.1f} dBFS")
    if not np.isfinite(level) or level < -90:
        problems.append(f"{path}: the first second is silent")
    if peak > -1.0:
        problems.append(f"{path}: peaks at {peak:.1f} dBFS; leave headroom")
    for p in problems:
        print(f"  {p}")
    print(f"FAIL: {len(problems)} problem(s)" if problems else "OK: the audio configuration works")
    return 1 if problems else 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["test"]:
        sys.exit(check_audio(sys.argv[2] if len(sys.argv) > 2 else SCENE))
    check_console_audio()
    cli.run_app(server)
