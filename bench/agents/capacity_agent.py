"""The capacity bench's agent: a real livekit-agents worker, one job process per call.

    BENCH_SYSTEM=soundscape LIVEKIT_URL=ws://127.0.0.1:7880 LIVEKIT_API_KEY=... \
    LIVEKIT_API_SECRET=... BENCH_JOBS_DIR=/tmp/jobs python -m bench.agents.capacity_agent

Each job joins its room, starts a real `AgentSession` on soundscape's scripted stand-ins
(`ScriptedLLM` thinks for `THINK` s, `ScriptedTTS` speaks a 180 Hz buzz for about `SPEAK` s,
then it listens for `REST` s, over and over) and plays the background chosen by
``BENCH_SYSTEM``:

- ``none``: no background, the voice track only;
- ``bap``: livekit-agents' `BackgroundAudioPlayer`, office ambience at 0.3 and keyboard
  typing at 0.6 while thinking (its basic example, at scenes/office.yaml's levels);
- ``soundscape``: `Soundscape` with scenes/office.yaml, on a track of its own;
- ``soundscape-one-track``: the same scene in one-track mode (``start(..., one_track=True)``,
  issue 15): soundscape becomes the session's audio output, and the voice and the scene
  leave on one track named as RoomIO's (``roomio_audio``); RoomIO's own is unpublished;
- ``fed-voice-track``: no background player, but the voice track (RoomIO's own, 24 kHz) kept
  fed between turns with 150 ms frames of faint noise (-50 dBFS): the plainest way to keep
  audio on the agent's one track all the time (the capture calls, the native resampler and
  encoder, the packets that `none`'s track does without between turns), with no engine;
- ``tones``: `Soundscape` with a one-layer scene of a pure tone whose frequency comes from
  the room name (`tone_for`), so a caller can tell its own call from anyone else's.

When the caller leaves, the session closes (RoomOptions' ``close_on_disconnect``) and the
job calls ``ctx.shutdown()``, so its process exits. Each job writes ``BENCH_JOBS_DIR/<room>
.json`` when it starts (its pid, the worker's label) and again when it ends.

Worker options come from the environment: ``BENCH_LOAD_THRESHOLD`` (default ``inf``: never
refuse a job), ``BENCH_IDLE`` (``num_idle_processes``, default 2), ``BENCH_MEM_WARN_MB``
(``job_memory_warn_mb``, default 500), ``BENCH_LOAD`` (``default``: livekit-agents' own
load function, the machine's CPU; ``own``: `OwnLoad`; ``zero``: always 0, so that
LiveKit's dispatcher never passes the worker over either), ``BENCH_WORKER_LABEL``, ``BENCH_MAX_S`` (the worker stops after this long, or as soon as
the process that started it is gone). The worker writes
``BENCH_JOBS_DIR/worker-<label>.ready`` (pid, health port) once it has registered.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import tempfile
import time
import wave
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from livekit.agents import Agent, AgentServer, AgentSession, JobContext, JobProcess, room_io

ROOT = Path(__file__).resolve().parent.parent.parent
SYSTEMS = ("none", "bap", "soundscape", "soundscape-one-track", "fed-voice-track", "tones")
SCAPES = ("soundscape", "soundscape-one-track", "tones")
THINK, SPEAK, REST = 1.2, 1.6, 1.2  # one conversation cycle: about 4 s
VOICE_HZ = 180.0  # ScriptedTTS's default pitch
TONES = tuple(600.0 + 150.0 * k for k in range(8))  # well clear of the voice's 180/360 Hz
TONE_AMP = 0.5
TONE_GAIN = 0.4
TRACKS = {"bap": "background_audio", "soundscape": "soundscape", "tones": "soundscape",
          "soundscape-one-track": "roomio_audio"}  # fmt: skip
VOICE_TRACK = "roomio_audio"

log = logging.getLogger("soundscape")


def tone_for(room: str) -> float:
    """The tone a ``tones`` job plays in ``room``: chosen from the room name, so the caller
    (who made the name) knows which frequency is its own. ``name-K`` takes tone K."""
    tail = room.rsplit("-", 1)[-1]
    k = int(tail) if tail.isdigit() else zlib.crc32(room.encode())
    return TONES[k % len(TONES)]


def _env(name: str, default: str) -> str:
    return os.environ.get(name) or default


def _write(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    tmp.replace(path)  # readers never see half a file


def _tone_scene(d: Path, freq: float) -> Path:
    t = np.arange(48000) / 48000  # 1 s of whole periods (freq is a multiple of 1 Hz): no seam
    pcm = (TONE_AMP * np.sin(2 * np.pi * freq * t) * 32767).astype("<i2")
    with wave.open(str(d / "tone.wav"), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(48000)
        w.writeframes(pcm.tobytes())
    scene = d / "tone.yaml"
    scene.write_text(
        # levels: file: the tone plays at its own level, which the caller's check expects.
        "version: 1\nname: tone\nlevels: file\nsounds:\n  tone: tone.wav\n"
        f"layers:\n  tone: {{sound: tone, gain: {TONE_GAIN}}}\n"
        "states:\n  idle:\n  listening:\n  thinking:\n  speaking:\n"
    )
    return scene


class _Meter:
    """bench/lib/meter.py's queue model on the background's AudioSource, plus when each
    underrun happened and how long it lasted (for the caller's measuring window)."""

    def __init__(self, source: Any) -> None:
        from bench.lib.meter import TOLERANCE, Meter

        self.meter = Meter(source)
        self.gaps: list[tuple[float, float]] = []
        push = self.meter._on_push

        def on_push(n: int, now: float) -> None:
            m = self.meter
            if m._t is not None and (gap := now - (m._t + m._level / m.rate)) > TOLERANCE:
                self.gaps.append((round(now, 3), round(gap, 3)))
            push(n, now)

        self.meter._on_push = on_push  # type: ignore[method-assign]

    def sample(self) -> list[float]:
        s = self.meter.snapshot()
        return [round(time.monotonic(), 3), s["delivered"], s["underruns"]]


class _Background:
    """The system under test, started on the job's room and session, its source metered."""

    def __init__(self, system: str, room_name: str, office: Any = None) -> None:
        self.system = system
        self.player: Any = None
        self.meter: _Meter | None = None
        self._source: Any = None
        self._feeder: asyncio.Future[None] | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if system == "bap":
            from livekit.agents import AudioConfig, BackgroundAudioPlayer, BuiltinAudioClip

            self.player = BackgroundAudioPlayer(
                ambient_sound=AudioConfig(BuiltinAudioClip.OFFICE_AMBIENCE, volume=0.3),
                thinking_sound=AudioConfig(BuiltinAudioClip.KEYBOARD_TYPING, volume=0.6),
            )
            self.meter = _Meter(self.player._audio_source)
        elif system in SCAPES:
            from soundscape.runtime import Soundscape, make_audio_source

            if system == "tones":
                self._tmp = tempfile.TemporaryDirectory(prefix="bench-tone-")
                scene = _tone_scene(Path(self._tmp.name), tone_for(room_name))
            else:
                scene = office or ROOT / "scenes" / "office.yaml"
            self.player = Soundscape(scene, seed=zlib.crc32(room_name.encode()))
            o = self.player.options
            # The queue Soundscape would size for a source of its own (as bench/lib/systems.py).
            self._source = make_audio_source(48000, 1, int((o.ahead + 2 * o.frame) * 1000) + 50)
            self.meter = _Meter(self._source)

    async def start(self, room: Any, session: AgentSession) -> None:
        if self.system == "fed-voice-track":
            from soundscape.runtime.voice_output import find_room_output

            found = find_room_output(session.output.audio)
            if found is None:
                raise RuntimeError("fed-voice-track: the session has no RoomIO audio output")
            self._feeder = asyncio.ensure_future(_keep_fed(found[1]._audio_source, session))
        elif self.system == "bap":
            await self.player.start(room=room, agent_session=session)
        elif self.player is not None:
            await self.player.start(
                room=room, agent_session=session, audio_source=self._source,
                one_track=self.system == "soundscape-one-track",
            )  # fmt: skip

    def metrics(self) -> dict[str, Any]:
        m = getattr(self.player, "metrics", None)  # BackgroundAudioPlayer has none
        if m is None:
            return {}
        out = {"underruns": m.underruns, "rewinds": m.rewinds}
        d = getattr(self.player, "_driver", None)
        if d is not None:  # one-track: each voice arrival re-pushes the queue (a remix)
            out["remixes"] = d.metrics.remixes
            out["unspliced"] = d.metrics.kept  # reactions that changed nothing heard
            out["captures"] = d.metrics.captures
        return out

    async def aclose(self) -> None:
        if self._feeder is not None:
            self._feeder.cancel()
        if self.player is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.player.aclose(), timeout=3)
        if self._tmp is not None:
            self._tmp.cleanup()


