"""The demo's scripted support call: what is said, by whom, and what comes back.

The caller asks where an order is (the agent looks it up with a tool that takes
`TOOL_SECONDS`), then asks for a person (the agent transfers: `HOLD_SECONDS` of hold music,
from the scene's ``transfer``/``resume`` triggers when it has them, else from ``play()``), and
is told goodbye. `live` plays it through a real server, `offline` renders it without one;
both return a `DemoResult`: what the caller heard, and when.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from ..offline.render import Rendered
from ..scene.model import Scene

RATE = 48000

GREETING = "Hello, thanks for calling Acme support. How can I help you today?"
QUESTION = "Where is my order? It should have arrived yesterday."
ANSWER = "I found it. Your order left our warehouse this morning and arrives tomorrow before noon."
ASK_PERSON = "Can I talk to a person about the delivery address?"
TRANSFER = "Of course. Please hold while I transfer you."
GOODBYE = "Thanks for holding. Your address is updated. Goodbye!"
SPOKEN = (GREETING, ANSWER, TRANSFER, GOODBYE)
USER_SAID = (QUESTION, ASK_PERSON)
TOOL_SECONDS = 2.0  # how long the order lookup "takes"
HOLD_SECONDS = 5.0
INTRO_SECONDS = 1.5  # the scene alone before the agent greets: the bed from the start


@dataclass
class Latency:
    """One state change: when its cause was posted, and when the caller could hear it."""

    state: str
    event: str | None
    at: float  # seconds on the recording's timeline, when audible at the caller
    engine: float  # event → audible at the soundscape track's source
    network: float | None  # source → caller (SFU, Opus, jitter buffer)

    @property
    def total(self) -> float | None:
        return None if self.network is None else self.engine + self.network


@dataclass
class DemoResult:
    """What the caller heard (``rendered.audio``), what happened when, and how quickly."""

    rendered: Rendered
    mode: str  # "live" or "offline"
    voice: str  # "espeak-ng" or "synthetic"
    server: str = ""
    latencies: list[Latency] = field(default_factory=list)
    network: float | None = None
    spoken: list[str] = field(default_factory=list)
    user_said: list[str] = field(default_factory=list)


def make_tts(voice: str | None = None, *, loudness: float = -20.0) -> tuple[Any, str]:
    """The agent's voice: espeak-ng when installed (or asked for), each line at ``loudness``
    LUFS (the scene's voice reference), else the synthetic tone."""
    from ..testing import ScriptedTTS
    from .espeak import EspeakTTS, espeak_binary

    if voice != "synthetic" and espeak_binary() is not None:
        return EspeakTTS(loudness=loudness), "espeak-ng"
    return ScriptedTTS(level=0.3), "synthetic"


async def prepare_voice(tts: Any) -> None:
    """Synthesize the script ahead (espeak-ng runs as a process; not on the event loop)."""
    if hasattr(tts, "prepare"):
        await asyncio.to_thread(tts.prepare, SPOKEN)


def transfer_mode(scene: Scene) -> str:
    """How the hold is heard: "trigger" (the scene's own transfer/resume) or "play"."""
    return "trigger" if {"transfer", "resume"} <= set(scene.triggers) else "play"


def llm_replies() -> list[Any]:
    """What the scripted LLM answers, turn by turn: a tool call, then the words after it."""
    from ..testing import Reply, ToolCall

    return [
        Reply(tools=(ToolCall("lookup_order", {"order": "A-1042"}),), delay=0.8),
        Reply(text=ANSWER, delay=0.4),
        Reply(tools=(ToolCall("transfer_call"),), delay=0.6),
        Reply(text=TRANSFER, delay=0.3),
    ]
