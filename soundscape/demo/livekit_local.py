"""A LiveKit server of our own on loopback: find the binary, run it on free ports, mint tokens.

Used by the end-to-end tests and by `soundscape demo`. The server is the open-source
`livekit-server` (see scripts/livekit-server for how the pinned version is provided), run
with a generated config that binds every port to 127.0.0.1, so nothing leaves the machine.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ServerUnavailable

log = logging.getLogger("soundscape")

VERSION = "v1.13.5"
DEV_KEY = "devkey"
# The server refuses secrets shorter than 32 characters outside --dev; use one that passes both.
DEV_SECRET = "soundscape-local-dev-secret-0123456789"
UDP_PORTS = 20  # each peer connection takes one; a few participants need a handful

HOW_TO_GET = (
    "no livekit-server binary found. Run scripts/livekit-server (builds the pinned "
    f"{VERSION} with `go install` into .cache/livekit/, ~3 min once), or put a "
    "livekit-server on PATH, or set LIVEKIT_SERVER_BIN to one "
    "(releases: https://github.com/livekit/livekit-server/releases)."
)


def _project_root() -> Path:
    return Path(__file__).resolve().parents[2]


def find_server_binary() -> Path | None:
    """$LIVEKIT_SERVER_BIN, else `livekit-server` on PATH, else the project or user cache."""
    env = os.environ.get("LIVEKIT_SERVER_BIN")
    if env:
        p = Path(env)
        return p if p.is_file() and os.access(p, os.X_OK) else None
    on_path = shutil.which("livekit-server")
    if on_path:
        return Path(on_path)
    for base in (_project_root() / ".cache", Path.home() / ".cache" / "soundscape"):
        p = base / "livekit" / VERSION / "livekit-server"
        if p.is_file() and os.access(p, os.X_OK):
            return p
    return None


def _free_tcp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _free_udp_range(n: int, tries: int = 50) -> int:
    """First port of ``n`` consecutive UDP ports that are free on 127.0.0.1 right now."""
    rng = random.Random()
    for _ in range(tries):
        base = rng.randrange(40000, 60000 - n)
        socks: list[socket.socket] = []
        try:
            for port in range(base, base + n):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise ServerUnavailable(f"found no {n} consecutive free UDP ports on 127.0.0.1")


def config_yaml(
    signal: int, rtc_tcp: int, udp_start: int, udp_end: int, *, redis: str | None = None
) -> str:
    """Server config: everything on 127.0.0.1, dev keys, loopback ICE candidates.

    ``redis`` ("host:port") makes the server one node of a cluster: every node given the
    same Redis shares rooms, participants and agent workers with the others."""
    cluster = f"redis:\n  address: {redis}\n" if redis else ""
    return f"""\
port: {signal}
bind_addresses: ["127.0.0.1"]
rtc:
  tcp_port: {rtc_tcp}
  port_range_start: {udp_start}
  port_range_end: {udp_end}
  use_external_ip: false
  node_ip: 127.0.0.1
  enable_loopback_candidate: true
keys:
  {DEV_KEY}: {DEV_SECRET}
logging:
  level: info
{cluster}"""


@dataclass
class LocalServer:
    """A running `livekit-server` on loopback; use as a (sync) context manager or start()/stop()."""

    binary: Path | None = None
    url: str = ""
    api_key: str = DEV_KEY
    api_secret: str = DEV_SECRET
    log_path: Path | None = None
    ports: dict[str, int] = field(default_factory=dict)
    redis: str | None = None  # "host:port" of a Redis shared with other nodes (see config_yaml)
    _proc: subprocess.Popen[bytes] | None = None
    _dir: tempfile.TemporaryDirectory[str] | None = None

    def start(self, timeout: float = 20.0) -> LocalServer:
        """Start on free ports and return once it answers HTTP; `ServerUnavailable` otherwise."""
        binary = self.binary or find_server_binary()
        if binary is None:
            raise ServerUnavailable(HOW_TO_GET)
        self.binary = binary
        self._dir = tempfile.TemporaryDirectory(prefix="soundscape-livekit-")
        d = Path(self._dir.name)
        # Ports are picked free and handed over; another process may grab one in between, so
        # a failed start is retried on new ports.
        last = ""
        for _ in range(3):
            signal, rtc_tcp = _free_tcp_port(), _free_tcp_port()
            udp = _free_udp_range(UDP_PORTS)
            self.ports = {"signal": signal, "rtc_tcp": rtc_tcp, "udp_start": udp}
            cfg = d / "livekit.yaml"
            cfg.write_text(config_yaml(signal, rtc_tcp, udp, udp + UDP_PORTS - 1, redis=self.redis))
            self.log_path = d / "livekit-server.log"
            with open(self.log_path, "wb") as logf:
                self._proc = subprocess.Popen(
                    [str(binary), "--dev", "--config", str(cfg)],
                    stdout=logf,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                )
            self.url = f"ws://127.0.0.1:{signal}"
            if self._wait_ready(signal, timeout):
                log.info("soundscape: livekit-server %s on %s", binary, self.url)
                return self
            last = self.log_tail()
            self._kill()
        self.stop()
        raise ServerUnavailable(f"livekit-server ({binary}) did not start:\n{last}")

    def _wait_ready(self, port: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is None or self._proc.poll() is not None:
                return False
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as r,
            ):
                if r.status == 200:
                    return True
            time.sleep(0.05)
        return False

    def log_text(self) -> str:
        """Everything the server has logged so far."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def _kill(self) -> None:
        p, self._proc = self._proc, None
        if p is not None:
            terminate(p)

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 5 s). The log stays readable until
        `cleanup()`."""
        self._kill()

    def cleanup(self) -> None:
        self._kill()
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None

    def token(self, identity: str, room: str, **grants: Any) -> str:
        """A join token for ``identity`` in ``room`` (grants are `VideoGrants` fields)."""
        return make_token(self.api_key, self.api_secret, identity, room, **grants)

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.cleanup()


def terminate(p: subprocess.Popen[bytes], timeout: float = 5.0) -> None:
    """SIGTERM ``p`` and wait; SIGKILL it if it is still there after ``timeout``."""
    if p.poll() is not None:
        return
    p.terminate()
    try:
        p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait(timeout=timeout)


def make_token(key: str, secret: str, identity: str, room: str, **grants: Any) -> str:
    """A JWT that lets ``identity`` join ``room`` (via livekit-api)."""
    from livekit import api

    g = api.VideoGrants(room_join=True, room=room, **grants)
    return api.AccessToken(key, secret).with_identity(identity).with_grants(g).to_jwt()
