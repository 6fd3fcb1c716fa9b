"""Function tools for the LLM: one per trigger marked ``llm: true``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..scene.model import Scene


def trigger_tools(scene: Scene, fire: Callable[..., None]) -> list[Any]:
    """livekit-agents raw function tools; calling one fires ``trigger.NAME`` with its fields."""
    from livekit.agents import function_tool

    tools: list[Any] = []
    for name, trig in scene.triggers.items():
        if not trig.llm:
            continue
        schema = {
            "name": name.replace(".", "_").replace("-", "_"),
            "description": trig.description or f"Play the '{name}' sound.",
            "parameters": {
                "type": "object",
                "properties": {
                    k: {"type": "string", "description": d} for k, d in trig.fields.items()
                },
                "required": [],
                "additionalProperties": False,
            },
        }

        def make(trigger: str) -> Callable[..., Any]:
            async def call(raw_arguments: dict[str, object]) -> str:
                fields = {k: str(v) for k, v in raw_arguments.items() if v is not None}
                fire(trigger, **fields)
                return f"played {trigger}"

            return call

        tools.append(function_tool(make(name), raw_schema=schema))
    return tools
