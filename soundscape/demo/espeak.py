"""A real (robotic but intelligible) voice for the demo's scripted agent: espeak-ng, offline."""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Iterable

import numpy as np

from ..audio.loudness import clip_loudness
from ..testing import ScriptedTTS

log = logging.getLogger("soundscape")

ESPEAK_RATE = 22050  # what espeak-ng writes


def espeak_binary() -> str | None:
    """Path of espeak-ng (or espeak) if installed."""
    return shutil.which("espeak-ng") or shutil.which("espeak")


def _pcm_from_wav(data: bytes) -> np.ndarray:
    # espeak-ng writing to stdout cannot seek back to fill in the sizes, so the header's
    # lengths are bogus: take everything after the "data" chunk id and its size field.
    i = data.find(b"data", 12)
    if i < 0:
        return np.zeros(0, np.int16)
    body = data[i + 8 :]
    return np.frombuffer(body[: len(body) // 2 * 2], dtype="<i2").astype(np.int16)


def speak(text: str, *, voice: str = "en-us", words_per_minute: int = 165) -> np.ndarray:
    """``text`` spoken by espeak-ng as int16 mono at 22050 Hz (`RuntimeError` without it)."""
    exe = espeak_binary()
    if exe is None:
        raise RuntimeError("espeak-ng is not installed (apt-get install espeak-ng)")
    out = subprocess.run(
        [exe, "--stdout", "-v", voice, "-s", str(words_per_minute), text],
        capture_output=True,
        check=True,
        timeout=30,
    )
    return _pcm_from_wav(out.stdout)


class EspeakTTS(ScriptedTTS):
    """`ScriptedTTS` that speaks with espeak-ng instead of a buzzing tone."""

    def __init__(self, *, voice: str = "en-us", loudness: float = -20.0) -> None:
        super().__init__(sample_rate=ESPEAK_RATE)
        self.espeak_voice = voice
        self.loudness = loudness
        self._said: dict[str, np.ndarray] = {}

    def prepare(self, texts: Iterable[str]) -> None:
        """Synthesize ``texts`` now (blocking; run it in a thread), so speaking them later
        does not start a process on the event loop."""
        for text in texts:
            self._said[text] = self._speak(text)

    @property
    def model(self) -> str:
        return "espeak-ng"

    def voice(self, text: str) -> np.ndarray:
        said = self._said.get(text)
        return said if said is not None else self._speak(text)

    def _speak(self, text: str) -> np.ndarray:
        pcm = speak(text, voice=self.espeak_voice).astype(np.float32)
        if pcm.size == 0:
            return super().voice(text)
        # Each line at the scene's voice reference (-20 LUFS by default, the usual TTS level),
        # so the demo shows beds at the distance their `voice -N LU` levels promise; never
        # above 0.9 peak, so the voice itself does not clip.
        x = pcm / 32768.0
        lufs = clip_loudness(x[:, None], ESPEAK_RATE)
        peak = float(np.abs(x).max()) or 1.0
        gain = min(10.0 ** ((self.loudness - lufs) / 20.0) if lufs > -70 else 1.0, 0.9 / peak)
        return np.clip(x * gain * 32767.0, -32768, 32767).astype(np.int16)
