"""The package's public names: listed by `dir()`, all importable, and light to import."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys

import pytest


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
