"""Audio assets: decoding any format PyAV reads into float32 at the engine rate."""

from .decode import Clip, Limits, decode_file, load_clip

__all__ = ["Clip", "Limits", "decode_file", "load_clip"]
