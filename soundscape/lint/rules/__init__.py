"""The registry of lint rules, one module each (see docs/lint-rules.md)."""

from __future__ import annotations

import importlib
import pkgutil

from ..rule import Rule


def _load() -> list[Rule]:
    rules = [
        Rule.from_module(importlib.import_module(f"{__name__}.{m.name}"))
        for m in pkgutil.iter_modules(__path__)
        if not m.name.startswith("_")
    ]
    return sorted(rules, key=lambda r: r.code)


ALL_RULES: list[Rule] = _load()
BY_CODE: dict[str, Rule] = {r.code: r for r in ALL_RULES}
BY_NAME: dict[str, Rule] = {r.name: r for r in ALL_RULES}
