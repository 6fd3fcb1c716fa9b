"""Writing WAV files: 32-bit float (exact engine output) or 16-bit PCM."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Literal

import numpy as np

SampleFormat = Literal["float32", "int16"]


def write_wav(path: Path, audio: np.ndarray, rate: int, fmt: SampleFormat = "float32") -> None:
    """Write (frames, channels) float audio; int16 rounds to nearest and clips at full scale."""
    audio = audio.reshape(audio.shape[0], -1)
    channels = audio.shape[1]
    if fmt == "float32":
        data = np.ascontiguousarray(audio, dtype="<f4").tobytes()
        tag, bits = 3, 32  # WAVE_FORMAT_IEEE_FLOAT
    else:
        pcm = np.clip(np.rint(audio * 32767.0), -32768, 32767).astype("<i2")
        data = pcm.tobytes()
        tag, bits = 1, 16
    block = channels * bits // 8
    fmt_chunk = struct.pack("<HHIIHH", tag, channels, rate, rate * block, block, bits)
    extra = b""
    if tag == 3:  # non-PCM formats carry a cbSize and a fact chunk
        fmt_chunk += struct.pack("<H", 0)
        extra = b"fact" + struct.pack("<II", 4, audio.shape[0])
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt_chunk)) + fmt_chunk + extra
    body += b"data" + struct.pack("<I", len(data)) + data
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
