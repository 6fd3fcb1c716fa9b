"""An LLM that answers from a script: text replies and tool calls, after a set delay."""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from livekit.agents import llm
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, APIConnectOptions
from livekit.agents.utils import shortuuid


@dataclass(frozen=True)
class ToolCall:
    """Ask the agent to run function tool ``name`` with ``arguments``."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Reply:
    """One LLM turn: think for ``delay`` seconds, then call ``tools`` or say ``text``."""

    text: str = ""
    tools: tuple[ToolCall, ...] = ()
    delay: float = 0.3


class ScriptedLLM(llm.LLM):
    """Each `chat()` call consumes the next `Reply`; when the script runs out it says ``fallback``."""

    def __init__(self, replies: Iterable[Reply | str] = (), *, fallback: str = "Okay.") -> None:
        super().__init__()
        self._replies: deque[Reply] = deque(
            r if isinstance(r, Reply) else Reply(text=r) for r in replies
        )
        self._fallback = fallback
        self.requests: list[llm.ChatContext] = []

    @property
    def model(self) -> str:
        return "scripted"

    @property
    def provider(self) -> str:
        return "soundscape.testing"

    def add(self, *replies: Reply | str) -> None:
        """Append replies to the script."""
        self._replies.extend(r if isinstance(r, Reply) else Reply(text=r) for r in replies)

    def chat(
        self,
        *,
        chat_ctx: llm.ChatContext,
        tools: list[llm.Tool] | None = None,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
        parallel_tool_calls: Any = NOT_GIVEN,
        tool_choice: Any = NOT_GIVEN,
        extra_kwargs: Any = NOT_GIVEN,
    ) -> llm.LLMStream:
        self.requests.append(chat_ctx)
        reply = self._replies.popleft() if self._replies else Reply(text=self._fallback)
        return _ScriptedStream(
            self, reply, chat_ctx=chat_ctx, tools=tools or [], conn_options=conn_options
        )


class _ScriptedStream(llm.LLMStream):
    def __init__(self, owner: ScriptedLLM, reply: Reply, **kwargs: Any) -> None:
        super().__init__(owner, **kwargs)
        self._reply = reply

    async def _run(self) -> None:
        await asyncio.sleep(self._reply.delay)
        rid = shortuuid("scripted_")
        if self._reply.tools:
            calls = [
                llm.FunctionToolCall(
                    name=t.name, arguments=json.dumps(t.arguments), call_id=shortuuid("call_")
                )
                for t in self._reply.tools
            ]
            self._event_ch.send_nowait(
                llm.ChatChunk(id=rid, delta=llm.ChoiceDelta(role="assistant", tool_calls=calls))
            )
        # Stream the words a few at a time, like a real model does.
        words = self._reply.text.split(" ") if self._reply.text else []
        for i in range(0, len(words), 3):
            piece = " ".join(words[i : i + 3]) + (" " if i + 3 < len(words) else "")
            self._event_ch.send_nowait(
                llm.ChatChunk(id=rid, delta=llm.ChoiceDelta(role="assistant", content=piece))
            )
            await asyncio.sleep(0)
