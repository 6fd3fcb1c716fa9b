"""The job-start bench's agent: how fast a call's background starts, in a real job process.

    BENCH_SYSTEM=soundscape-prewarmed BENCH_SCENE=/tmp/x/scene.yaml BENCH_TONE=/tmp/x/tone.wav \
    BENCH_JOBS_DIR=/tmp/jobs LIVEKIT_URL=... python -m bench.agents.job_start_agent

A livekit-agents worker run as `start` runs it: a pool of ``BENCH_IDLE`` idle job processes,
each set up by ``setup_fnc`` before any call arrives. ``BENCH_SYSTEM`` is one of:

- ``none``: no background;
- ``bap``: `BackgroundAudioPlayer`, office ambience at 1.0 and the tone ``BENCH_TONE`` at
  ``BENCH_CUE_GAIN`` while thinking;
- ``soundscape-cold``: `soundscape.Soundscape(BENCH_SCENE)` in the job, no prewarm, and an empty
  clip cache of its own (``SOUNDSCAPE_CACHE_DIR`` set afresh per call);
- ``soundscape-prewarmed``: the same scene, `soundscape.prewarm(proc, scene)` in setup_fnc.

Each pooled process writes ``BENCH_JOBS_DIR/proc-<pid>.json`` once set up. Each job writes
``BENCH_JOBS_DIR/<room>.json``: when its entrypoint started and its background's `start()`
returned (``time.time()``, comparable with the caller's clock), `start()` alone
(perf_counter), and for each of ``BENCH_TURNS`` scripted turns the time from the session's
``thinking`` event to the first 10 ms frame of the background's `rtc.AudioSource` output in
which the cue is at least half its level (``thinking_ms``; None if it never came).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from livekit.agents import AgentServer, AgentSession, JobContext, JobProcess

# The bench's own scaffolding is imported with this module, in every pooled process before
# a call (so its first use is not blamed on the system under test): the scripted stand-ins,
# the tap, the detector. `soundscape` is a lazy package: this loads no runtime, scene or
# engine, so the cold configuration stays cold.
from bench.agents.capacity_agent import (
    _env,
    _no_load,
    _write,
    main,
    scripted_session,
    start_session,
)
from bench.lib.calls import tone_level
from soundscape.demo.caller import Recording, record_source
from soundscape.testing import Reply, ScriptedLLM

SYSTEMS = ("none", "bap", "soundscape-cold", "soundscape-prewarmed")
THINK = 0.6  # the scripted LLM's delay: the length of each `thinking` state
SPEAK_CHARS = 10  # ScriptedTTS: 0.05 s per character, so half a second of speech
PAUSE = 0.3  # listening between turns


def _jobs() -> Path:
    return Path(_env("BENCH_JOBS_DIR", tempfile.gettempdir()))


def _setup(proc: JobProcess) -> None:
    t0 = time.perf_counter()
    if _env("BENCH_SYSTEM", "none") == "soundscape-prewarmed":
        import soundscape

        soundscape.prewarm(proc, os.environ["BENCH_SCENE"])
    info = {"pid": os.getpid(), "ready": time.time(), "setup_ms": (time.perf_counter() - t0) * 1e3}
    _write(_jobs() / f"proc-{os.getpid()}.json", info)


def make_server() -> AgentServer:
    system = _env("BENCH_SYSTEM", "none")
    if system not in SYSTEMS:
        raise SystemExit(f"BENCH_SYSTEM is one of {', '.join(SYSTEMS)}, not {system!r}")
    server = AgentServer(
        load_threshold=float("inf"),
        load_fnc=_no_load,  # a busy shared machine must not make the worker refuse calls
        num_idle_processes=int(_env("BENCH_IDLE", "1")),
        host="127.0.0.1",
        port=0,
        setup_fnc=_setup,
    )
    server.rtc_session(entry)
    return server


class _Background:
    """The system under test: made before `session.start()`, started after it (the order
    of docs/runtime.md's example)."""

    def __init__(self, system: str, room: str) -> None:
        self.player: Any = None
        if system == "bap":
            from livekit.agents import AudioConfig, BackgroundAudioPlayer, BuiltinAudioClip

            gain = float(_env("BENCH_CUE_GAIN", "0.6"))
            self.player = BackgroundAudioPlayer(
                ambient_sound=AudioConfig(BuiltinAudioClip.OFFICE_AMBIENCE, volume=1.0),
                thinking_sound=AudioConfig(os.environ["BENCH_TONE"], volume=gain),
            )
        elif system.startswith("soundscape"):
            if system == "soundscape-cold":
                # Nothing decoded yet for this process: what the first call on a new machine
                # (or a container with no cache) pays.
                cache = _jobs() / f"cache-{room}"
                cache.mkdir(exist_ok=True)
                os.environ["SOUNDSCAPE_CACHE_DIR"] = str(cache)
            import soundscape

            self.player = soundscape.Soundscape(os.environ["BENCH_SCENE"])

    async def start(self, room: Any, session: AgentSession) -> float | None:
        """Start it; the seconds `start()` took."""
        if self.player is None:
            return None
        t0 = time.perf_counter()
        await self.player.start(room=room, agent_session=session)
        return time.perf_counter() - t0

    @property
    def source(self) -> Any:
        if self.player is None:
            return None
        return getattr(self.player, "audio_source", None) or self.player._audio_source

    async def aclose(self) -> None:
        if self.player is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.player.aclose(), timeout=3)


