"""Capacity: concurrent calls through ONE real livekit-agents worker, process per job.

A local livekit-server on loopback; one worker (`bench.agents.capacity_agent`: an
`AgentServer` with ``@rtc_session``, each job in its own process) per system, one system
at a time: ``none`` (the agent's voice only), ``bap`` (livekit-agents'
BackgroundAudioPlayer, office ambience + keyboard typing while thinking, its basic
example) and ``soundscape`` (scenes/office.yaml). Every job runs a real `AgentSession` on
soundscape's scripted LLM/TTS/STT that thinks 1.2 s, speaks ~1.6 s and listens 1.2 s,
over and over.

For each system, N = 1, 5, 10, 20, 40 calls (``--quick``: 1, 4): a callers process joins N
rooms at once with soundscape's `Caller` and records the agent's tracks; after a warm-up
it measures over a fixed window: every job process's CPU (utime + stime from
/proc/PID/stat) and PSS (/proc/PID/smaps_rollup, halfway through), the worker's own
processes (main, forkserver, idle warm processes), the server's and the callers' CPU,
and the load the worker reports to LiveKit; then whether each call kept real time
(bench/lib/calls.py says exactly what that means). Then the callers leave, and every job
process must exit by itself. Stepping stops at the first N where a call did not keep real
time (that system's capacity on this machine is the step before), or when the part's time
budget runs out.

Worker options: ``load_threshold=inf``, ``num_idle_processes=2``, ``job_memory_warn_mb=500``,
and a ``load_fnc`` that reports 0. Both are needed to measure past 70 % CPU: with
livekit-agents' defaults the worker reports the *machine's* CPU use (2.5 s average) as its
load and, in production mode, marks itself full at ``load_threshold`` 0.7; and
livekit-server's dispatcher independently ranks workers by ``0.7 - load`` (its agents
``target_load``) and sends a job nowhere when every worker reports ≥ 0.7 ("no servers
available"). ``machine_cpu`` in each row is what the default load function would have
reported.

Everything (server, worker, callers) shares this machine's cores, so the largest N that
keeps real time is the whole loopback setup's limit; the per-call CPU of the job
processes is what sizes a worker (docs/deploy.md, "Capacity and scale-out").
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from bench.lib import calls, common

SYSTEMS = ("none", "bap", "soundscape")
NS = (1, 5, 10, 20, 40)
QUICK_NS = (1, 4)
BUDGET_S = 540.0  # the whole part, defaults (~9 min); --quick: QUICK_BUDGET_S
QUICK_BUDGET_S = 110.0
BACKGROUND = {"none": None, "bap": "background_audio", "soundscape": "soundscape",
              "soundscape-one-track": None, "fed-voice-track": None}  # fmt: skip  # on the voice's track


def plan(quick: bool) -> dict[str, Any]:
    return {
        "systems": SYSTEMS,
        "ns": QUICK_NS if quick else NS,
        "window": 4.0 if quick else 10.0,
        "warmup": 2.0 if quick else 3.0,
        "budget_s": QUICK_BUDGET_S if quick else BUDGET_S,
    }


def round_estimate(n: int, window: float, warmup: float) -> float:
    """Seconds a round of ``n`` calls is expected to take (join, warm-up, window, leave)."""
    return 8.0 + 0.4 * n + warmup + window + 7.0


def run(
    quick: bool = False,
    *,
    systems: tuple[str, ...] | None = None,
    ns: tuple[int, ...] | None = None,
    window: float | None = None,
    warmup: float | None = None,
    server: Any = None,
) -> dict[str, Any]:
    """Every system in turn, N stepped up until a call fails to keep real time (on
    ``server``, a running `LocalServer`, or one of its own)."""
    import contextlib

    from soundscape.demo.livekit_local import LocalServer

    p = plan(quick)
    systems = systems or p["systems"]
    ns = ns or p["ns"]
    window = window or p["window"]
    warmup = warmup or p["warmup"]
    budget = float(p["budget_s"])
    t_start = time.monotonic()
    results: list[dict[str, Any]] = []
    summary: dict[str, dict[str, Any]] = {}
    with contextlib.ExitStack() as stack:
        d = stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-capacity-"))
        if server is None:
            server = stack.enter_context(LocalServer())
        for k, system in enumerate(systems):
            jobs_dir = Path(d) / system
            jobs_dir.mkdir()
            summary[system] = {"max_kept_n": 0, "failed_at": None, "stopped": "all steps kept"}
            try:
                worker = calls.AgentWorker(
                    system=system, url=server.url, key=server.api_key,
                    secret=server.api_secret, jobs_dir=jobs_dir, label=system,
                    env={"BENCH_LOAD": "zero"},
                ).start()  # fmt: skip
            except RuntimeError as e:
                summary[system]["stopped"] = f"worker did not start: {str(e)[-300:]}"
                continue
            try:
                for n in ns:
                    # Leave every later system its share of what is left of the budget.
                    left = budget - (time.monotonic() - t_start)
                    share = left / (len(systems) - k)
                    if results and round_estimate(n, window, warmup) > share:
                        summary[system]["stopped"] = f"time budget reached before N={n}"
                        break
                    r = one_round(server, worker, system, n, window=window, warmup=warmup)
                    results.append(r)
                    print(line(r), flush=True)
                    if r.get("all_kept"):
                        summary[system]["max_kept_n"] = n
                    else:
                        summary[system]["failed_at"] = n
                        summary[system]["stopped"] = f"N={n}: " + (
                            r.get("error") or f"{r['kept']}/{n} calls kept real time"
                        )
                        break
            finally:
                worker.stop()
    data = {
        "machine": common.machine(),
        "quick": quick,
        "server": f"livekit-server {server_version()} on 127.0.0.1",
        "criteria": criteria(),
        "window_s": window,
        "warmup_s": warmup,
        "summary": summary,
        "results": results,
        "part_s": round(time.monotonic() - t_start, 1),
    }
    common.save("capacity", data)
    return data


def one_round(
    server: Any, worker: calls.AgentWorker, system: str, n: int, *, window: float,
    warmup: float, tag: str = "", agent_name: str = "",
) -> dict[str, Any]:  # fmt: skip
    """``n`` calls at once to ``worker`` (``tag`` makes the room names of a repeat new;
    ``agent_name``: the worker's, when it only takes rooms that ask for it by name)."""
    rooms = [f"cap-{system}-{n}{tag}-{i}" for i in range(n)]
    cfg = {
        "system": system,
        "n": n,
        "rooms": rooms,
        "urls": [server.url] * n,
        "key": server.api_key,
        "secret": server.api_secret,
        "background": BACKGROUND[system],
        "one_track": system == "soundscape-one-track",
        "agent_name": agent_name,
        "warmup": warmup,
        "window": window,
        "join_timeout": 20.0 + 0.5 * n,
        "jobs_dir": str(worker.jobs_dir),
        "worker_pids": [worker.pid],
        "worker_ports": [worker.ready["port"]],
        "server_pids": [server.pid],
    }
    r = common.run_worker("bench.lib.calls", cfg, calls.round_timeout(cfg))
    r.setdefault("system", system)
    r.setdefault("n", n)
    return r


def criteria() -> dict[str, Any]:
    return {
        "received_min": calls.RECEIVED_MIN,
        "sender_dry_max_ms": 1000 * calls.GAP_MAX,
        "arrival_gap_max_ms": 1000 * calls.ARRIVAL_GAP_MAX,
        "caller_frame_ms": calls.FRAME_MS,
    }


def server_version() -> str:
    from soundscape.demo.livekit_local import VERSION

    return VERSION


def line(r: dict[str, Any]) -> str:
    if "error" in r and "kept" not in r:
        return f"capacity {r['system']:<10} N={r['n']:<3} ERROR {r['error']}"
    pss = r["job_pss_mb"].get("median")
    return (
        f"capacity {r['system']:<10} N={r['n']:<3} kept {r['kept']:>2}/{r['n']:<2} "
        f"job CPU {r['job_cpu_ms_per_call_s']:6.1f} ms/call-s  PSS {pss} MB/job  "
        f"worker {r['worker_cpu_share']:.2f} server {r['server_cpu_share']:.2f} "
        f"callers {r['callers_cpu_share']:.2f} cores  machine CPU {r['machine_cpu']:.0%}  "
        f"exited {r['exited']}/{r['n']} in {r['exit_s']} s  load {r['loadavg'][0]}"
    )


def main() -> None:
    common.main(__doc__, lambda cfg: None, run)


if __name__ == "__main__":
    main()
