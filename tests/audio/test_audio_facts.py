"""`soundscape lint` keeps what it measured about each clip, so the next run starts fast.

Measuring is numpy, often PyAV, and a pass over every sample; the next run reads a small
record instead, and must give exactly the same diagnostics, and notice when a file changed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from support.audio_checks import sine, write_wav

SCENE = """\
version: 1
sounds:
  quiet: quiet.wav
layers:
  bed: {source: bed.wav, gain: 0.5}
states:
  idle: {cues: [quiet]}
"""

# Lint in a fresh interpreter (as a user runs it) and report which heavy modules it loaded.
PROBE = """
import sys
from soundscape.cli.main import main
try:
    code = main(["lint", sys.argv[1]])
except SystemExit as e:
    code = e.code
print("MODULES", "numpy" in sys.modules, "av" in sys.modules, code)
"""


def lint(scene: Path, cache: Path | str) -> tuple[str, bool, bool]:
    env = {**os.environ, "SOUNDSCAPE_CACHE_DIR": str(cache)}
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(scene)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    ).stdout
    text, probe = out.rsplit("MODULES ", 1)
    numpy_loaded, av_loaded, _ = probe.split()
    return text, numpy_loaded == "True", av_loaded == "True"


@pytest.fixture
def scene(tmp_path: Path) -> Path:
    write_wav(tmp_path / "quiet.wav", sine(440, 0.5, 10 ** (-70 / 20)))  # SC404: near silent
    write_wav(tmp_path / "bed.wav", sine(1000, 2.0, 0.5))  # inside the phone band
    path = tmp_path / "scene.yaml"
    path.write_text(SCENE)
    return path


def test_the_second_run_reads_the_records_and_says_the_same(scene: Path, tmp_path: Path):
    cache = tmp_path / "cache"
    first, numpy1, _ = lint(scene, cache)
    assert "SC404" in first and "quiet.wav" in first
    assert numpy1  # measured: the samples were read
    records = list((cache / "lint-v1").glob("*.json"))
    assert len(records) >= 2  # one per clip and measurement
    second, numpy2, av2 = lint(scene, cache)
    assert second == first
    assert not numpy2 and not av2  # neither numpy nor PyAV: that is the start-up time saved


def test_an_edited_clip_is_measured_again(scene: Path, tmp_path: Path):
    cache = tmp_path / "cache"
    assert "SC404" in lint(scene, cache)[0]
    # Same name, same length: now a real tone. A stale record would still say "silent".
    write_wav(scene.parent / "quiet.wav", sine(440, 0.5, 0.5))
    st = (scene.parent / "quiet.wav").stat()
    os.utime(scene.parent / "quiet.wav", ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    text, numpy_loaded, _ = lint(scene, cache)
    assert "SC404" not in text and "no problems found" in text
    assert numpy_loaded


def test_broken_records_are_measured_again_and_rewritten(scene: Path, tmp_path: Path):
    cache = tmp_path / "cache"
    first = lint(scene, cache)[0]
    records = sorted((cache / "lint-v1").glob("*.json"))
    records[0].write_text("{not json")
    other = json.loads(records[1].read_text())
    other["value"] = {"peak": "loud"}  # the right key, a value of the wrong shape
    other["key"]["size"] += 1  # ... and for another version of the file
    records[1].write_text(json.dumps(other))
    again, numpy_loaded, _ = lint(scene, cache)
    assert again == first and numpy_loaded
    assert all(json.loads(r.read_text())["key"]["size"] > 0 for r in records)
    assert lint(scene, cache)[1] is False  # rewritten: the third run reads them again


def test_records_of_a_wrong_shape_are_not_trusted(scene: Path, tmp_path: Path):
    cache = tmp_path / "cache"
    first = lint(scene, cache)[0]
    for r in (cache / "lint-v1").glob("*.json"):
        rec = json.loads(r.read_text())
        rec["value"] = {"peak": 0.5, "unknown_field": 1}
        r.write_text(json.dumps(rec))
    assert lint(scene, cache)[0] == first


def test_with_the_cache_off_nothing_is_written(scene: Path, tmp_path: Path):
    text, numpy_loaded, _ = lint(scene, "off")
    assert "SC404" in text and numpy_loaded
    assert not (tmp_path / "cache").exists()


def test_a_trim_is_part_of_what_was_measured(tmp_path: Path):
    # The same file, trimmed to its silent first second and untrimmed: two records.
    write_wav(tmp_path / "late.wav", np.concatenate([np.zeros((48000, 1)), sine(440, 1.0)]))
    path = tmp_path / "scene.yaml"
    path.write_text(
        "version: 1\nsounds:\n  late: {source: late.wav, trim: {end: 900ms}}\n"
        "  whole: late.wav\nstates:\n  idle: {cues: [late, whole]}\n"
    )
    cache = tmp_path / "cache"
    first = lint(path, cache)[0]
    assert first.count("SC404") == 1 and "3:18" in first
    assert lint(path, cache)[0] == first
