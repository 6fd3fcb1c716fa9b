"""Scale-out on LiveKit's own machinery: two livekit-server nodes sharing a Redis, two workers.

Nothing of soundscape's is involved in the scaling: a Redis (Debian's ``redis-server`` on
127.0.0.1, a free port, a temporary directory, no persistence), two ``livekit-server``
processes configured with ``redis: {address: ...}`` (so they form one cluster), and two
livekit-agents workers (`bench.agents.capacity_agent` with ``BENCH_SYSTEM=tones``), one
connected to each node. N callers join rooms ``scale-<run>-<i>``, alternately through node
A and node B; LiveKit places each room on a node and dispatches its job to a worker. Each
job plays a tone chosen from its room name (`tone_for`), so every caller checks with a
Goertzel detector that it hears *its own* tone, at its level, and no other call's.

Checked per call: dispatched (a job process started for the room), heard (own tone ≥ half
its level, every other call's tone < a quarter), kept real time (bench/lib/calls.py), and
ended cleanly (after the caller left, the job's session closed, the job called
``ctx.shutdown()`` and its process exited). Reported: how the jobs spread over the two
workers, and the rooms over the two nodes.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench.lib import calls, common
from soundscape.demo.livekit_local import terminate

NS = 8  # the number of distinct tones
QUICK_N = 4
STAGGER = 1.5  # seconds between two calls' arrivals
REDIS_MISSING = (
    "redis-server not found: the cluster part needs Debian's redis-server "
    "(apt-get install redis-server; scripts/bootstrap installs it as root)"
)


def redis_binary() -> str | None:
    return shutil.which("redis-server")


class Redis:
    """A throwaway redis-server on 127.0.0.1: free port, temp dir, no persistence."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self._dir: tempfile.TemporaryDirectory[str] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> Redis:
        binary = redis_binary()
        if binary is None:
            raise RuntimeError(REDIS_MISSING)
        self._dir = tempfile.TemporaryDirectory(prefix="bench-redis-")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        log = open(Path(self._dir.name) / "redis.log", "wb")  # noqa: SIM115 - the child owns it
        self.proc = subprocess.Popen(
            [binary, "--bind", "127.0.0.1", "--port", str(self.port), "--dir", self._dir.name,
             "--save", "", "--appendonly", "no", "--daemonize", "no"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as c,
            ):
                c.sendall(b"PING\r\n")
                if c.recv(16).startswith(b"+PONG"):
                    return self
            time.sleep(0.05)
        text = (Path(self._dir.name) / "redis.log").read_text(errors="replace")[-2000:]
        self.stop()
        raise RuntimeError(f"redis-server did not start:\n{text}")

    def stop(self) -> None:
        p, self.proc = self.proc, None
        if p is not None:
            terminate(p)
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None

    def __enter__(self) -> Redis:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def node_of_rooms(logs: list[str], rooms: list[str]) -> dict[str, int | None]:
    """Which node (index into ``logs``) hosts each room: the one whose log starts an RTC
    session in it (the other node, if the caller came through it, only relays signalling)."""
    out: dict[str, int | None] = {}
    for room in rooms:
        pat = re.compile(rf'starting RTC session.*"room": "{re.escape(room)}"')
        hits = [i for i, text in enumerate(logs) if pat.search(text)]
        out[room] = hits[0] if len(hits) == 1 else None
    return out


def measure(
    n: int,
    *,
    window: float,
    warmup: float,
    load: str = "own",
    stagger: float | None = None,
    run_id: str | None = None,
) -> dict[str, Any]:
    """Start Redis, two nodes, two workers; run one round of ``n`` calls; tear all down.
    ``load``: the workers' load function, ``default`` (livekit-agents': the machine's CPU)
    or ``own`` (their own process tree's, as on machines of their own)."""
    from bench.agents.capacity_agent import TONE_AMP, TONE_GAIN, tone_for
    from soundscape.demo.livekit_local import LocalServer

    run_id = run_id or uuid.uuid4().hex[:6]
    t_start = time.monotonic()
    with contextlib.ExitStack() as stack:
        redis = stack.enter_context(Redis())
        nodes = [LocalServer(redis=redis.address) for _ in range(2)]
        for node in nodes:
            node.start()
            stack.callback(node.cleanup)
        jobs_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-jobs-")))
        workers = []
        for label, node in zip(("A", "B"), nodes, strict=True):
            w = calls.AgentWorker(
                system="tones", url=node.url, key=node.api_key, secret=node.api_secret,
                jobs_dir=jobs_dir, label=f"worker-{label}", idle=1, env={"BENCH_LOAD": load},
            )  # fmt: skip
            stack.callback(w.stop)
            w.start()
            workers.append(w)
        # Both workers' first status reports (every 2.5 s, with their load) reach LiveKit.
        time.sleep(3.0)
        setup = time.monotonic() - t_start
        rooms = [f"scale-{run_id}-{i}" for i in range(n)]
        cfg = {
            "system": "tones",
            "n": n,
            "rooms": rooms,
            "urls": [nodes[i % 2].url for i in range(n)],
            "key": nodes[0].api_key,
            "secret": nodes[0].api_secret,
            "background": "soundscape",
            "tones": {r: tone_for(r) for r in rooms},
            "tone_level": TONE_AMP * TONE_GAIN,
            "warmup": warmup,
            # Calls arrive one by one, as they would: the workers' load reports (every
            # 2.5 s) can follow, so LiveKit sees which worker is busier.
            "stagger": STAGGER if stagger is None else stagger,
            "window": window,
            "jobs_dir": str(jobs_dir),
            "worker_pids": [w.pid for w in workers],
            "worker_ports": [w.ready["port"] for w in workers],
            "server_pids": [p for node in nodes if (p := node.pid) is not None],
        }
        r = common.run_worker("bench.lib.calls", cfg, calls.round_timeout(cfg))
        r["setup_s"] = round(setup, 1)
        r["load_fnc"] = load
        logs = [node.log_text() for node in nodes]
        placed = node_of_rooms(logs, rooms)
        r["dispatch_log"] = {
            "AB"[i]: {k: text.count(k) for k in ("assigned job to worker", "failed to send job request",
                                               "no servers available", "worker registered")}
            for i, text in enumerate(logs)
        }  # fmt: skip
        if os.environ.get("BENCH_KEEP_LOGS"):
            for i, text in enumerate(logs):
                Path(os.environ["BENCH_KEEP_LOGS"], f"node-{'AB'[i]}.log").write_text(text)
        if "calls" in r:
            for i, row in enumerate(r["calls"]):
                row["joined_via"] = "AB"[i % 2]
                k = placed[row["room"]]
                row["node"] = None if k is None else "AB"[k]
            by_worker: dict[str, int] = {}
            by_node: dict[str, int] = {}
            for row in r["calls"]:
                who = (row.get("job") or {}).get("worker") or "none"
                by_worker[who] = by_worker.get(who, 0) + 1
                by_node[row["node"] or "?"] = by_node.get(row["node"] or "?", 0) + 1
            r["jobs_by_worker"] = by_worker
            r["rooms_by_node"] = by_node
            r["worker_crossed_node"] = sum(
                1
                for row in r["calls"]
                if row["node"]
                and (row.get("job") or {}).get("worker") not in (None, f"worker-{row['node']}")
            )
        r["redis"] = "redis-server " + _redis_version()
    return r


def _redis_version() -> str:
    b = redis_binary()
    if b is None:
        return "?"
    out = subprocess.run([b, "--version"], capture_output=True, text=True, timeout=10).stdout
    m = re.search(r"v=(\S+)", out)
    return m.group(1) if m else out.strip()[:40]


def run(
    quick: bool = False, *, n: int | None = None, window: float | None = None
) -> dict[str, Any]:
    """One round per load function (``--quick``: ``own`` only), each on a fresh cluster."""
    n = n or (QUICK_N if quick else NS)
    if redis_binary() is None:
        print(f"cluster  skipped: {REDIS_MISSING}", flush=True)
        data: dict[str, Any] = {
            "machine": common.machine(),
            "quick": quick,
            "skipped": REDIS_MISSING,
        }
        common.save("cluster", data)
        return data
    results = []
    for load in ("own",) if quick else ("default", "own"):
        t0 = time.monotonic()
        try:
            r = measure(n, window=window or (4.0 if quick else 8.0), warmup=2.0, load=load)
        except Exception as e:  # a node or worker that would not start: say so in the report
            r = {"n": n, "load_fnc": load, "error": str(e)[-800:]}
        r["part_s"] = round(time.monotonic() - t0, 1)
        print(line(r), flush=True)
        results.append(r)
    data = {"machine": common.machine(), "quick": quick, "results": results}
    common.save("cluster", data)
    return data


def line(r: dict[str, Any]) -> str:
    head = f"cluster  load_fnc={r.get('load_fnc', '?'):<8} N={r['n']}"
    if "error" in r and "kept" not in r:
        return f"{head} ERROR {r['error']}"
    return (
        f"{head} dispatched {r['dispatched']}/{r['n']} heard {r['heard']}/{r['n']} "
        f"kept {r['kept']}/{r['n']} ended {r['exited']}/{r['n']} jobs by worker "
        f"{r.get('jobs_by_worker')} rooms by node {r.get('rooms_by_node')}"
    )


def main() -> None:
    common.main(__doc__, lambda cfg: None, run)


if __name__ == "__main__":
    main()
