"""An STT that returns the next scripted transcript for each buffer it is asked to recognize."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from livekit.agents import stt
from livekit.agents.types import NOT_GIVEN, APIConnectOptions, NotGivenOr
from livekit.agents.utils import AudioBuffer


class ScriptedSTT(stt.STT):
    """Batch recognition only (pair it with a VAD, as the SDK requires for batch STT)."""

    def __init__(self, transcripts: Iterable[str] = (), *, language: str = "en") -> None:
        super().__init__(capabilities=stt.STTCapabilities(streaming=False, interim_results=False))
        self._script: deque[str] = deque(transcripts)
        self._language = language

    @property
    def model(self) -> str:
        return "scripted"

    @property
    def provider(self) -> str:
        return "soundscape.testing"

    def add(self, *transcripts: str) -> None:
        self._script.extend(transcripts)

    async def _recognize_impl(
        self,
        buffer: AudioBuffer,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions,
    ) -> stt.SpeechEvent:
        text = self._script.popleft() if self._script else ""
        return stt.SpeechEvent(
            type=stt.SpeechEventType.FINAL_TRANSCRIPT,
            alternatives=[stt.SpeechData(language=self._language, text=text)],  # type: ignore[arg-type]
        )
