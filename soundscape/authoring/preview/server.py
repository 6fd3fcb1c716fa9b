"""The preview's HTTP server: stdlib only, bound to 127.0.0.1.

Routes: ``/`` the page; ``/ui`` (JSON) what changes with the file (diagram, buttons,
layers); ``/status`` a Server-Sent Events stream of state, meters, log and
diagnostics (10 per second); ``/audio`` the scene's output as an endless stream of
interleaved float32 frames (rate and channels in the ``X-Rate``/``X-Channels``
headers); ``POST /event`` applies ``{"event": ..., "fields": {...}}``.

Two threads drive it: the *pump* renders blocks as real time passes (a little ahead,
so the browser never starves) and hands them to every listener; the *watcher* polls
the modification time of the scene file and of what it extends or includes, and reloads.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any

from .session import LiveScene

log = logging.getLogger("soundscape")

BLOCK_SECONDS = 0.02
LEAD_SECONDS = 0.1
"""How far ahead of real time the pump renders."""
STATUS_SECONDS = 0.1
WATCH_SECONDS = 0.2
LISTENER_QUEUE = 100
"""Blocks buffered per listener (2 s); a listener that falls further behind loses blocks."""


def _page() -> bytes:
    return (resources.files(__package__) / "static" / "index.html").read_bytes()


class PreviewServer:
    """Serve one scene file on http://127.0.0.1:PORT until `close`."""

    def __init__(self, path: Path, *, port: int = 0, seed: int = 0) -> None:
        self.live = LiveScene(path, seed=seed)
        self._listeners: set[queue.Queue[bytes | None]] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        handler = _handler_for(self)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.httpd.daemon_threads = True
        self._threads = [
            threading.Thread(target=self.httpd.serve_forever, name="preview-http", daemon=True),
            threading.Thread(target=self._pump, name="preview-pump", daemon=True),
            threading.Thread(target=self._watch, name="preview-watch", daemon=True),
        ]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/"

    def start(self) -> PreviewServer:
        for t in self._threads:
            t.start()
        return self

    def close(self) -> None:
        self._stop.set()
        with self._lock:
            for q in self._listeners:
                with contextlib.suppress(queue.Full):
                    q.put_nowait(None)  # ends the listener's response
        self.httpd.shutdown()
        self.httpd.server_close()
        for t in self._threads:
            t.join(timeout=2)

    def __enter__(self) -> PreviewServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.close()

    # ------------------------------------------------------------------ threads

    def _pump(self) -> None:
        live = self.live
        block = max(1, round(BLOCK_SECONDS * live.rate))
        start = time.monotonic()
        rendered = 0
        while not self._stop.is_set():
            due = (time.monotonic() - start + LEAD_SECONDS) * live.rate
            while rendered < due and not self._stop.is_set():
                data = live.render(block).tobytes()
                rendered += block
                with self._lock:
                    listeners = list(self._listeners)
                for q in listeners:
                    # A stalled tab loses blocks; it must not hold the scene back.
                    with contextlib.suppress(queue.Full):
                        q.put_nowait(data)
            self._stop.wait(BLOCK_SECONDS / 2)

    def _watch(self) -> None:
        def stamp() -> tuple[tuple[int, int] | None, ...]:
            return tuple(_stamp(f) for f in self.live.files())

        loaded = last = stamp()
        while not self._stop.wait(WATCH_SECONDS):
            now = stamp()
            # Reload once a change has settled for one poll: an editor writing in place
            # would otherwise show the errors of a half-written file for a moment.
            if now == last and now != loaded and None not in now:
                self.live.reload()
                # Stamped again: the new version may extend or include other files.
                now = stamp()
                loaded = now
            last = now

    # ------------------------------------------------------------------ listeners

    def listen(self) -> queue.Queue[bytes | None]:
        q: queue.Queue[bytes | None] = queue.Queue(LISTENER_QUEUE)
        with self._lock:
            self._listeners.add(q)
        return q

    def unlisten(self, q: queue.Queue[bytes | None]) -> None:
        with self._lock:
            self._listeners.discard(q)


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None  # being replaced by an editor, or deleted: a change like any other
    return st.st_mtime_ns, st.st_size


def _handler_for(server: PreviewServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "soundscape-preview"

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("preview: " + format, *args)

        def do_GET(self) -> None:
            route = self.path.split("?", 1)[0]
            if route == "/":
                self._send(HTTPStatus.OK, "text/html; charset=utf-8", _page())
            elif route == "/ui":
                self._json(server.live.ui())
            elif route == "/diagram.svg":
                svg = server.live.ui()["svg"]
                self._send(HTTPStatus.OK, "image/svg+xml", svg.encode())
            elif route == "/status":
                self._status()
            elif route == "/audio":
                self._audio()
            else:
                self._send(HTTPStatus.NOT_FOUND, "text/plain", b"not found\n")

        def do_POST(self) -> None:
            if self.path != "/event":
                self._send(HTTPStatus.NOT_FOUND, "text/plain", b"not found\n")
                return
            try:
                size = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(min(size, 1 << 16)) or b"{}")
                event = body["event"]
                fields = body.get("fields") or {}
                if not isinstance(event, str) or not isinstance(fields, dict):
                    raise ValueError
            except (ValueError, KeyError, TypeError):
                msg = b'send JSON like {"event": "agent.thinking", "fields": {}}\n'
                self._send(HTTPStatus.BAD_REQUEST, "text/plain", msg)
                return
            server.live.post(event, fields)
            self._send(HTTPStatus.NO_CONTENT, "text/plain", b"")

        # -------------------------------------------------------------- helpers

        def _send(self, status: HTTPStatus, ctype: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            if body:
                self.wfile.write(body)

        def _json(self, data: Any) -> None:
            self._send(HTTPStatus.OK, "application/json", json.dumps(data).encode())

        def _status(self) -> None:
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            try:
                while not server._stop.is_set():
                    msg = json.dumps(server.live.status())
                    self.wfile.write(f"data: {msg}\n\n".encode())
                    self.wfile.flush()
                    server._stop.wait(STATUS_SECONDS)
            except OSError:  # the page went away
                pass

        def _audio(self) -> None:
            live = server.live
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Rate", str(live.rate))
            self.send_header("X-Channels", str(live.channels))
            self.end_headers()
            q = server.listen()
            try:
                while True:
                    data = q.get()
                    if data is None:
                        break
                    self.wfile.write(data)
            except OSError:  # the page went away
                pass
            finally:
                server.unlisten(q)

    return Handler


def serve(path: Path, port: int = 0, seed: int = 0) -> PreviewServer:
    """Start a preview of ``path`` (port 0: any free one); `close` it when done."""
    return PreviewServer(path, port=port, seed=seed).start()


__all__ = ["PreviewServer", "serve"]
