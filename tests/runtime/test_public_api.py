"""The package's public names: exactly these, listed by `dir()`, all importable, and light
to import."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import typing

import pytest

PUBLIC = [
    "AssetError",
    "ClosedEvent",
    "Diagnostic",
    "EventTypes",
    "GraphvizMissing",
    "LiveOptions",
    "PlayHandle",
    "PlotUnavailable",
    "Policy",
    "ReloadResult",
    "ScaffoldError",
    "SceneError",
    "ServerUnavailable",
    "Soundscape",
    "SoundscapeError",
    "SoundscapeMetrics",
    "StateChangedEvent",
    "TriggerEvent",
    "VoiceEndedEvent",
    "VoiceStartedEvent",
    "from_background_audio",
    "logger",
    "prewarm",
]


def test_the_public_names_are_exactly_these() -> None:
    import soundscape

    # A name added or removed here is an API change: the docs must say so too.
    assert sorted(soundscape.__all__) == PUBLIC


def test_every_error_is_a_soundscape_error() -> None:
    import soundscape

    # One `except soundscape.SoundscapeError` catches whatever soundscape raises on purpose.
    for name in (
        "SceneError",
        "AssetError",
        "ScaffoldError",
        "GraphvizMissing",
        "PlotUnavailable",
        "ServerUnavailable",
    ):
        assert issubclass(getattr(soundscape, name), soundscape.SoundscapeError), name


def test_each_event_object_names_its_event() -> None:
    import soundscape

    assert {
        cls.__dataclass_fields__["type"].default
        for cls in (
            soundscape.StateChangedEvent,
            soundscape.TriggerEvent,
            soundscape.VoiceStartedEvent,
            soundscape.VoiceEndedEvent,
            soundscape.ClosedEvent,
        )
    } == set(typing.get_args(soundscape.EventTypes))


@pytest.mark.parametrize("package", ["soundscape", "soundscape.audio"])
def test_every_public_name_is_in_dir_and_resolves(package: str) -> None:
    mod = importlib.import_module(package)
    listed = dir(mod)
    assert listed == sorted(listed)
    missing = [name for name in mod.__all__ if name not in listed]
    assert missing == [], f"{package}: in __all__ but not in dir(): {missing}"
    for name in mod.__all__:
        assert getattr(mod, name) is not None


def test_dir_and_help_do_not_import_livekit_agents() -> None:
    # Tab completion (dir) and `soundscape --help` must stay fast: no livekit-agents import.
    code = (
        "import sys, contextlib, io\n"
        "import soundscape\n"
        "names = dir(soundscape)\n"
        "assert 'from_background_audio' in names and 'Soundscape' in names, names\n"
        "assert not [m for m in sys.modules if m.startswith('livekit')], 'livekit imported'\n"
        "from soundscape.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        "        main(['--help'])\n"
        "    except SystemExit:\n"
        "        pass\n"
        "assert 'livekit.agents' not in sys.modules, 'livekit.agents imported'\n"
    )
    res = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        check=False,
    )
    assert res.returncode == 0, res.stderr
