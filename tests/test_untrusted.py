"""Untrusted scenes: files only from the asset roots, no escapes, bounded size."""

from __future__ import annotations

import os
import wave
from pathlib import Path

import numpy as np
import pytest

from soundscape.audio import Limits
from soundscape.cli.main import main
from soundscape.errors import AssetError, SceneError
from soundscape.scene import load
from soundscape.scene.policy import Policy


def tone(path: Path, seconds: float = 0.2) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = (0.3 * np.sin(2 * np.pi * 440 * np.arange(int(48000 * seconds)) / 48000) * 32767).astype(
        "<i2"
    )
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(48000)
        w.writeframes(data.tobytes())
    return path


@pytest.fixture
def roots(tmp_path: Path) -> tuple[Path, Path]:
    """An asset root holding a scene folder and a sound; a secret next to it."""
    root = tmp_path / "tenant"
    tone(root / "sounds" / "ok.wav")
    tone(tmp_path / "secret.wav")
    return root, tmp_path / "secret.wav"


def scene_at(root: Path, source: str, extra: str = "", name: str = "scene.yaml") -> Path:
    path = root / name
    path.write_text(f"version: 1\nlayers:\n  bed: {{source: '{source}'}}\n{extra}", "utf-8")
    return path


def diag(path: Path, policy: Policy):
    with pytest.raises(SceneError) as ei:
        load(path, policy=policy)
    return ei.value.diagnostics[0]


def test_a_file_inside_the_roots_and_builtins_are_fine(roots):
    root, _ = roots
    path = scene_at(root, "sounds/ok.wav", "  hum: {source: builtin:room-tone}\n")
    scene = load(path, policy=Policy.untrusted([root]))
    assert set(scene.layers) == {"bed", "hum"}


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("../secret.wav", "climbs out with '..'"),
        ("sounds/../../secret.wav", "climbs out with '..'"),
        ("/etc/passwd", "absolute paths are not allowed"),
        ("~/x.wav", "absolute paths are not allowed"),
    ],
)
def test_escapes_are_refused_with_position(roots, source, fragment):
    root, _ = roots
    d = diag(scene_at(root, source), Policy.untrusted([root]))
    assert (d.code, d.pos.line, d.pos.col) == ("SC601", 3, 17)
    assert fragment in d.message


def test_symlink_escape_is_refused_at_load_and_at_open(roots):
    root, secret = roots
    (root / "sounds" / "link.wav").symlink_to(secret)
    d = diag(scene_at(root, "sounds/link.wav"), Policy.untrusted([root]))
    assert "escapes through a symlink" in d.message
    # A file swapped for a symlink after the scene loaded is still refused when opened.
    loader = Policy.untrusted([root]).loader()
    with pytest.raises(AssetError, match="outside the allowed asset roots"):
        loader(root / "sounds" / "link.wav", 48000, 1)
    assert loader(root / "sounds" / "ok.wav", 48000, 1).frames == 9600


def test_device_and_fifo_are_refused(roots):
    root, _ = roots
    os.mkfifo(root / "sounds" / "pipe.wav")
    d = diag(scene_at(root, "sounds/pipe.wav"), Policy.untrusted([root]))
    assert "not a regular file" in d.message


def test_no_roots_means_builtins_only(roots):
    root, _ = roots
    d = diag(scene_at(root, "sounds/ok.wav"), Policy.untrusted([]))
    assert "only use built-in clips" in d.message


def test_extends_outside_the_roots_is_refused(roots, tmp_path):
    root, _ = roots
    (tmp_path / "base.yaml").write_text("version: 1\n", "utf-8")
    path = root / "child.yaml"
    path.write_text("version: 1\nextends: ../base.yaml\n", "utf-8")
    d = diag(path, Policy.untrusted([root]))
    assert (d.code, d.pos.line, d.pos.col) == ("SC004", 2, 10)
    assert load(path).version == 1  # trusted, it is fine


def test_size_limits(roots):
    root, _ = roots
    layers = "".join(f"  l{i}: builtin:room-tone\n" for i in range(5))
    path = root / "big.yaml"
    path.write_text(f"version: 1\nmaster: {{max_voices: 200}}\nlayers:\n{layers}", "utf-8")
    with pytest.raises(SceneError) as ei:
        load(path, policy=Policy.untrusted([root], max_layers=4))
    got = {(d.code, d.pos.line) for d in ei.value.diagnostics}
    assert got == {("SC602", 2), ("SC602", 3)}


def test_clip_limits_apply_when_decoding(roots):
    root, _ = roots
    long = tone(root / "sounds" / "long.wav", seconds=3.0)
    loader = Policy.untrusted([root], limits=Limits(max_seconds=1.0)).loader()
    with pytest.raises(AssetError, match="limit"):
        loader(long, 48000, 1)


def test_lint_cli_untrusted_flag(roots, capsys):
    root, _ = roots
    path = scene_at(root, "../secret.wav")
    assert main(["lint", "--no-assets", str(path)]) == 0
    capsys.readouterr()
    assert main(["lint", "--no-assets", "--untrusted", "--asset-root", str(root), str(path)]) == 1
    assert "SC601" in capsys.readouterr().out


def test_an_untrusted_scene_cannot_silence_its_sandbox(roots):
    root, _ = roots
    path = root / "sneaky.yaml"
    path.write_text(
        "version: 1\nlayers:\n  # soundscape: disable=SC601,untrusted-source,all\n"
        "  bed: {source: ../secret.wav}  # soundscape: disable=SC601\n",
        "utf-8",
    )
    assert diag(path, Policy.untrusted([root])).code == "SC601"


async def test_the_runtime_loads_and_plays_under_the_untrusted_policy(roots, tmp_path):
    import soundscape

    root, secret = roots
    bad = scene_at(root, "../secret.wav")
    with pytest.raises(SceneError) as ei:
        soundscape.load(bad, trusted=False, asset_roots=[root])
    assert ei.value.diagnostics[0].code == "SC601"

    good = scene_at(root, "sounds/ok.wav", name="good.yaml")
    scape = soundscape.load(good, trusted=False, asset_roots=[root])
    assert not scape.policy.trusted
    # The file is swapped for a symlink to the secret after loading: start() refuses it.
    ok = root / "sounds" / "ok.wav"
    ok.unlink()
    ok.symlink_to(secret)
    frames: list = []
    with pytest.raises(AssetError, match="outside the allowed asset roots"):
        await scape.start(frame_sink=frames.append)
    assert not scape.running
    # Switching to another scene keeps the same policy.
    tone(ok.with_name("fine.wav"))
    fine = scene_at(root, "sounds/fine.wav", name="fine.yaml")
    scape2 = soundscape.load(fine, trusted=False, asset_roots=[root])
    await scape2.start(frame_sink=frames.append)
    try:
        with pytest.raises(SceneError):
            await scape2.switch(bad)
        assert scape2.running
    finally:
        await scape2.aclose()
