"""Pytest fixtures: a real LiveKit server on loopback for end-to-end tests.

tests/conftest.py loads them for every test module (``pytest_plugins``). `livekit_process`
runs one server for the whole session (it starts in about a second); `livekit_server` hands it to a test and, when that test fails, prints what the server logged meanwhile.

Without a server binary the tests skip, saying how to get one; under CI (``CI`` set) they fail
instead, because CI must run them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from soundscape.demo.livekit_local import HOW_TO_GET, LocalServer, find_server_binary
from soundscape.errors import ServerUnavailable


@pytest.fixture(scope="session")
def livekit_process() -> Iterator[LocalServer]:
    if find_server_binary() is None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the end-to-end tests, but {HOW_TO_GET}")
        pytest.skip(HOW_TO_GET)
    server = LocalServer()
    try:
        server.start()
    except ServerUnavailable as e:
        pytest.fail(str(e))
    yield server
    server.cleanup()


@pytest.fixture
def livekit_server(
    livekit_process: LocalServer, request: pytest.FixtureRequest
) -> Iterator[LocalServer]:
    """The running server: ``.url``, ``.api_key``, ``.api_secret``, ``.token(identity, room)``."""
    server = livekit_process
    if not server.running:
        pytest.fail(f"livekit-server is no longer running; its log ends:\n{server.log_tail()}")
    offset = len(server.log_text())
    failed_before = request.session.testsfailed
    yield server
    # The call phase has been reported by now, so a failure of this test is already counted.
    if request.session.testsfailed > failed_before:
        lines = server.log_text()[offset:].splitlines()
        text = "\n".join(lines[-150:])
        reporter = request.config.pluginmanager.get_plugin("terminalreporter")
        header = f"livekit-server log during {request.node.nodeid} ({server.log_path})"
        if reporter is not None:
            reporter.write_sep("-", header)
            reporter.write_line(text)
        else:  # pragma: no cover - only without the terminal plugin
            print(header, text, sep="\n")