async def _keep_fed(source: Any, session: AgentSession) -> None:
    """Keep ``source`` (RoomIO's) at least 40 ms queued with faint noise, 150 ms a capture
    (its queue holds 200 ms), while the agent is not speaking: between turns its track
    carries audio, as one track with a scene on it does. Not while it speaks: RoomIO's end of
    speech waits for that queue to drain (and the voice keeps the track fed meanwhile)."""
    from livekit import rtc

    n = source.sample_rate * 15 // 100
    rng = np.random.default_rng(0)
    pcm = np.clip(rng.standard_normal(n * source.num_channels) * 100, -32768, 32767)
    frame = rtc.AudioFrame(
        pcm.astype(np.int16).tobytes(), source.sample_rate, source.num_channels, n
    )
    while True:
        if session.agent_state == "speaking":
            await asyncio.sleep(0.1)
        elif (queued := source.queued_duration) < 0.04:
            await source.capture_frame(frame)
        else:
            await asyncio.sleep(max(queued - 0.04, 0.005))


def _prewarm(proc: JobProcess) -> None:
    # What a worker serving many calls loads once per process, before a call arrives.
    if os.environ.get("BENCH_SYSTEM") in ("soundscape", "soundscape-one-track"):
        from soundscape.scene import load

        proc.userdata["office"] = load(ROOT / "scenes" / "office.yaml")


