"""One-track mode (issue 15) next to what it replaces: RoomIO's voice track, BAP, soundscape
on a track of its own.

**Job CPU.** The capacity part's machinery (bench/parts/capacity.py, bench/lib/calls.py) at
N = 1: a local livekit-server, a real livekit-agents worker per configuration (a process per
job), a real `AgentSession` on soundscape's scripted LLM/TTS/STT (think 1.2 s, speak ~1.6 s,
listen 1.2 s, over and over) and a `Caller` recording the agent's tracks. Configurations,
one after another, ``repeats`` times round: ``none`` (the voice on RoomIO's track, no
background), ``bap`` (BackgroundAudioPlayer, office ambience + typing while thinking),
``soundscape`` (scenes/office.yaml on its own track) and ``soundscape-one-track`` (the same
scene, ``start(..., one_track=True)`` after ``session.start()``, as docs/runtime.md orders
it), and ``fed-voice-track``: ``none`` with RoomIO's own track kept fed between turns with
faint noise (bench/agents/capacity_agent.py): the plainest always-on audio on the agent's one
track, with no engine, to set one-track's cost against. Figure: CPU (utime + stime) of the
job process over the window, ms per second, and its difference to ``none`` measured in the
same run. Sanity checks of every call: the call kept real time (calls.py's judge); for
one-track also that the caller sees exactly one audio track from the agent (``roomio_audio``), that the scene's source played on between words,
and that the track carries sound between words (``between_words_rms``: the scene's bed;
~0 on RoomIO's voice-only track).

**Voice latency and interruption**, in one process, both outputs side by side, alternating
speech by speech: RoomIO's `_ParticipantAudioOutput` (livekit-agents' own, on a stand-in
room that reports a subscriber at once) and soundscape's `OneTrackOutput` (office.yaml in
one-track mode on a session that has not started, its queue full of bed when speech comes:
850 ms ahead at the default preset), and a third, ``fed-roomio``: RoomIO's output again,
its source kept 10–20 ms queued with faint noise between speeches (stopped at a speech's
first frame), to tell what a track that never falls silent costs at the caller from what
one-track itself adds. Each output's `rtc.AudioSource` is read back by a local
`rtc.AudioStream` (bench/lib/tone.py's `Tap`, as bench/parts/latency.py does). The speech
is a 1 kHz tone at 0.3, handed to the output in 20 ms frames; each speech starts ``GAP`` s
after the one before has finished.

- ``burst`` speeches (2 s, all frames handed at once and flushed, as a TTS faster than real
  time, and soundscape's `ScriptedTTS`, give them): latency = the first frame's
  ``capture_frame`` call → the first sample at the source whose 1 kHz level passes 10 % of
  the tone's (the sample's time: its 10 ms frame's arrival plus its offset in the frame);
  then ``clear_buffer()`` at a point that moves from speech to speech (0.5–1.4 s in), and
  the ``playback_position`` the output reports against the speech actually heard at the
  source: the samples at which the tone is at ≥ 50 % of its level (a 1 ms causal
  demodulation, so both edges are found to a few samples). RoomIO cuts dead (clear_queue);
  one-track fades out over 5 ms from the sample it reports, so half of it lands in
  "heard": its error is −2.5 ms by construction.
- ``stream`` speeches (0.6 s, one 20 ms frame every 20 ms, as a streaming TTS at real
  time): latency as above, the position reported at the end against what was heard, and
  how much of the speech never sounded (``lost_ms``: given − heard; a late frame on
  RoomIO's path is a delay, not a loss).

With a server (the part starts a local livekit-server), each output publishes on a room of
its own with a `Caller` in it, and the same speeches are also measured at the caller
(`Recording.sample_times`: a frame's samples dated by its arrival), through the SFU, Opus
and the receiver's jitter buffer; ``caller_over_source_ms`` is the caller's median minus the
source's, per output: what that path adds.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.lib import calls, common
from bench.lib.tone import TONE_HZ

SYSTEMS = ("none", "fed-voice-track", "bap", "soundscape", "soundscape-one-track")
OUTPUTS = ("roomio", "fed-roomio", "one-track")
RATE = 48000
AMP = 0.3
FRAME = RATE // 50  # 20 ms, what TTS plugins and the session hand an output
BURST_S, STREAM_S = 2.0, 0.6
GAP = 1.2  # after a speech: long enough for one-track's queue to fill with bed again
GOALS = {"cpu_over_none_ms": 2.0, "latency_over_roomio_ms": 10.0}


def plan(quick: bool) -> dict[str, Any]:
    """``--quick``: about 2.5 minutes; defaults about 5. The window holds whole conversation
    cycles of the agent (~4 s: think, speak, listen), so a call's phase at the window's
    start does not weigh on one configuration more than another."""
    return {
        "repeats": 2 if quick else 4,
        "window": 8.0 if quick else 12.0,
        "warmup": 2.0 if quick else 3.0,
        "speeches": 4 if quick else 10,
    }


# ---------------------------------------------------------------- voice, in one process


def speech(seconds: float) -> np.ndarray:
    n = int(seconds * RATE)
    return np.rint(AMP * 32767 * np.sin(2 * np.pi * TONE_HZ * np.arange(n) / RATE)).astype(np.int16)


def cut_after(k: int) -> float:
    """When speech ``k`` is interrupted, s after its first frame: spread over 0.5–1.4 s
    and over the 10 ms tick (0.137 s steps), the same for both outputs."""
    return 0.5 + (0.137 * k) % 0.9


async def _roomio(room: Any = None) -> tuple[Any, Any]:
    """RoomIO's own audio output, started: on ``room`` (a connected `rtc.Room`, whose
    caller is already in it), or on a stand-in room that reports a subscriber at once."""
    from livekit import rtc
    from livekit.agents.voice.room_io._output import _ParticipantAudioOutput

    from bench.lib.standin import Room

    out = _ParticipantAudioOutput(
        room or Room(),
        sample_rate=RATE,
        num_channels=1,
        # RoomOptions' default for the agent's voice.
        track_publish_options=rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE),
    )
    await out.start()
    return out, out._audio_source


async def _keep_fed(source: Any, feeding: asyncio.Event) -> None:
    """While ``feeding`` is set, keep ``source`` (RoomIO's) 10–20 ms queued with faint noise
    (-50 dBFS), so its track carries audio between speeches as one track's does, and a speech
    waits behind at most that much of it (RoomIO never clears its queue for a new speech)."""
    from livekit import rtc

    n = source.sample_rate // 100
    pcm = np.clip(np.random.default_rng(0).standard_normal(n) * 100, -32768, 32767)
    frame = rtc.AudioFrame(pcm.astype(np.int16).tobytes(), source.sample_rate, 1, n)
    while True:
        await feeding.wait()
        if (queued := source.queued_duration) < 0.01:
            await source.capture_frame(frame)
        else:  # woken as the queue gets low, not polling: the loop is the outputs' too
            await asyncio.sleep(max(queued - 0.01, 0.002))


async def _one_track(room: Any = None) -> tuple[Any, Any, Any]:
    """office.yaml in one-track mode on a scripted session that has not started (so the
    scape *is* its audio output), on ``room`` or on a bare source."""
    from bench.lib.systems import SCENES
    from soundscape.runtime import Soundscape, make_audio_source
    from soundscape.testing import scripted_session

    session = scripted_session()
    session.output.audio = None  # as before session.start(): the scape takes the output
    scape = Soundscape(SCENES["office"], seed=1)
    o = scape.options
    source = make_audio_source(RATE, 1, int((o.ahead + 2 * o.frame) * 1000) + 50)
    await scape.start(room=room, agent_session=session, audio_source=source, one_track=True)
    return session.output.audio, source, scape


async def _sfu(cfg: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Per output, an agent room and a caller in it, on the server ``cfg`` names."""
    from livekit import rtc

    from soundscape.demo.caller import Caller
    from soundscape.demo.livekit_local import make_token

    out: dict[str, tuple[Any, Any]] = {}
    for name in OUTPUTS:
        room_name = f"one-track-voice-{name}"
        caller = Caller(identity=f"caller-{name}")
        await caller.join(cfg["url"], make_token(cfg["key"], cfg["secret"], "caller", room_name))
        agent = rtc.Room()
        token = make_token(cfg["key"], cfg["secret"], f"agent-{name}", room_name)
        await agent.connect(cfg["url"], token)
        out[name] = (agent, caller)
    return out


async def _speak(out: Any, pcm: np.ndarray, *, paced: bool, cut: float | None) -> dict[str, Any]:
    from livekit import rtc

    loop = asyncio.get_running_loop()
    frames = [
        rtc.AudioFrame(pcm[i : i + FRAME].tobytes(), RATE, 1, len(pcm[i : i + FRAME]))
        for i in range(0, len(pcm), FRAME)
    ]
    row: dict[str, Any] = {"seconds": len(pcm) / RATE}
    t0 = loop.time()
    for i, f in enumerate(frames):
        if i == 0:
            row["t_first"] = time.monotonic()
        await out.capture_frame(f)
        if paced:
            await asyncio.sleep(max(t0 + (i + 1) * FRAME / RATE - loop.time(), 0.0))
    # How long handing the speech over held the session's loop (a burst: all its frames).
    row["handoff_ms"] = round(1000 * (time.monotonic() - row["t_first"]), 2) if not paced else None
    out.flush()
    if cut is not None:
        await asyncio.sleep(max(row["t_first"] + cut - time.monotonic(), 0.0))
        row["t_cut"] = time.monotonic()
        out.clear_buffer()
    ev = await asyncio.wait_for(out.wait_for_playout(), timeout=len(pcm) / RATE + 5)
    row["position"] = float(ev.playback_position)
    row["interrupted"] = bool(ev.interrupted)
    row["t_end"] = time.monotonic()
    return row


def analyse(level: np.ndarray, t: np.ndarray, row: dict[str, Any], until: float) -> None:
    """Onset latency and what was heard of one speech, from its output's tap (in place)."""
    i0, i1 = np.searchsorted(t, [row["t_first"] - 0.005, until])
    seg = level[i0:i1]
    on = np.flatnonzero(seg > 0.1 * AMP)
    if on.size == 0:
        row["missed"] = True
        return
    row["latency_ms"] = round(1000 * (t[i0 + on[0]] - row["t_first"]), 2)
    heard = int((seg > 0.5 * AMP).sum())
    row["heard_ms"] = round(1000 * heard / RATE, 2)
    row["position_error_ms"] = round(1000 * row["position"] - row["heard_ms"], 2)
    # A speech heard in pieces (the source ran dry inside it) shows as more than one run.
    mask = np.concatenate([[0], (seg > 0.5 * AMP).astype(np.int8), [0]])
    row["runs"] = int((np.diff(mask) == 1).sum())
    if not row["interrupted"]:
        # Speech the session gave that never sounded (a hole, not a delay: heard - given).
        row["lost_ms"] = round(1000 * row["seconds"] - row["heard_ms"], 2)
    if "t_cut" in row:
        last = on[-1] if on.size else 0
        row["cut_to_silent_ms"] = round(1000 * (t[i0 + last] - row["t_cut"]), 2)


class GcLog:
    """Garbage collections of this process: (monotonic start, ms, generation)."""

    def __init__(self) -> None:
        import gc

        self.events: list[tuple[float, float, int]] = []
        self._t0 = 0.0
        gc.callbacks.append(self._cb)

    def _cb(self, phase: str, info: dict[str, Any]) -> None:
        now = time.monotonic()
        if phase == "start":
            self._t0 = now
        else:
            self.events.append((self._t0, 1000 * (now - self._t0), int(info["generation"])))

    def within(self, t0: float, t1: float) -> float:
        """ms of collection that started in [t0, t1]."""
        return round(sum(ms for t, ms, _ in self.events if t0 <= t <= t1), 2)


async def measure_voice(cfg: dict[str, Any]) -> dict[str, Any]:
    from bench.lib.tone import Tap, tone_level

    logs = common.LogCounter.install()
    gcs = GcLog()
    n = int(cfg["speeches"])
    sfu = await _sfu(cfg) if cfg.get("url") else {}
    roomio, rsrc = await _roomio(sfu["roomio"][0] if sfu else None)
    fed, fsrc = await _roomio(sfu["fed-roomio"][0] if sfu else None)
    feeding = asyncio.Event()
    feeding.set()
    feeder = asyncio.ensure_future(_keep_fed(fsrc, feeding))
    one, osrc, scape = await _one_track(sfu["one-track"][0] if sfu else None)
    outs = {"roomio": roomio, "fed-roomio": fed, "one-track": one}
    taps = {"roomio": Tap(rsrc), "fed-roomio": Tap(fsrc), "one-track": Tap(osrc)}
    if sfu:
        for _, caller in sfu.values():
            await caller.wait_track("roomio_audio", timeout=20)
    await asyncio.sleep(1.5)  # one-track: the render-ahead queue is full of bed
    rows: dict[str, list[dict[str, Any]]] = {k: [] for k in OUTPUTS}
    burst, stream = speech(float(cfg.get("burst_s", BURST_S))), speech(STREAM_S)
    for k in range(n):
        for mode in ("burst", "stream"):
            for name in OUTPUTS:
                pcm = burst if mode == "burst" else stream
                cut = cut_after(k) if mode == "burst" else None
                if name == "fed-roomio":
                    feeding.clear()  # from its first frame: what a feeder stopped by speech does
                r = await _speak(outs[name], pcm, paced=mode == "stream", cut=cut)
                feeding.set()
                r["mode"] = mode
                rows[name].append(r)
                await asyncio.sleep(GAP)
    await asyncio.sleep(0.3)

    out: dict[str, Any] = {**cfg, "outputs": {}}
    for name in OUTPUTS:
        x, t = taps[name].signal()
        level = tone_level(x)
        for r in rows[name]:
            analyse(level, t, r, r["t_end"] + GAP / 2)
            # A collection between the first frame and its onset delays it (both outputs).
            if "latency_ms" in r:
                r["gc_ms"] = gcs.within(r["t_first"], r["t_first"] + r["latency_ms"] / 1000)
            r["gc_ms_speech"] = gcs.within(r["t_first"], r["t_end"])
        out["outputs"][name] = {"speeches": rows[name], **summarize(rows[name])}
        if sfu:
            # The same speeches at the caller, through the SFU, Opus and its jitter buffer.
            rec = sfu[name][1].tracks("roomio_audio")[-1]
            x, t = rec.audio(), rec.sample_times()
            level = tone_level(x)
            at_caller = []
            for r in rows[name]:
                keys = ("t_first", "t_cut", "position", "interrupted", "seconds", "mode")
                c = {k: r[k] for k in keys if k in r}
                analyse(level, t, c, r["t_end"] + GAP / 2 + 0.3)
                at_caller.append({k: v for k, v in c.items() if not k.startswith("t_")})
            out["outputs"][name]["caller"] = {"speeches": at_caller, **summarize(at_caller)}
    out["latency_over_roomio_ms"] = _over(out["outputs"])
    if sfu:
        out["caller_over_source_ms"] = _path(out["outputs"])
    out["log_warnings"] = dict(logs.counts)
    out["gc"] = {
        "collections": len(gcs.events),
        "gen2_ms": [round(ms, 1) for _, ms, g in gcs.events if g == 2],
        "max_ms": round(max((ms for _, ms, _ in gcs.events), default=0.0), 1),
    }
    out["loadavg_end"] = common.loadavg()
    d = scape._driver
    out["scape_metrics"] = {
        "rewinds": scape.metrics.rewinds,
        "underruns": scape.metrics.underruns,
        "remixes": None if d is None else d.metrics.remixes,  # voice splices
        "unspliced": None if d is None else d.metrics.kept,  # reactions that changed nothing heard
    }
    feeder.cancel()
    for tap in taps.values():
        await tap.aclose()
    with contextlib.suppress(Exception):
        await scape.aclose(fade=0)
    for o in (roomio, fed):
        with contextlib.suppress(Exception):
            await o.aclose()
    for agent, caller in sfu.values():
        await caller.aclose()
        with contextlib.suppress(Exception):
            await agent.disconnect()
    return out


def _ms(values: list[float]) -> dict[str, float]:
    s = common.stats(values)
    return {k: (round(v, 2) if k != "n" else v) for k, v in s.items()}


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for mode in ("burst", "stream"):
        rs = [r for r in rows if r["mode"] == mode]
        ok = [r for r in rs if not r.get("missed")]
        out[mode] = {
            "latency_ms": _ms([r["latency_ms"] for r in ok]),
            "position_error_ms": _ms([r["position_error_ms"] for r in ok]),
            "abs_position_error_ms": _ms([abs(r["position_error_ms"]) for r in ok]),
            "missed": len(rs) - len(ok),
            "split": sum(r.get("runs", 1) > 1 for r in ok),
            "interrupted": sum(r["interrupted"] for r in rs),
        }
        if mode == "burst":
            out[mode]["handoff_ms"] = _ms([r["handoff_ms"] for r in rs if r.get("handoff_ms")])
        if mode == "stream":
            out[mode]["lost_ms"] = _ms([r["lost_ms"] for r in ok if "lost_ms" in r])
        if mode == "burst":
            out[mode]["cut_to_silent_ms"] = _ms([r["cut_to_silent_ms"] for r in ok])
    return out


def _over(outputs: dict[str, Any]) -> dict[str, float | None]:
    """One-track's median latency minus RoomIO's, per mode (the issue's ≤ 10 ms)."""
    res: dict[str, float | None] = {}
    for mode in ("burst", "stream"):
        a = outputs["one-track"][mode]["latency_ms"].get("median")
        b = outputs["roomio"][mode]["latency_ms"].get("median")
        res[mode] = None if a is None or b is None else round(a - b, 2)
    return res


def _path(outputs: dict[str, Any]) -> dict[str, dict[str, float | None]]:
    """Per output and mode, the caller's median latency minus the source's: what the SFU,
    Opus and the receiver's jitter buffer add (a track that carries audio between speeches
    against one that falls silent: fed-roomio and one-track against roomio)."""
    res: dict[str, dict[str, float | None]] = {}
    for name, o in outputs.items():
        res[name] = {}
        for mode in ("burst", "stream"):
            a = o.get("caller", {}).get(mode, {}).get("latency_ms", {}).get("median")
            b = o[mode]["latency_ms"].get("median")
            res[name][mode] = None if a is None or b is None else round(a - b, 2)
    return res


def worker(cfg: dict[str, Any]) -> None:
    common.emit(asyncio.run(measure_voice(cfg)))


# ----------------------------------------------------------------------- job CPU


def job_cpu(
    server: Any,
    systems: tuple[str, ...],
    *,
    repeats: int,
    window: float,
    warmup: float,
    together: bool = True,
) -> dict[str, Any]:
    """Each system at N = 1 through its own fresh worker, ``repeats`` times round.

    ``together``: the systems' calls run at the same time (a worker and a callers process
    each), so every configuration meets the same machine load: on shared cores the load
    moves within a minute, and CPU time per second moves with it (none alone varied by
    30 % between rounds run one after another). Otherwise one after another."""
    from concurrent.futures import ThreadPoolExecutor

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-one-track-") as d:
        for rep in range(repeats):
            batches = [systems] if together else [(s,) for s in systems]
            for batch in batches:
                workers: dict[str, calls.AgentWorker] = {}
                done: list[dict[str, Any]] = []
                try:
                    for system in batch:
                        jobs = Path(d) / f"{system}-{rep}"
                        jobs.mkdir()
                        w = calls.AgentWorker(
                            system=system, url=server.url, key=server.api_key,
                            secret=server.api_secret, jobs_dir=jobs, label=system,
                            # Each worker takes only the rooms that name it: with several
                            # on one server, automatic dispatch would hand any room to any.
                            env={"BENCH_LOAD": "zero", "BENCH_AGENT_NAME": _agent(system)},
                        )  # fmt: skip
                        try:
                            workers[system] = w.start()
                        except RuntimeError as e:
                            rows.append({"system": system, "repeat": rep, "error": str(e)[-300:]})
                    load = common.loadavg()

                    with ThreadPoolExecutor(max(len(workers), 1)) as pool:
                        kw = {"window": window, "warmup": warmup}
                        futs = [
                            pool.submit(_round, server, w, system, rep, load, **kw)
                            for system, w in workers.items()
                        ]
                        done = [f.result() for f in futs]
                finally:
                    for w in workers.values():
                        w.stop()
                for row in done:
                    row["together"] = together
                    rows.append(row)
                    print(job_line(row), flush=True)
    return {"rows": rows, "summary": job_summary(rows, systems), "together": together}


def _agent(system: str) -> str:
    return f"bench-{system}"


def _round(
    server: Any, worker: calls.AgentWorker, system: str, rep: int, load: list[float], *,
    window: float, warmup: float,
) -> dict[str, Any]:  # fmt: skip
    from bench.parts import capacity

    r = capacity.one_round(
        server, worker, system, 1, window=window, warmup=warmup, tag=f"r{rep}",
        agent_name=_agent(system),
    )  # fmt: skip
    return slim(r, system, rep, load)


def slim(r: dict[str, Any], system: str, rep: int, load: list[float]) -> dict[str, Any]:
    """What the one-track figures need of a capacity round, and its sanity checks."""
    row: dict[str, Any] = {"system": system, "repeat": rep, "loadavg_before": load}
    if "error" in r and "kept" not in r:
        row["error"] = r["error"]
        return row
    call = r["calls"][0] if r.get("calls") else {}
    voice = call.get("voice") or {}
    row.update(
        job_cpu_ms_per_s=r["job_cpu_ms_per_call_s"],
        wall_s=r["wall_s"],
        kept=bool(r["all_kept"]),
        agent_tracks=call.get("agent_tracks"),
        one_track=call.get("one_track"),
        voice_s=voice.get("voice_s"),
        between_words_rms=voice.get("between_words_rms"),
        sender=call.get("sender"),
        states=(call.get("job") or {}).get("states"),
        background=(call.get("job") or {}).get("background"),
        exited=r["exited"] == 1,
        job_pss_mb=r["job_pss_mb"].get("median"),
        machine_cpu=r["machine_cpu"],
        loadavg=r["loadavg"],
    )
    if system in ("soundscape-one-track", "fed-voice-track"):
        sounding = (row["between_words_rms"] or 0) > 1e-4
        checks = {"one audio track from the agent": row["agent_tracks"] == ["roomio_audio"]}
        if system == "fed-voice-track":
            checks["the track carries sound between words"] = sounding
        else:
            checks["the voice was heard on it"] = (row["voice_s"] or 0) > 0.3
            checks["the scene plays between words"] = sounding
            checks["the scene's source never ran dry"] = bool((row["sender"] or {}).get("ok"))
        row["checks"] = checks
    return row


def job_summary(rows: list[dict[str, Any]], systems: tuple[str, ...]) -> dict[str, Any]:
    def med(system: str) -> float | None:
        v = [r["job_cpu_ms_per_s"] for r in rows if r["system"] == system and "error" not in r]
        return float(np.median(v)) if v else None

    base = med("none")
    out: dict[str, Any] = {}
    for s in systems:
        v = [r["job_cpu_ms_per_s"] for r in rows if r["system"] == s and "error" not in r]
        m = med(s)
        out[s] = {
            "job_cpu_ms_per_s": [round(x, 1) for x in v],
            "median": None if m is None else round(m, 1),
            "over_none": None if m is None or base is None else round(m - base, 1),
            "kept": sum(bool(r.get("kept")) for r in rows if r["system"] == s),
            "runs": sum(r["system"] == s for r in rows),
        }
    return out


def job_line(r: dict[str, Any]) -> str:
    if "error" in r:
        return f"one-track job {r['system']:<21} ERROR {r['error']}"
    checks = r.get("checks")
    extra = ""
    if checks is not None:
        bad = [k for k, v in checks.items() if not v]
        extra = "  checks " + ("ok" if not bad else "FAILED: " + "; ".join(bad))
    return (
        f"one-track job {r['system']:<21} job CPU {r['job_cpu_ms_per_s']:6.1f} ms/s  "
        f"kept {r['kept']}  tracks {','.join(r['agent_tracks'] or [])}  between words rms "
        f"{r['between_words_rms']}  load {r['loadavg_before'][0]}{extra}"
    )


# ------------------------------------------------------------------------- the part


def run(
    quick: bool = False,
    *,
    systems: tuple[str, ...] | None = None,
    repeats: int | None = None,
    window: float | None = None,
    warmup: float | None = None,
    speeches: int | None = None,
    server: Any = None,
) -> dict[str, Any]:
    from soundscape.demo.livekit_local import LocalServer

    p = plan(quick)
    t_start = time.monotonic()
    data: dict[str, Any] = {"machine": common.machine(), "quick": quick, "goals": GOALS}
    with contextlib.ExitStack() as stack:
        if server is None:
            server = stack.enter_context(LocalServer())
        vcfg = {"speeches": speeches or p["speeches"], "url": server.url,
                "key": server.api_key, "secret": server.api_secret}  # fmt: skip
        v = common.run_worker("bench.parts.one_track", vcfg, 60 + 12 * vcfg["speeches"])
        data["voice"] = {k: v[k] for k in v if k != "secret"}
        print(voice_line(v), flush=True)
        data["job"] = job_cpu(
            server,
            systems or SYSTEMS,
            repeats=repeats or p["repeats"],
            window=window or p["window"],
            warmup=warmup or p["warmup"],
        )
    data["job"]["window_s"] = window or p["window"]
    data["job"]["warmup_s"] = warmup or p["warmup"]
    print(summary_line(data["job"]["summary"]), flush=True)
    data["part_s"] = round(time.monotonic() - t_start, 1)
    common.save("one_track", data)
    return data


def voice_line(v: dict[str, Any]) -> str:
    if "error" in v:
        return f"one-track voice ERROR {v['error']}"
    parts = []
    for name in OUTPUTS:
        o = v["outputs"][name]
        b, s = o["burst"], o["stream"]
        parts.append(
            f"{name}: latency burst {common.median_range(b['latency_ms'])} stream "
            f"{common.median_range(s['latency_ms'])} ms, position error at a clear "
            f"{_signed(b['position_error_ms'])} ms (max |{b['abs_position_error_ms'].get('max')}|)"
        )
        if "caller" in o:
            c = o["caller"]
            parts[-1] += (
                f", at the caller burst {common.median_range(c['burst']['latency_ms'])} "
                f"stream {common.median_range(c['stream']['latency_ms'])} ms"
            )
    line = "one-track voice  " + "; ".join(parts)
    if "caller_over_source_ms" in v:
        line += "; caller − source, burst/stream: " + ", ".join(
            f"{k} {p['burst']}/{p['stream']} ms" for k, p in v["caller_over_source_ms"].items()
        )
    return line


def _signed(s: dict[str, Any]) -> str:
    if not s.get("n"):
        return "–"
    return f"{s['median']:+.1f} ({s['min']:+.1f}…{s['max']:+.1f})"


def summary_line(s: dict[str, Any]) -> str:
    return "one-track job CPU, median ms/s (over none): " + ", ".join(
        f"{k} {v['median']} ({v['over_none']:+})" if v["over_none"] is not None else f"{k} –"
        for k, v in s.items()
    )


def main() -> None:
    common.main(__doc__, worker, run)


if __name__ == "__main__":
    main()
