"""The rules a scene is checked by, one module each (see docs/lint-rules.md).

Loading runs the error-severity rules (`check.semantic_errors`); `soundscape lint` runs
them all. They live with the scene, not with the linter, so loading a scene never imports
the tool that prints findings."""

from __future__ import annotations

import importlib
import pkgutil
import re

from .rule import Rule


def _load() -> list[Rule]:
    rules = [
        Rule.from_module(importlib.import_module(f"{__name__}.{m.name}"))
        for m in pkgutil.iter_modules(__path__)
        if re.fullmatch(r"sc\d{3}_\w+", m.name)
    ]
    return sorted(rules, key=lambda r: r.code)


ALL_RULES: list[Rule] = _load()
BY_CODE: dict[str, Rule] = {r.code: r for r in ALL_RULES}
BY_NAME: dict[str, Rule] = {r.name: r for r in ALL_RULES}
