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
        ("../secret.wav", "climbs out of the allowed asset roots with '..'"),
        ("sounds/../../secret.wav", "climbs out of the allowed asset roots with '..'"),
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
    assert "leads out of the allowed asset roots through a symlink" in d.message
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
        soundscape.Soundscape(bad, policy=Policy.untrusted([root]))
    assert ei.value.diagnostics[0].code == "SC601"

    good = scene_at(root, "sounds/ok.wav", name="good.yaml")
    scape = soundscape.Soundscape(good, policy=Policy.untrusted([root]))
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
    scape2 = soundscape.Soundscape(fine, policy=Policy.untrusted([root]))
    await scape2.start(frame_sink=frames.append)
    try:
        with pytest.raises(SceneError):
            await scape2.switch(bad)
        assert scape2.running
    finally:
        await scape2.aclose()


# --- nothing outside the roots is touched --------------------------------------------


@pytest.fixture
def trap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path, list[str]]:
    """An asset root, and beside it a folder the scene must not touch: any open, stat,
    lstat or readlink of a path under it is recorded. Its ``pipe.wav`` is a FIFO, so an
    open that slipped past the recorder would block (and fail the run) rather than pass."""
    import builtins
    import io

    import av

    root = tmp_path / "tenant"
    tone(root / "ok.wav")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "passwd").write_text("root:x:0:0::/root:/bin/sh\n", "utf-8")
    os.mkfifo(outside / "pipe.wav")
    (outside / "dir").mkdir()
    (outside / "dir" / "base.yaml").write_text("version: 1\n", "utf-8")
    (root / "link.wav").symlink_to(outside / "passwd")
    (root / "pipelink.wav").symlink_to(outside / "pipe.wav")
    (root / "hop").symlink_to(outside / "dir")  # a folder link: `hop/x.wav` leaves the root
    touched: list[str] = []

    def spy(fn):
        def wrapper(path, *args, **kwargs):
            if isinstance(path, (str, os.PathLike)) and str(os.fspath(path)).startswith(
                str(outside)
            ):
                touched.append(f"{fn.__name__}({os.fspath(path)})")
                raise PermissionError(13, "touched outside the roots", str(path))
            return fn(path, *args, **kwargs)

        return wrapper

    for mod, name in [(os, "open"), (os, "stat"), (os, "lstat"), (os, "readlink"),
                      (builtins, "open"), (io, "open"), (av, "open")]:  # fmt: skip
        monkeypatch.setattr(mod, name, spy(getattr(mod, name)))
    return root, outside, touched


def _escaping_scene(root: Path, outside: Path) -> Path:
    up = os.path.relpath(outside, root)  # ../outside
    path = root / "scene.yaml"
    path.write_text(
        "version: 1\n"
        "sounds:\n"
        f"  dots: {up}/passwd\n"
        f"  deep: ok.wav/../../../../../../../..{outside}/pipe.wav\n"
        f"  absolute: {outside}/passwd\n"
        "  link: link.wav\n"
        "  pipe: pipelink.wav\n"
        "  hop: hop/x.wav\n"
        "  back: hop/../passwd\n"  # `..` after a link: the link's parent, outside
        "layers:\n"
        "  a: {sound: dots}\n"
        "  b: {sound: deep}\n"
        "  c: {sound: absolute}\n"
        "  d: {sound: link}\n"
        "  e: {sound: pipe}\n"
        "  f: {sound: hop}\n"
        "  i: {sound: back}\n"
        "  g: {source: ok.wav}\n"
        f"  h: {{source: {up}/pipe.wav}}\n",
        "utf-8",
    )
    return path


def test_lint_untrusted_opens_nothing_outside_the_roots(trap, capsys):
    root, outside, touched = trap
    path = _escaping_scene(root, outside)
    code = main(["lint", "--untrusted", "--asset-root", str(root), "-j", "1", str(path)])
    out = capsys.readouterr().out
    assert touched == []
    assert code == 1
    codes = [line.rsplit("[", 1)[1].rstrip("]") for line in out.splitlines() if ": error: " in line]
    assert codes == ["SC601"] * 8, out  # one per escaping source, nothing sniffed or decoded


def test_loading_untrusted_opens_nothing_outside_the_roots(trap):
    import soundscape

    root, outside, touched = trap
    path = _escaping_scene(root, outside)
    with pytest.raises(SceneError) as ei:
        soundscape.Soundscape(path, policy=Policy.untrusted([root]))
    assert touched == []
    assert [d.code for d in ei.value.diagnostics] == ["SC601"] * 8
    # The clip loader re-checks at open time, again without following the link out.
    loader = Policy.untrusted([root]).loader()
    for name in ("link.wav", "pipelink.wav", "hop/x.wav", "hop/../passwd"):
        with pytest.raises(AssetError, match="outside the allowed asset roots"):
            loader(root / name, 48000, 1)
    assert touched == []
    assert loader(root / "ok.wav", 48000, 1).frames == 9600


def test_extends_through_a_symlink_out_of_the_roots_touches_nothing(trap):
    root, _, touched = trap
    path = root / "child.yaml"
    path.write_text("version: 1\ninclude: [hop/base.yaml]\n", "utf-8")
    d = diag(path, Policy.untrusted([root]))
    assert touched == []
    assert d.code == "SC004"
    assert d.message == (
        "an untrusted scene may only include files inside the asset roots; "
        "'hop/base.yaml' is outside"
    )


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("../secret.wav", "'../secret.wav' climbs out of the allowed asset roots with '..' ({root})"),
        ("sounds/link.wav", "'sounds/link.wav' leads out of the allowed asset roots through a symlink ({root})"),
    ],
)  # fmt: skip
def test_escape_messages_read_as_sentences(roots, source, message):
    root, secret = roots
    (root / "sounds" / "link.wav").symlink_to(secret)
    d = diag(scene_at(root, source), Policy.untrusted([root]))
    assert d.message == message.format(root=root.resolve())


@pytest.mark.parametrize(("key", "verb"), [("extends", "extend"), ("include", "include")])
def test_extends_and_include_messages_name_the_verb(roots, tmp_path, key, verb):
    root, _ = roots
    (tmp_path / "base.yaml").write_text("version: 1\n", "utf-8")
    path = root / "child.yaml"
    path.write_text(f"version: 1\n{key}: ../base.yaml\n", "utf-8")
    assert diag(path, Policy.untrusted([root])).message == (
        f"an untrusted scene may only {verb} files inside the asset roots; '../base.yaml' is outside"
    )


def test_symlinks_that_stay_inside_the_roots_are_fine(roots):
    root, _ = roots
    sounds = root / "sounds"
    (sounds / "rel.wav").symlink_to("ok.wav")
    (sounds / "abs.wav").symlink_to(sounds / "ok.wav")
    (root / "alias").symlink_to(sounds)  # a folder link, followed by `..` back into it
    (sounds / "loop.wav").symlink_to("loop.wav")
    policy = Policy.untrusted([root])
    real = (sounds / "ok.wav").resolve()
    for name in ("sounds/rel.wav", "sounds/abs.wav", "alias/rel.wav", "alias/../sounds/ok.wav"):
        assert policy.confined(root / name) == real, name
        assert policy.source_problem(name, root) is None, name
    assert policy.confined(root / "sounds" / "loop.wav") is None
    assert policy.confined(root / "sounds" / "missing.wav") == root.resolve() / "sounds/missing.wav"
