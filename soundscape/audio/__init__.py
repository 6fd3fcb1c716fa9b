"""Audio assets: decoding any format PyAV reads into float32 at the engine rate, cached."""

from .cache import cache_root
from .clips import Clip, clear_memory_cache, load_clip
from .decode import Limits, decode_file

__all__ = ["Clip", "Limits", "cache_root", "clear_memory_cache", "decode_file", "load_clip"]