class OwnLoad:
    """A `load_fnc` reporting the CPU of this worker's own process tree (the worker, its
    forkserver, every job process) as a share of the machine's cores, averaged over the
    last 2.5 s like livekit-agents' default. The default measures the whole machine's CPU,
    which is right when a worker has a machine to itself; two workers sharing one machine
    would both report the same figure, and LiveKit could not tell the busy one."""

    def __init__(self) -> None:
        self.samples: list[tuple[float, float]] = []

    def __call__(self) -> float:
        from bench.lib.calls import cpu_seconds, descendants

        me = os.getpid()
        now = time.monotonic()
        cpu = sum(c for p in [me, *descendants(me)] if (c := cpu_seconds(p)) is not None)
        self.samples = [*self.samples[-5:], (now, cpu)]
        (t0, c0), (t1, c1) = self.samples[0], self.samples[-1]
        if t1 - t0 <= 0:
            return 0.0
        # A job process that exited takes its CPU time with it: never below zero.
        return min(max((c1 - c0) / (t1 - t0) / (os.cpu_count() or 1), 0.0), 1.0)


def _no_load() -> float:
    return 0.0


# None: livekit-agents' default (the machine's CPU use, 0..1).
LOAD_FNCS: dict[str, Any] = {"default": None, "own": OwnLoad(), "zero": _no_load}


def make_server() -> AgentServer:
    system = _env("BENCH_SYSTEM", "soundscape")
    if system not in SYSTEMS:
        raise SystemExit(f"BENCH_SYSTEM is one of {', '.join(SYSTEMS)}, not {system!r}")
    server = AgentServer(
        load_threshold=float(_env("BENCH_LOAD_THRESHOLD", "inf")),
        num_idle_processes=int(_env("BENCH_IDLE", "2")),
        job_memory_warn_mb=float(_env("BENCH_MEM_WARN_MB", "500")),
        host="127.0.0.1",
        port=0,  # a free port for the health endpoint: two workers on one machine
        setup_fnc=_prewarm,
        load_fnc=LOAD_FNCS[_env("BENCH_LOAD", "default")],
        # Imported once in the forkserver and shared copy-on-write by every job process.
        preload_modules=["numpy", "soundscape.runtime"] if system in SCAPES else [],
    )
    server.rtc_session(entry, agent_name=_env("BENCH_AGENT_NAME", ""))
    return server


def scripted_session(llm: Any) -> AgentSession:
    """An AgentSession on soundscape's scripted stand-ins: ``llm`` answers, a 180 Hz buzz speaks."""
    from soundscape.testing import ScriptedSTT, ScriptedTTS

    return AgentSession(llm=llm, tts=ScriptedTTS(freq=VOICE_HZ), stt=ScriptedSTT())


async def start_session(session: AgentSession, ctx: JobContext, bench: str) -> None:
    """Start ``session`` in the job's room: voice out, no audio or text in (nobody speaks)."""
    await session.start(
        Agent(instructions=f"You are the {bench} bench's agent."),
        room=ctx.room,
        room_options=room_io.RoomOptions(audio_input=False, text_input=False),
        record=False,
    )


