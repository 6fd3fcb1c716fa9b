"""Run an agent file as a real livekit-agents worker process against a test's LocalServer.

    async with worker(server, "examples/basic.py", env={"SOUNDSCAPE_SCENE": str(p)}) as w:
        async with call(server) as caller:            # a fresh room: the server dispatches a job
            rec = await caller.wait_track("soundscape")
            ...
        await w.wait_jobs_done(timeout=10)            # the caller left: the job process exits
    # on exit: SIGTERM (then SIGKILL); asserts the worker exited and left no process behind

The worker runs in its own session (``start_new_session``), so every process it starts —
the multiprocessing forkserver, job processes, and any orphan of theirs that was re-parented
— shares its session id: `children()` finds them all, leftovers included.

``mode="dev"`` (the default) is deterministic on a busy machine: ``start`` declares itself
full above 70 % CPU (``load_threshold``; the server then dispatches nothing) and on SIGTERM
drains running jobs for up to an hour. ``dev`` has no load limit, starts a job process per
job (no idle pool) and exits on SIGTERM without draining. Its auto-reload is gone in 1.8.
When a test fails inside the block, the worker's log is printed (pytest shows it).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

from soundscape.demo.caller import Caller
from soundscape.demo.livekit_local import LocalServer

ROOT = Path(__file__).resolve().parent.parent.parent
REGISTERED = "registered worker"


class WorkerFailed(AssertionError):
    """The worker did not start, register, stop, or it left processes behind; with its log."""


def _session_members(sid: int) -> list[int]:
    """Live processes (not zombies) whose session id is ``sid``."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        try:
            if os.getsid(pid) != sid:
                continue
            stat = Path(f"/proc/{pid}/stat").read_text()
        except (OSError, ProcessLookupError):
            continue
        state = stat.rsplit(")", 1)[1].split()[0]
        if state not in ("Z", "X"):
            out.append(pid)
    return sorted(out)


def _ppid(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return -1


# What multiprocessing starts next to the job processes (their cmdline is the forkserver's
# too, so they are told apart by parent: helpers are the worker's own children).
_HELPERS = ("multiprocessing.forkserver", "multiprocessing.resource_tracker")
_JOB_ID = re.compile(r'"job_id": "([^"]+)"')
_PID = re.compile(r'"pid": (\d+)')


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return "?"


class Worker:
    """A running worker process: ``pid``, ``log_text()``, ``children()``, ``job_pids()``."""

    def __init__(
        self, proc: subprocess.Popen[bytes], log_path: Path, argv: list[str], mode: str = "dev"
    ) -> None:
        self.proc = proc
        self.mode = mode
        self.pid = proc.pid
        self.log_path = log_path
        self.argv = argv
        self.seen_jobs: set[int] = set()
        self.returncode: int | None = None

    def log_text(self) -> str:
        """Everything the worker (and its job processes) logged so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 120) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    @property
    def running(self) -> bool:
        return self.proc.poll() is None

    def children(self) -> list[int]:
        """Every live process the worker started, at any depth, orphans included."""
        return [p for p in _session_members(self.pid) if p != self.pid]

    def helpers(self) -> set[int]:
        """The worker's multiprocessing helpers (forkserver, resource tracker)."""
        return {
            p
            for p in self.children()
            if _ppid(p) == self.pid and any(h in _cmdline(p) for h in _HELPERS)
        }

    def job_pids(self) -> set[int]:
        """Job processes (and anything they started): every process of the worker but its
        multiprocessing helpers. Under ``start`` this includes the idle (prewarmed) ones."""
        now = set(self.children()) - self.helpers()
        self.seen_jobs |= now
        return now

    def jobs(self) -> dict[str, int]:
        """Job id → pid of the process that ran it, from the job's own log lines (both log
        formats carry ``"pid": N`` and ``"job_id": "AJ_..."``)."""
        out: dict[str, int] = {}
        for line in self.log_text().splitlines():
            job, pid = _JOB_ID.search(line), _PID.search(line)
            if job and pid and int(pid.group(1)) != self.pid:
                out.setdefault(job.group(1), int(pid.group(1)))
        return out

    def _running_jobs(self) -> set[int]:
        alive = set(self.children())
        running = {pid for pid in self.jobs().values() if pid in alive}
        if self.mode == "dev":  # no idle pool: any non-helper process is a job's
            running |= self.job_pids()
        return running

    def describe(self, pids: Any) -> str:
        return "\n".join(f"  {p}: {_cmdline(p)}" for p in sorted(pids)) or "  (none)"

    async def wait_log(
        self, pattern: str, *, timeout: float = 20.0, after: int = 0
    ) -> re.Match[str]:
        """Wait until the log (from character ``after``) matches the regex ``pattern``."""
        deadline = time.monotonic() + timeout
        while True:
            m = re.search(pattern, self.log_text()[after:])
            if m:
                return m
            if not self.running:
                raise WorkerFailed(
                    f"worker exited (rc={self.proc.returncode}) before logging {pattern!r}:\n"
                    f"{self.log_tail()}"
                )
            if time.monotonic() > deadline:
                raise WorkerFailed(
                    f"worker logged no {pattern!r} in {timeout:.0f} s:\n{self.log_tail()}"
                )
            await asyncio.sleep(0.1)

    async def wait_job_started(self, *, timeout: float = 20.0) -> dict[str, int]:
        """Wait until a job has started in a job process: {job id: pid}."""
        deadline = time.monotonic() + timeout
        while not (jobs := self.jobs()):
            if time.monotonic() > deadline:
                raise WorkerFailed(f"no job started within {timeout:.0f} s:\n{self.log_tail()}")
            await asyncio.sleep(0.1)
        return jobs

    async def wait_jobs_done(self, *, timeout: float = 10.0) -> float:
        """Wait until every job's process has exited (under ``dev``: every process but the
        multiprocessing helpers); how long that took, in seconds."""
        t0 = time.monotonic()
        while pids := self._running_jobs():
            if time.monotonic() - t0 > timeout:
                raise WorkerFailed(
                    f"job processes still running {timeout:.0f} s after the call:\n"
                    f"{self.describe(pids)}\nworker log:\n{self.log_tail()}"
                )
            await asyncio.sleep(0.1)
        return time.monotonic() - t0

    async def stop(self, *, timeout: float = 10.0) -> int:
        """SIGTERM, then SIGKILL after ``timeout``; kills and reports any process left behind."""
        if self.running:
            self.proc.send_signal(signal.SIGTERM)
        killed = False
        try:
            await asyncio.to_thread(self.proc.wait, timeout)
        except subprocess.TimeoutExpired:
            killed = True
            self.proc.kill()
            await asyncio.to_thread(self.proc.wait, 5)
        self.returncode = self.proc.returncode
        # Children get a moment to follow their parent out.
        deadline = time.monotonic() + 5.0
        while (left := self.children()) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        problems = []
        if killed:
            problems.append(f"the worker ignored SIGTERM for {timeout:.0f} s and was killed")
        if left:
            problems.append(
                f"processes left behind after the worker exited:\n{self.describe(left)}"
            )
            for p in left:
                with contextlib.suppress(OSError):
                    os.kill(p, signal.SIGKILL)
        if problems:
            raise WorkerFailed("\n".join(problems) + f"\nworker log:\n{self.log_tail()}")
        return self.returncode


def worker_env(
    server: LocalServer, env: Mapping[str, str] | None = None, *, cache_dir: Path | None = None
) -> dict[str, str]:
    """The environment a worker gets: the server's URL and keys, this checkout first on the
    import path, a private cache dir, no API keys of the developer's (so stand-ins are used)."""
    e = dict(os.environ)
    for k in ("OPENAI_API_KEY", "LIVEKIT_AGENT_NAME", "LIVEKIT_AGENT_NAME_OVERRIDE"):
        e.pop(k, None)
    e.update(
        LIVEKIT_URL=server.url,
        LIVEKIT_API_KEY=server.api_key,
        LIVEKIT_API_SECRET=server.api_secret,
        PYTHONPATH=os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]),
        PYTHONUNBUFFERED="1",
    )
    if cache_dir is not None:
        e["SOUNDSCAPE_CACHE_DIR"] = str(cache_dir)
    elif "SOUNDSCAPE_CACHE_DIR" not in e:
        e["SOUNDSCAPE_CACHE_DIR"] = tempfile.mkdtemp(prefix="soundscape-worker-cache-")
    e.update(env or {})
    return e


