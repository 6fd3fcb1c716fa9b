"""Audio assets: decoding any format PyAV reads into float32 at the engine rate, cached.

Names are imported on first use, so that `soundscape.audio.identity` (no numpy, no PyAV) can
be imported on its own by code that starts quickly, such as `soundscape lint`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_attributes, lazy_dir

if TYPE_CHECKING:
    from .clips import Clip, clear_memory_cache, load_clip
    from .decode import Limits, decode_file
    from .identity import cache_root

__all__ = ["Clip", "Limits", "cache_root", "clear_memory_cache", "decode_file", "load_clip"]

_LAZY = {
    "Clip": ".clips",
    "clear_memory_cache": ".clips",
    "load_clip": ".clips",
    "Limits": ".decode",
    "decode_file": ".decode",
    "cache_root": ".identity",
}
__getattr__ = lazy_attributes(__name__, _LAZY)
__dir__ = lazy_dir(__name__, _LAZY)
