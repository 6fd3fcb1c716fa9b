"""Live calls through a real LiveKit server to real livekit-agents workers, and the judge.

Shared by the capacity part (one worker, N calls) and the cluster part (two nodes, two
workers). `AgentWorker` runs ``python -m bench.agents.capacity_agent`` in its own process
group; `run_calls` (in a callers process of its own) joins N rooms with soundscape's
`Caller`, records every agent track, reads the job processes' CPU and PSS from /proc over
the measuring window, leaves, and checks that every job process exited.

A call **keeps real time** when, over the window (wall time W after a warm-up), each agent
track it subscribed to (the voice, and the background if the system has one):

- delivered ≥ `RECEIVED_MIN` × W of audio (frames that arrived inside the window);
- never went longer than `ARRIVAL_GAP_MAX` without a frame arriving (arrivals are stamped
  in the callers' own Python event loop, which shares the machine with everything else,
  so this catches a track that stalls, not a late 20 ms frame);

and the background's own `rtc.AudioSource` in the job process (bench/lib/meter.py's queue
model, read by the job every 0.5 s) played ≥ `RECEIVED_MIN` × W and never ran dry for
longer than `GAP_MAX`. Both ends are needed: the receiver's jitter buffer keeps frames
coming even when the sender stops (concealment, then silence), and office ambience is too
quiet (-66 dBFS RMS at 0.3) to tell a dropout from the clip by ear. With the tone scenes of
the cluster part the receiver also checks the content: its own tone at its level, no
run longer than `GAP_MAX` of 10 ms blocks below `SILENT`, and no other call's tone.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np

from . import common

RATE = 48000
FRAME_MS = 20  # the callers' AudioStream frame size (fewer events than the default 10 ms)
RECEIVED_MIN = 0.98
GAP_MAX = 0.100
ARRIVAL_GAP_MAX = 0.250
SILENT = 10 ** (-50 / 20)  # -50 dBFS: the tone scenes' tone (0.2) never goes this quiet
BLOCK = RATE // 100  # 10 ms
VOICE_HZ = 180.0
VOICE_MIN = 0.02  # the scripted voice's 180 Hz component is ~0.1 while it speaks
AGENT = "bench.agents.capacity_agent"


# ------------------------------------------------------------------- /proc, no psutil


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of ``pid`` (all its threads), None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def children() -> dict[int, list[int]]:
    """ppid → pids, for every process visible now."""
    out: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        out.setdefault(ppid, []).append(int(d))
    return out


def descendants(pid: int) -> list[int]:
    tree, out, todo = children(), [], [pid]
    while todo:
        for c in tree.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs so far, from /proc/stat (what psutil.cpu_percent
    and so livekit-agents' default load function read)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return float(sum(v[:8]) - idle), float(sum(v[:8]))


def pss_mb(pid: int) -> float | None:
    try:
        return round(common.memory(pid)["pss"], 1)
    except (OSError, KeyError):
        return None


# ------------------------------------------------------------------------ the worker


class AgentWorker:
    """One agent worker process, ``python -m AGENT`` (``bench.agents.capacity_agent`` unless
    ``agent`` names another module that writes the same ready file), in its own process
    group: the forkserver and every job process it starts are in it, so `stop` ends them all."""

    def __init__(
        self,
        *,
        system: str,
        url: str,
        key: str,
        secret: str,
        jobs_dir: Path,
        label: str = "w",
        idle: int = 2,
        env: dict[str, str] | None = None,
        agent: str = AGENT,
    ) -> None:
        self.agent = agent
        self.label = label
        self.jobs_dir = jobs_dir
        self.log_path = jobs_dir / f"worker-{label}.log"
        self.env = {
            **os.environ,
            "BENCH_SYSTEM": system,
            "BENCH_JOBS_DIR": str(jobs_dir),
            "BENCH_WORKER_LABEL": label,
            "BENCH_IDLE": str(idle),
            "LIVEKIT_URL": url,
            "LIVEKIT_API_KEY": key,
            "LIVEKIT_API_SECRET": secret,
            **(env or {}),
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.ready: dict[str, Any] = {}

    def start(self, timeout: float = 60.0) -> AgentWorker:
        ready = self.jobs_dir / f"worker-{self.label}.ready"
        ready.unlink(missing_ok=True)
        with open(self.log_path, "ab") as logf:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", self.agent],
                cwd=common.ROOT,
                env=self.env,
                stdout=logf,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while not ready.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                tail = self.log_tail()
                self.stop()
                raise RuntimeError(f"agent worker {self.label} did not register:\n{tail}")
            time.sleep(0.1)
        self.ready = json.loads(ready.read_text())
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def log_tail(self, lines: int = 30) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM (the worker drains: it has no jobs left by now), then SIGKILL the group."""
        p, self.proc = self.proc, None
        if p is None:
            return
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(timeout=timeout)
        # Whatever of the group outlived it (forkserver, a stuck job process).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(p.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            p.wait(timeout=5)

    def __enter__(self) -> AgentWorker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def worker_load(port: int) -> float | None:
    """The load the worker reports to LiveKit (its /worker endpoint), 0..1."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/worker", timeout=1) as r:
            return float(json.loads(r.read()).get("worker_load", 0.0))
    except (OSError, ValueError):
        return None


# ------------------------------------------------------------------------- the judge


def tone_level(x: np.ndarray, freq: float) -> float:
    """Amplitude of ``freq`` in ``x`` (a Hann-windowed single-bin DFT, i.e. Goertzel)."""
    n = x.size
    if n < 2:
        return 0.0
    w = np.hanning(n)
    ph = np.exp(-2j * np.pi * freq * np.arange(n) / RATE)
    return float(2 * abs(np.dot(x * w, ph)) / w.sum())


def longest_run(mask: np.ndarray) -> int:
    """Length of the longest run of True in ``mask``."""
    if not mask.any():
        return 0
    padded = np.concatenate([[0], mask.astype(np.int8), [0]])
    d = np.diff(padded)
    return int((np.flatnonzero(d == -1) - np.flatnonzero(d == 1)).max())


def judge_track(
    frames: list[tuple[float, np.ndarray]], t0: float, t1: float, *, steady: bool
) -> dict[str, Any]:
    """Continuity of one recorded track over [t0, t1) (see the module docstring)."""
    got = [(t, f) for t, f in frames if t0 <= t < t1]
    wall = t1 - t0
    times = [t0] + [t for t, _ in got] + [t1]
    x = np.concatenate([f for _, f in got]) if got else np.zeros(0, np.float32)
    out: dict[str, Any] = {
        "received": round(x.size / RATE / wall, 4),
        "max_gap_ms": round(1000 * max(b - a for a, b in itertools.pairwise(times)), 1),
    }
    blocks = x[: x.size // BLOCK * BLOCK].reshape(-1, BLOCK)
    rms = np.sqrt((blocks.astype(np.float64) ** 2).mean(axis=1)) if blocks.size else np.zeros(0)
    out["rms"] = round(float(np.sqrt((x.astype(np.float64) ** 2).mean())), 4) if x.size else 0.0
    if steady:
        out["dropout_ms"] = 10 * longest_run(rms < SILENT)
    ok = out["received"] >= RECEIVED_MIN and out["max_gap_ms"] <= 1000 * ARRIVAL_GAP_MAX
    if steady:
        ok = ok and out["dropout_ms"] <= 1000 * GAP_MAX
    out["ok"] = bool(ok)
    out["_x"] = x
    return out


def judge_sender(job: dict[str, Any], t0: float, t1: float) -> dict[str, Any] | None:
    """What the job's background source played over [t0, t1), from the job's meter samples
    ([monotonic time, samples played, underruns]) and its list of dry spells."""
    samples = job.get("meter") or []
    first = next((m for m in samples if m[0] >= t0), None)
    last = next((m for m in reversed(samples) if m[0] <= t1), None)
    if first is None or last is None or last[0] - first[0] < 0.5 * (t1 - t0):
        return None
    span = last[0] - first[0]
    gaps = [g for t, g in job.get("gaps") or [] if t0 <= t <= t1 + 0.5]
    out = {
        "played": round((last[1] - first[1]) / RATE / span, 4),
        "underruns": last[2] - first[2],
        "max_dry_ms": round(1000 * max(gaps, default=0.0), 1),
    }
    out["ok"] = out["played"] >= RECEIVED_MIN and out["max_dry_ms"] <= 1000 * GAP_MAX
    return out


def tone_track(x: np.ndarray, freq: float) -> np.ndarray:
    """`tone_level` over consecutive 40 ms windows: short enough that the receiver's time
    stretching (its jitter buffer drops or adds a few ms now and then) cannot cancel the
    tone's phase, long enough to keep tones 150 Hz apart apart."""
    win = RATE // 25
    return np.array([tone_level(x[i * win : (i + 1) * win], freq) for i in range(x.size // win)])


def tone_median(x: np.ndarray, freq: float) -> float:
    t = tone_track(x, freq)
    return float(np.median(t)) if t.size else 0.0


def voice_seconds(x: np.ndarray) -> float:
    """Seconds in which the scripted voice (180 Hz) is heard, in 40 ms windows."""
    return round(float((tone_track(x, VOICE_HZ) > VOICE_MIN).sum()) / 25, 2)


def between_words_rms(x: np.ndarray) -> float:
    """Median RMS of the 40 ms windows in which the scripted voice is not heard: ~0 on a
    voice-only track, the scene's level on a one-track call's."""
    win = RATE // 25
    n = x.size // win
    if n == 0:
        return 0.0
    w = x[: n * win].reshape(n, win).astype(np.float64)
    quiet = tone_track(x, VOICE_HZ)[:n] <= VOICE_MIN
    rms = np.sqrt((w * w).mean(axis=1))[quiet]
    return round(float(np.median(rms)), 6) if rms.size else 0.0


# ------------------------------------------------------------------- the callers side


def _caller_class() -> Any:
    from livekit import rtc

    from soundscape.demo.caller import Caller, Recording

    class BenchCaller(Caller):
        """soundscape's Caller, reading frames of `FRAME_MS` (fewer events per call)."""

        def _on_subscribed(self, track: Any, pub: Any, who: Any) -> None:
            if track.kind != rtc.TrackKind.KIND_AUDIO:
                return
            rec = Recording(pub.name, who.identity, self.rate)
            self.recordings.append(rec)
            stream = rtc.AudioStream.from_track(
                track=track, sample_rate=self.rate, num_channels=1, frame_size_ms=FRAME_MS
            )
            task = asyncio.ensure_future(self._record(stream, rec))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            self._changed.set()

    return BenchCaller


def _token(cfg: dict[str, Any], identity: str, room: str) -> str:
    """A caller's token; with ``agent_name`` in ``cfg`` it asks LiveKit to dispatch that
    agent (explicit dispatch: several workers on one server, each gets its own rooms)."""
    from livekit import api
    from livekit.protocol.agent_dispatch import RoomAgentDispatch
    from livekit.protocol.room import RoomConfiguration

    from soundscape.demo.livekit_local import make_token

    name = cfg.get("agent_name")
    if not name:
        return make_token(cfg["key"], cfg["secret"], identity, room)
    grants = api.VideoGrants(room_join=True, room=room)
    tok = api.AccessToken(cfg["key"], cfg["secret"]).with_identity(identity).with_grants(grants)
    tok = tok.with_room_config(RoomConfiguration(agents=[RoomAgentDispatch(agent_name=name)]))
    return tok.to_jwt()


def agent_tracks(caller: Any) -> list[str]:
    """Names of the audio tracks the agent publishes now, as the caller's room sees them."""
    from livekit import rtc

    return sorted(
        pub.name
        for p in caller.room.remote_participants.values()
        for pub in p.track_publications.values()
        if pub.kind == rtc.TrackKind.KIND_AUDIO
    )


def _job(jobs_dir: Path, room: str) -> dict[str, Any]:
    with contextlib.suppress(OSError, ValueError):
        return dict(json.loads((jobs_dir / f"{room}.json").read_text()))
    return {}


def _cpu(pids: list[int]) -> dict[int, float]:
    return {p: c for p in pids if (c := cpu_seconds(p)) is not None}


async def run_calls(cfg: dict[str, Any]) -> dict[str, Any]:
    """One round: cfg has rooms, urls (one per room), key, secret, background (the track
    name, or None), tones (room → Hz, to check each call hears its own), warmup, window,
    jobs_dir, worker_pids, worker_ports, server_pids."""

    Caller = _caller_class()
    rooms: list[str] = cfg["rooms"]
    bg: str | None = cfg.get("background")
    tones: dict[str, float] = cfg.get("tones") or {}
    jobs_dir = Path(cfg["jobs_dir"])
    callers = {r: Caller(rate=RATE, identity=f"caller-{r}") for r in rooms}
    t_begin = time.monotonic()
    own_cpu0 = time.process_time()

    async def join(room: str, url: str, delay: float) -> float | None:
        await asyncio.sleep(delay)
        c = callers[room]
        t = time.monotonic()
        await c.join(url, _token(cfg, c.identity, room))
        want = [cfg.get("voice", "roomio_audio")] + ([bg] if bg else [])
        await c.wait_for(
            lambda: all(any(r.frames for r in c.tracks(n)) for n in want),
            timeout=float(cfg.get("join_timeout", 30.0)),
        )
        return time.monotonic() - t

    joined = await asyncio.gather(
        *(
            join(r, u, i * float(cfg.get("stagger", 0.0)))
            for i, (r, u) in enumerate(zip(rooms, cfg["urls"], strict=True))
        ),
        return_exceptions=True,
    )
    ready = {r: j for r, j in zip(rooms, joined, strict=True) if isinstance(j, float)}
    errors = {r: repr(j)[:200] for r, j in zip(rooms, joined, strict=True) if r not in ready}
    await asyncio.sleep(float(cfg["warmup"]))

    jobs = {r: _job(jobs_dir, r) for r in rooms}
    job_pids = [int(j["pid"]) for j in jobs.values() if "pid" in j]
    worker_pids = [int(p) for p in cfg.get("worker_pids", [])]
    # The workers' own processes besides the jobs: the forkserver, idle warm processes.
    others = [p for w in worker_pids for p in descendants(w) if p not in job_pids]
    server_pids = [int(p) for p in cfg.get("server_pids", [])]
    watched = job_pids + worker_pids + others + server_pids
    loads: list[float] = []
    window = float(cfg["window"])

    c0, t0, own0 = _cpu(watched), time.monotonic(), time.process_time()
    m0 = machine_busy()
    pss: dict[int, float | None] = {}
    while (left := t0 + window - time.monotonic()) > 0:
        await asyncio.sleep(min(left, 1.0))
        # Off the event loop: reading /proc and HTTP would stall the callers' audio.
        for port in cfg.get("worker_ports", []):
            if (v := await asyncio.to_thread(worker_load, int(port))) is not None:
                loads.append(v)
        if not pss and time.monotonic() >= t0 + window / 2:
            pss = await asyncio.to_thread(
                lambda: {p: pss_mb(p) for p in job_pids + worker_pids + others}
            )
    c1, t1, own1 = _cpu(watched), time.monotonic(), time.process_time()
    m1 = machine_busy()
    wall = t1 - t0

    def used(pids: list[int]) -> float:
        return sum(c1[p] - c0[p] for p in pids if p in c0 and p in c1)

    await asyncio.sleep(0.6)  # the jobs' meter samples that cover t1
    jobs = {r: _job(jobs_dir, r) for r in rooms}
    calls = []
    for room in rooms:
        c = callers[room]
        row: dict[str, Any] = {"room": room, "ready": room in ready}
        if room in errors:
            row["error"] = errors[room]
        if room in ready:
            row["join_s"] = round(ready[room], 2)
        voice = c.tracks(cfg.get("voice", "roomio_audio"))
        vt = judge_track(voice[-1].frames, t0, t1, steady=False) if voice else None
        if vt is not None:
            x = vt.pop("_x")
            vt["voice_s"] = voice_seconds(x)
            vt["between_words_rms"] = between_words_rms(x)
            # The whole call, join to hang-up: did the agent speak at all (short windows).
            vt["voice_s_call"] = voice_seconds(voice[-1].audio())
        row["voice"] = vt
        row["agent_tracks"] = agent_tracks(c)
        ok = vt is not None and vt["ok"]
        if cfg.get("one_track"):
            # The voice track is the scene's too: its source must have played on between
            # words, and the caller must see no other audio track from the agent.
            row["sender"] = judge_sender(jobs[room], t0, t1)
            row["one_track"] = row["agent_tracks"] == [cfg.get("voice", "roomio_audio")]
            ok = ok and row["sender"] is not None and row["sender"]["ok"] and row["one_track"]
        if bg:
            b = c.tracks(bg)
            j = judge_track(b[-1].frames, t0, t1, steady=room in tones) if b else None
            if j is not None:
                x = j.pop("_x")
                if room in tones:
                    j["own_tone"] = round(tone_median(x, tones[room]), 4)
                    other_freqs = {f for f in tones.values() if f != tones[room]}
                    j["other_tones"] = round(max(map(lambda f: tone_median(x, f), other_freqs),
                                                 default=0.0), 4)  # fmt: skip
                    lvl = float(cfg.get("tone_level", 0.2))
                    row["heard"] = j["own_tone"] >= 0.5 * lvl and j["other_tones"] < 0.25 * lvl
            if j is not None:
                j["rms_call"] = round(float(np.sqrt(np.mean(np.square(b[-1].audio())))), 5)
            row["background"] = j
            row["sender"] = judge_sender(jobs[room], t0, t1)
            ok = ok and j is not None and j["ok"]
            ok = ok and row["sender"] is not None and row["sender"]["ok"]
        row["kept"] = bool(ok and room in ready)
        calls.append(row)

    # Leave; each job's session closes and its process must exit by itself.
    t_leave = time.monotonic()
    await asyncio.gather(*(c.aclose() for c in callers.values()))
    ended_deadline = t_leave + float(cfg.get("end_timeout", 20.0))
    while any(alive(p) for p in job_pids) and time.monotonic() < ended_deadline:
        await asyncio.sleep(0.2)
    exit_s = round(time.monotonic() - t_leave, 2)
    await asyncio.sleep(0.3)  # the shutdown callback's record lands just before the exit
    for row in calls:
        j = _job(jobs_dir, row["room"])
        pid = j.get("pid")
        row["job"] = {k: j.get(k) for k in ("pid", "worker", "url", "states", "replies",
                                             "reason", "background")}  # fmt: skip
        row["job"]["exited"] = pid is not None and not alive(int(pid))
        row["job"]["ended"] = "ended" in j

    n = len(rooms)
    job_cpu = [c1[p] - c0[p] for p in job_pids if p in c0 and p in c1]
    job_pss = [v for p in job_pids if (v := pss.get(p)) is not None]
    res: dict[str, Any] = {
        **{k: cfg[k] for k in ("system", "n", "window", "warmup") if k in cfg},
        "wall_s": round(wall, 2),
        "kept": sum(r["kept"] for r in calls),
        "ready": len(ready),
        "dispatched": sum(1 for j in jobs.values() if "pid" in j),
        "heard": sum(bool(r.get("heard")) for r in calls) if tones else None,
        "exited": sum(r["job"]["exited"] for r in calls),
        "ended": sum(r["job"]["ended"] for r in calls),
        "exit_s": exit_s,
        "setup_s": round(t0 - t_begin - float(cfg["warmup"]), 2),
        "job_cpu_ms_per_call_s": round(1000 * sum(job_cpu) / max(len(job_cpu), 1) / wall, 2),
        "job_cpu_ms_max": round(1000 * max(job_cpu, default=0.0) / wall, 2),
        "job_pss_mb": {k: round(v, 1) for k, v in common.stats(job_pss).items()},
        "worker_cpu_share": round(used(worker_pids + others) / wall, 3),
        "worker_pss_mb": round(sum(v for p in worker_pids + others if (v := pss.get(p))), 1),
        "server_cpu_share": round(used(server_pids) / wall, 3),
        "callers_cpu_share": round((own1 - own0) / wall, 3),
        "callers_cpu_s_total": round(time.process_time() - own_cpu0, 2),
        "all_jobs_cpu_share": round(sum(job_cpu) / wall, 3),
        # The machine's CPU use over the window, 0..1: what livekit-agents' default load
        # function would have reported (its default load_threshold, 0.7, refuses above).
        "machine_cpu": round((m1[0] - m0[0]) / max(m1[1] - m0[1], 1.0), 3),
        "worker_load": {"mean": round(float(np.mean(loads)), 3), "max": round(max(loads), 3)}
        if loads
        else None,
        "loadavg": common.loadavg(),
        "calls": calls,
    }
    res["all_kept"] = res["kept"] == n
    if errors:
        res["errors"] = sorted(set(errors.values()))[:3]
    del n
    return res


def worker(cfg: dict[str, Any]) -> None:
    common.emit(asyncio.run(run_calls(cfg)))


def round_timeout(cfg: dict[str, Any]) -> float:
    n = len(cfg["rooms"])
    stagger = float(cfg.get("stagger", 0.0)) * n
    return (
        60 + float(cfg.get("join_timeout", 30)) + stagger + cfg["warmup"] + cfg["window"] + 0.5 * n
    )


def main() -> None:
    common.main(__doc__, worker, lambda quick: None)


if __name__ == "__main__":
    main()
