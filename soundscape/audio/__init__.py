"""Audio assets: decoding any format PyAV reads into float32 at the engine rate, cached.

Names are imported on first use, so that `soundscape.audio.identity` (no numpy, no PyAV) can
be imported on its own by code that starts quickly, such as `soundscape lint`.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .clips import Clip, clear_memory_cache, load_clip
    from .decode import Limits, decode_file
    from .identity import cache_root

__all__ = ["Clip", "Limits", "cache_root", "clear_memory_cache", "decode_file", "load_clip"]

_WHERE = {
    "Clip": ".clips",
    "clear_memory_cache": ".clips",
    "load_clip": ".clips",
    "Limits": ".decode",
    "decode_file": ".decode",
    "cache_root": ".identity",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        value = getattr(import_module(_WHERE[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
