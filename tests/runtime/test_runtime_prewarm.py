"""`soundscape.prewarm()`: what a worker's setup_fnc does so that a call's start() is light."""

from __future__ import annotations

import asyncio
import os
from types import SimpleNamespace

import pytest
from support.room import FakeRoom
from support.tone_scene import write_tone_scene

import soundscape
from soundscape.engine import plan as plan_module
from soundscape.runtime import Soundscape, prewarm


def test_a_prewarmed_scene_is_loaded_once_and_start_decodes_nothing(tmp_path, monkeypatch):
    path = write_tone_scene(tmp_path)
    proc = SimpleNamespace(userdata={})
    prewarm(proc, path)
    assert set(proc.userdata["soundscape"]) == {str(path)}
    first = Soundscape(path)
    assert first.scene is proc.userdata["soundscape"][str(path)]

    def no_decoding(*a: object, **k: object) -> None:
        raise AssertionError("start() decoded a clip after prewarm")

    monkeypatch.setattr(plan_module, "default_loader", no_decoding)

    async def run() -> None:
        scape = Soundscape(path, seed=1)
        await scape.start(room=FakeRoom())
        await asyncio.sleep(0.1)
        assert scape.running and scape.metrics.render_errors == 0
        await scape.aclose()

    asyncio.run(run())


def test_an_edited_scene_is_loaded_afresh(tmp_path):
    path = write_tone_scene(tmp_path)
    prewarm(None, path)
    before = Soundscape(path).scene
    text = path.read_text().replace("gain: 0.3", "gain: 0.2")
    path.write_text(text)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # a new mtime, surely
    after = Soundscape(path).scene
    assert after is not before
    assert after.layers["bed"].gain == pytest.approx(0.2)


def test_other_formats_and_untrusted_loads_do_not_use_it(tmp_path):
    path = write_tone_scene(tmp_path)
    prewarm(None, path)
    warm = Soundscape(path).scene
    stereo = Soundscape(path, channels=2)
    assert stereo.scene is warm and stereo._compile().channels == 2
    untrusted = Soundscape(path, policy=soundscape.Policy.untrusted([tmp_path]))
    assert untrusted.scene is not warm and not untrusted.scene.policy.trusted


def test_a_bad_scene_fails_the_prewarm_with_file_and_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nlayers:\n  bed: {source: missing.wav, gain: loud}\n")
    with pytest.raises(soundscape.SceneError) as e:
        prewarm(None, bad)
    assert "bad.yaml:3" in str(e.value)
