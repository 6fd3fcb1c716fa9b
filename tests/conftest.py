"""Shared test helpers: writing scene files and reading diagnostics."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# The real LiveKit server, started once per session by the tests that ask for it.
pytest_plugins = ["support.livekit_fixtures"]


@pytest.fixture(scope="session", autouse=True)
def session_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every test, and every process a test starts, caches decoded clips in one throwaway
    folder, never in the user's ``~/.cache/soundscape``. A test that wants another folder
    sets ``SOUNDSCAPE_CACHE_DIR`` itself (``monkeypatch.setenv``)."""
    d = tmp_path_factory.mktemp("soundscape-cache")
    keys = (
        "SOUNDSCAPE_CACHE_DIR",
        "SOUNDSCAPE_CACHE_MAX",
        "MPLCONFIGDIR",
        "XDG_CONFIG_HOME",
        "XDG_CACHE_HOME",
    )
    saved = {k: os.environ.get(k) for k in keys}
    os.environ["SOUNDSCAPE_CACHE_DIR"] = str(d)  # os.environ: subprocesses inherit it
    # matplotlib (the --plot tests) keeps its font cache in ~/.cache or ~/.config otherwise.
    os.environ["MPLCONFIGDIR"] = str(tmp_path_factory.mktemp("matplotlib"))
    # PortAudio's PulseAudio client (console tests) leaves ~/.config/pulse behind otherwise.
    os.environ["XDG_CONFIG_HOME"] = str(tmp_path_factory.mktemp("xdg-config"))
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))
    os.environ.pop("SOUNDSCAPE_CACHE_MAX", None)  # the documented default, whatever the shell says
    yield d
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture
def bench_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """bench/'s result files go to tmp_path/out, not bench/out (the bench tests use it)."""
    from bench.lib import common

    out = tmp_path / "out"
    monkeypatch.setattr(common, "OUT", out)
    return out


@pytest.fixture
def write_scene(tmp_path: Path) -> Callable[..., Path]:
    """Write a dedented scene (or any file) under tmp_path and return its path."""

    def write(text: str, name: str = "scene.yaml") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write
