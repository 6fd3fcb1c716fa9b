"""Shared plumbing: machine facts, process statistics, worker subprocesses, result files."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(os.environ.get("SOUNDSCAPE_BENCH_OUT", ROOT / "bench" / "out"))
CACHE_ENV = "SOUNDSCAPE_CACHE_DIR"
_OWNER = "SOUNDSCAPE_BENCH_CACHE"  # set while a bench run owns a private cache folder


@contextlib.contextmanager
def private_cache(*, worker: bool = False) -> Iterator[None]:
    """Decoded clips go to a throwaway folder for the whole run, removed at the end, never to
    the user's ``~/.cache/soundscape``; worker processes inherit it through the environment.

    Inside a run that already owns one, and in a worker whose parent chose a folder (memory.py
    gives its workers their own), this does nothing.
    """
    if _OWNER in os.environ or (worker and CACHE_ENV in os.environ):
        yield
        return
    saved = os.environ.get(CACHE_ENV)
    with tempfile.TemporaryDirectory(prefix="soundscape-bench-cache-") as d:
        os.environ[CACHE_ENV] = os.environ[_OWNER] = d
        try:
            yield
        finally:
            del os.environ[_OWNER]
            if saved is None:
                os.environ.pop(CACHE_ENV, None)
            else:
                os.environ[CACHE_ENV] = saved


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def machine() -> dict[str, Any]:
    """nproc, CPU model, RAM, OS, Python and package versions."""
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_kb = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    from importlib.metadata import version

    def ver(pkg: str) -> str:
        try:
            return version(pkg)
        except Exception:
            return "not installed"

    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram_gb": round(mem_kb / 1024 / 1024, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "versions": {
            p: ver(p)
            for p in ("soundscape", "livekit", "livekit-agents", "numpy", "av", "pydantic")
        },
        "loadavg": loadavg(),
        "when": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
    }


def threads() -> dict[str, int]:
    """Python threads and OS threads (native ones included) of this process."""
    return {"python": threading.active_count(), "os": len(os.listdir("/proc/self/task"))}


def thread_cpu() -> dict[str, float]:
    """CPU seconds used so far by this process's threads, summed by thread name (the main
    thread is the event loop; livekit's native runtime threads have their own names)."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/stat") as f:
                stat = f.read()
        except OSError:  # the thread ended meanwhile
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        if tid == str(os.getpid()):
            name = "main (event loop)"
        name = name.rstrip("0123456789-_ ") or name
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


def memory(pid: int | str = "self") -> dict[str, float]:
    """RSS and PSS in MB from /proc/PID/smaps_rollup (PSS: shared pages split among sharers)."""
    out: dict[str, float] = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("Rss", "Pss", "Shared_Clean", "Private_Dirty", "Pss_File", "Pss_Anon"):
                out[key.lower()] = int(rest.split()[0]) / 1024
    return out


def rss_mb() -> float:
    """Resident set size now (Linux /proc; falls back to the peak from getrusage)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_worker(module: str, config: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Run ``python -m MODULE --worker CONFIG`` in a fresh process; its last stdout line is JSON."""
    cmd = [sys.executable, "-m", module, "--worker", json.dumps(config)]
    load = loadavg()
    t0 = time.monotonic()
    try:
        p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {**config, "error": f"did not finish within {timeout:.0f} s", "loadavg": load}
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    if p.returncode != 0 or not lines:
        tail = (p.stderr or p.stdout).strip().splitlines()[-5:]
        return {**config, "error": f"exit {p.returncode}: {' | '.join(tail)}", "loadavg": load}
    res: dict[str, Any] = json.loads(lines[-1])
    res.setdefault("loadavg", load)
    res["process_seconds"] = round(time.monotonic() - t0, 2)
    return res


class LogCounter(logging.Handler):
    """Counts warnings and errors by message start (e.g. the SDK's mixer timeouts), quietly."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.counts: dict[str, int] = {}

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.getMessage()
        key = "mixer stream timeout" if "timeout, ignoring" in msg else msg[:60]
        self.counts[key] = self.counts.get(key, 0) + 1

    @classmethod
    def install(cls) -> LogCounter:
        h = cls()
        logging.getLogger().addHandler(h)
        return h


def emit(result: dict[str, Any]) -> None:
    """A worker's answer: one JSON line on stdout, then leave without slow teardown."""
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def save(name: str, data: dict[str, Any]) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.json"
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def load_result(name: str) -> dict[str, Any] | None:
    path = OUT / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def stats(values: list[float]) -> dict[str, float]:
    """min / median / p95 / max (p95 by nearest rank)."""
    if not values:
        return {"n": 0}
    v = sorted(values)
    k = max(math.ceil(0.95 * len(v)) - 1, 0)
    return {
        "n": len(v),
        "min": v[0],
        "median": v[len(v) // 2] if len(v) % 2 else (v[len(v) // 2 - 1] + v[len(v) // 2]) / 2,
        "p95": v[min(k, len(v) - 1)],
        "max": v[-1],
    }


def stats_ms(seconds: list[float]) -> dict[str, float]:
    """`stats` of durations given in seconds, in milliseconds to 0.1 ms."""
    return {k: (round(v * 1000, 1) if k != "n" else v) for k, v in stats(seconds).items()}


def run_part(
    name: str,
    module: str,
    configs: list[dict[str, Any]],
    timeout: Callable[[dict[str, Any]], float],
    line: Callable[[dict[str, Any]], str],
    quick: bool,
) -> dict[str, Any]:
    """Run each configuration in a worker process, print its line, save bench/out/NAME.json."""
    results = []
    for cfg in configs:
        r = run_worker(module, cfg, timeout(cfg))
        results.append(r)
        print(line(r), flush=True)
    data = {"machine": machine(), "quick": quick, "results": results}
    save(name, data)
    return data


def spread(s: dict[str, Any], sep: str = "/") -> str:
    """min / median / p95 of a `stats` result, '-' where missing."""
    return sep.join(str(s.get(k, "-")) for k in ("min", "median", "p95"))


def median_range(s: dict[str, Any]) -> str:
    """'median (min–max)' of a `stats` result, '–' when empty."""
    if not s.get("n"):
        return "–"
    if f"{s['min']:.0f}" == f"{s['max']:.0f}":
        return f"{s['median']:.0f}"
    return f"{s['median']:.0f} ({s['min']:.0f}–{s['max']:.0f})"


def main(
    doc: str | None, worker: Callable[[dict[str, Any]], Any], run: Callable[[bool], Any]
) -> None:
    """A bench module's command line: ``--worker JSON`` runs one configuration in this
    process (what `run_worker` starts), otherwise the whole part runs (``--quick``: smaller)."""
    ap = argparse.ArgumentParser(description=doc)
    ap.add_argument("--worker", help="(internal) run one configuration given as JSON")
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    with private_cache(worker=bool(a.worker)):
        if a.worker:
            worker(json.loads(a.worker))
        else:
            run(a.quick)
