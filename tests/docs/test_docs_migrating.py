"""Every scene in docs/migrating-from-background-audio.md loads and lints clean."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from support.audio_checks import sine, write_wav

from soundscape.lint import lint_file
from soundscape.scene import load

DOC = Path(__file__).resolve().parents[2] / "docs/migrating-from-background-audio.md"
BLOCKS = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), re.S)


def test_the_guide_has_its_scenes():
    assert len(BLOCKS) >= 8


@pytest.mark.parametrize("text", [b for b in BLOCKS if b.startswith("version:")])
def test_guide_scene_loads_and_lints_clean(text: str, tmp_path: Path):
    for rel in set(re.findall(r"sounds/[\w.-]+\.wav", text)):
        (tmp_path / "sounds").mkdir(exist_ok=True)
        write_wav(tmp_path / rel, sine(440.0, 0.5, 0.3))
    path = tmp_path / "scene.yaml"
    path.write_text(text)
    load(path)
    assert [str(d) for d in lint_file(path)] == []
