"""Package attributes imported on first use (PEP 562), so a light import stays light."""

from __future__ import annotations

import sys
from collections.abc import Callable
from importlib import import_module
from typing import Any


def lazy_attributes(package: str, where: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` that imports ``name`` from ``where[name]``
    (a module relative to the package, e.g. ``".runtime"``) the first time it is asked for."""

    def __getattr__(name: str) -> Any:
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(where[name], package), name)
        setattr(sys.modules[package], name, value)  # next time: a plain attribute
        return value

    return __getattr__


def lazy_dir(package: str, where: dict[str, str]) -> Callable[[], list[str]]:
    """A module ``__dir__`` for ``package``: its globals, ``__all__`` and the lazy names of
    ``where`` — so ``dir()`` and tab completion list names not imported yet, without
    importing them."""

    def __dir__() -> list[str]:
        mod = sys.modules[package]
        return sorted({*vars(mod), *getattr(mod, "__all__", ()), *where})

    return __dir__
