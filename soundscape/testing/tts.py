"""A TTS that 'speaks' a clearly synthetic voice: a buzzy tone whose length follows the text."""

from __future__ import annotations

import numpy as np
from livekit.agents import tts
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, APIConnectOptions
from livekit.agents.utils import shortuuid


class ScriptedTTS(tts.TTS):
    """``seconds_per_char`` sets how long speech lasts; ``freq`` the pitch of the voice tone."""

    def __init__(
        self,
        *,
        sample_rate: int = 24000,
        seconds_per_char: float = 0.05,
        min_seconds: float = 0.4,
        freq: float = 180.0,
        level: float = 0.2,
    ) -> None:
        super().__init__(
            capabilities=tts.TTSCapabilities(streaming=False),
            sample_rate=sample_rate,
            num_channels=1,
        )
        self.seconds_per_char = seconds_per_char
        self.min_seconds = min_seconds
        self.freq = freq
        self.level = level
        self.spoken: list[str] = []

    @property
    def model(self) -> str:
        return "scripted"

    @property
    def provider(self) -> str:
        return "soundscape.testing"

    def synthesize(
        self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> tts.ChunkedStream:
        self.spoken.append(text)
        return _Chunked(tts=self, input_text=text, conn_options=conn_options)

    def voice(self, text: str) -> np.ndarray:
        """The int16 samples spoken for ``text``."""
        rate = self.sample_rate
        n = int(max(self.min_seconds, len(text) * self.seconds_per_char) * rate)
        t = np.arange(n) / rate
        # A pulse train at syllable rate over a harmonic tone: obviously not a human.
        env = 0.55 + 0.45 * np.sin(2 * np.pi * 4.0 * t)
        tone = np.sin(2 * np.pi * self.freq * t) + 0.4 * np.sin(2 * np.pi * 2 * self.freq * t)
        edge = np.minimum(1.0, np.minimum(t, t[-1] - t) / 0.01)
        return (self.level * 32767 / 1.4 * tone * env * edge).astype(np.int16)


class _Chunked(tts.ChunkedStream):
    async def _run(self, output_emitter: tts.AudioEmitter) -> None:
        owner = self._tts
        assert isinstance(owner, ScriptedTTS)
        output_emitter.initialize(
            request_id=shortuuid("tts_"),
            sample_rate=owner.sample_rate,
            num_channels=1,
            mime_type="audio/pcm",
        )
        output_emitter.push(owner.voice(self._input_text).tobytes())
        output_emitter.flush()