@contextlib.asynccontextmanager
async def worker(
    server: LocalServer,
    agent_file: str | os.PathLike[str],
    *args: str,
    mode: str = "dev",
    env: Mapping[str, str] | None = None,
    ready_timeout: float = 40.0,
    stop_timeout: float = 10.0,
    work_dir: Path | None = None,
) -> AsyncIterator[Worker]:
    """Run ``python agent_file mode *args`` until registered with ``server``; stop it on exit.

    ``env`` adds to `worker_env`. The log and the clip cache live in one folder: a new one
    under ``work_dir`` (e.g. pytest's ``tmp_path``; left for pytest to clean), else a
    temporary one removed afterwards unless something failed (its path is printed then).
    """
    path = Path(agent_file)
    if not path.is_absolute():
        path = ROOT / path
    work = Path(tempfile.mkdtemp(prefix="soundscape-worker-", dir=work_dir))
    log_path = work / "worker.log"
    argv = [sys.executable, str(path), mode, *args]
    with open(log_path, "wb") as logf:
        proc = subprocess.Popen(
            argv,
            cwd=str(ROOT),
            env=worker_env(server, env, cache_dir=work / "cache"),
            stdout=logf,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    w = Worker(proc, log_path, argv, mode)
    ok = False
    try:
        await w.wait_log(REGISTERED, timeout=ready_timeout)
        yield w
        ok = True
    except BaseException:
        print(f"---- worker log ({' '.join(argv)}; {log_path}) ----\n{w.log_tail(300)}")
        raise
    finally:
        try:
            await w.stop(timeout=stop_timeout)
        except WorkerFailed:
            if ok:
                raise
            # The test already failed; its error is the one to report.
        else:
            if ok and work_dir is None:
                shutil.rmtree(work, ignore_errors=True)


@contextlib.asynccontextmanager
async def call(
    server: LocalServer,
    *,
    room: str | None = None,
    identity: str = "caller",
    wait_for: tuple[str, ...] = ("soundscape",),
    timeout: float = 30.0,
    rate: int = 48000,
) -> AsyncIterator[Caller]:
    """A `Caller` in a fresh room (its arrival makes the server dispatch a job), once the
    tracks named in ``wait_for`` deliver audio; it leaves on exit."""
    caller = Caller(rate=rate, identity=identity)
    name = room or f"test-{uuid.uuid4().hex[:8]}"
    await caller.join(server.url, server.token(identity, name))
    try:
        for track in wait_for:
            try:
                await caller.wait_track(track, timeout=timeout)
            except TimeoutError:
                got = sorted({f"{r.participant}/{r.track_name}" for r in caller.recordings})
                raise AssertionError(
                    f"room {name}: no audio on track {track!r} within {timeout:.0f} s "
                    f"(subscribed: {', '.join(got) or 'nothing'}; was a job dispatched?)"
                ) from None
        yield caller
    finally:
        await caller.aclose()