def onsets(
    frames: list[tuple[float, Any]], events: list[tuple[float, str]], level: float, freq: float
) -> list[float | None]:
    """For each ``thinking`` event: seconds until the first frame (arrival time) in which
    ``freq`` is at least half of ``level``, before the next state change (or 2 s)."""
    out: list[float | None] = []
    for k, (te, state) in enumerate(events):
        if state != "thinking":
            continue
        end = events[k + 1][0] if k + 1 < len(events) else te + 2.0
        hit = next(
            (t for t, x in frames if te <= t < end and tone_level(x, freq) >= 0.5 * level), None
        )
        out.append(None if hit is None else hit - te)
    return out


async def entry(ctx: JobContext) -> None:
    t_entry = time.time()
    system = _env("BENCH_SYSTEM", "none")
    room = ctx.job.room.name
    record: dict[str, Any] = {"room": room, "pid": os.getpid(), "system": system,
                              "entry": t_entry}  # fmt: skip
    path = _jobs() / f"{room}.json"
    _write(path, record)

    loop = asyncio.get_running_loop()
    llm = ScriptedLLM()
    session = scripted_session(llm)
    session.on("close", lambda _: ctx.shutdown())
    session.on("close", lambda _: record.setdefault("closed", time.time()))  # for the record
    events: list[tuple[float, str]] = []
    session.on("agent_state_changed", lambda ev: events.append((loop.time(), ev.new_state)))
    background = _Background(system, room)
    tap: asyncio.Future[None] | None = None

    async def _finish(reason: str) -> None:
        if tap is not None:
            tap.cancel()
        record.update(ended=time.time(), reason=reason)
        _write(path, record)
        await background.aclose()

    ctx.add_shutdown_callback(_finish)
    await start_session(session, ctx, "job-start")
    took = await background.start(ctx.room, session)
    record.update(started=time.time(), start_ms=None if took is None else took * 1e3)
    _write(path, record)
    rec = Recording("tap", "job", 48000)
    if background.source is not None:
        tap = asyncio.ensure_future(record_source(background.source, rec))
    await asyncio.sleep(PAUSE)  # the bed on its own first, as before a caller's first words
    turns = int(_env("BENCH_TURNS", "4"))
    for i in range(turns):
        llm.add(Reply(text="x" * SPEAK_CHARS, delay=THINK))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(session.generate_reply(user_input=f"turn {i}"), timeout=10)
        await asyncio.sleep(PAUSE)
    t0 = events[0][0] if events else loop.time()
    record["states"] = [(round(t - t0, 4), s) for t, s in events]
    if tap is not None:
        level = float(_env("BENCH_CUE_LEVEL", "0.3"))
        freq = float(_env("BENCH_CUE_HZ", "1000"))
        record["thinking_ms"] = [
            None if s is None else round(s * 1e3, 1)
            for s in onsets(rec.frames, events, level, freq)
        ]
        record["tap_s"] = round(rec.seconds, 2)
    record["done"] = time.time()
    _write(path, record)


if __name__ == "__main__":
    main(make_server)