async def entry(ctx: JobContext) -> None:
    system = _env("BENCH_SYSTEM", "soundscape")
    jobs = Path(_env("BENCH_JOBS_DIR", tempfile.gettempdir()))
    room_name = ctx.job.room.name
    record: dict[str, Any] = {
        "room": room_name,
        "pid": os.getpid(),
        "worker": _env("BENCH_WORKER_LABEL", "w"),
        "system": system,
        "url": ctx._info.url,
        "started": time.time(),
        "states": {},
        "replies": 0,
    }
    path = jobs / f"{room_name}.json"
    _write(path, record)

    from soundscape.testing import ScriptedLLM

    await ctx.connect()
    llm = ScriptedLLM()
    session = scripted_session(llm)
    background = _Background(system, room_name, ctx.proc.userdata.get("office"))
    listening = asyncio.Event()

    @session.on("agent_state_changed")
    def _state(ev: Any) -> None:
        record["states"][ev.new_state] = record["states"].get(ev.new_state, 0) + 1
        listening.set() if ev.new_state == "listening" else listening.clear()

    closed = asyncio.Event()

    @session.on("close")
    def _closed(ev: Any) -> None:
        closed.set()
        ctx.shutdown(reason="session closed")

    async def _finish(reason: str) -> None:
        record.update(ended=time.time(), reason=reason, background=background.metrics())
        _write(path, record)
        await background.aclose()

    ctx.add_shutdown_callback(_finish)
    await start_session(session, ctx, "capacity")
    await background.start(ctx.room, session)
    record["playing"] = time.time()
    _write(path, record)
    tasks = [asyncio.create_task(_converse(session, llm, listening, closed, record))]
    if background.meter is not None:
        tasks.append(asyncio.create_task(_report(background.meter, record, path, closed)))
    await closed.wait()
    for t in tasks:
        t.cancel()


async def _converse(
    session: AgentSession, llm: Any, listening: asyncio.Event, closed: asyncio.Event,
    record: dict[str, Any],
) -> None:  # fmt: skip
    from soundscape.testing import Reply

    text = "x" * round(SPEAK / 0.05)  # ScriptedTTS: 0.05 s per character
    # Calls start at different moments of the cycle, as real ones would.
    await asyncio.sleep((zlib.crc32(record["room"].encode()) % 1000) / 1000 * (THINK + REST))
    while not closed.is_set():
        llm.add(Reply(text=text, delay=THINK))
        listening.clear()
        try:
            session.generate_reply(user_input="go on")
        except RuntimeError:  # the session is closing: the caller left
            return
        record["replies"] += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(listening.wait(), timeout=4 * (THINK + SPEAK))
        await asyncio.sleep(REST)


async def _report(meter: _Meter, record: dict[str, Any], path: Path, closed: asyncio.Event) -> None:
    """The background source's meter every 0.5 s, into the job's record (last 120 samples)."""
    record["meter"] = []
    while not closed.is_set():
        record["meter"] = [*record["meter"][-119:], meter.sample()]
        record["gaps"] = meter.gaps[-50:]
        _write(path, record)
        await asyncio.sleep(0.5)


async def serve(make: Callable[[], AgentServer] = make_server) -> None:
    """Run the worker ``make()`` builds until SIGTERM/SIGINT, the parent's exit or
    ``BENCH_MAX_S``; write the ready file once it has registered."""
    server = make()
    jobs = Path(_env("BENCH_JOBS_DIR", tempfile.gettempdir()))
    label = _env("BENCH_WORKER_LABEL", "w")

    @server.on("worker_registered")
    def _registered(worker_id: str, info: Any) -> None:
        ready = {"pid": os.getpid(), "id": worker_id, "port": server.worker_info.http_port}
        _write(jobs / f"worker-{label}.ready", ready)

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # Bounded even if the bench that started us is killed: leave when reparented, or after
    # BENCH_MAX_S (default 30 min).
    parent, deadline = os.getppid(), time.monotonic() + float(_env("BENCH_MAX_S", "1800"))

    async def watchdog() -> None:
        while os.getppid() == parent and time.monotonic() < deadline:
            await asyncio.sleep(1.0)
        log.warning("bench agent: parent gone or time is up; stopping")
        stop.set()

    guard = asyncio.create_task(watchdog())
    run = asyncio.create_task(server.run(devmode=False))
    await asyncio.wait([run, asyncio.create_task(stop.wait())], return_when="FIRST_COMPLETED")
    guard.cancel()
    await server.aclose()
    if run.done() and run.exception() is not None:
        raise SystemExit(f"worker stopped: {run.exception()}")


def main(make: Callable[[], AgentServer] = make_server) -> None:
    # The pid: a job process's records reach this log through the worker, under its own pid.
    logging.basicConfig(
        level=logging.WARNING,
        format="%(asctime)s %(process)d %(name)s %(levelname)s %(message)s",
    )
    asyncio.run(serve(make))


if __name__ == "__main__":
    main()
