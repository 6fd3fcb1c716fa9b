"""`soundscape cache warm|info|clear`: what an operator building an image or looking after a
host sees, and that a warmed cache really spares the agent processes the decoding."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from support.audio_checks import sine, write_wav

import soundscape.audio.cache as cache_mod
import soundscape.audio.clips as clips_mod
from soundscape.audio import clear_memory_cache, load_clip
from soundscape.cli.main import main
from soundscape.scene.sources import builtin_catalog

RATE = 48_000


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    d = tmp_path / "cache"
    monkeypatch.setenv("SOUNDSCAPE_CACHE_DIR", str(d))
    monkeypatch.delenv("SOUNDSCAPE_CACHE_MAX", raising=False)
    monkeypatch.setattr(cache_mod, "_warned", set())
    clear_memory_cache()
    yield d
    clear_memory_cache()


def cli(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    code = main(["cache", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


@pytest.fixture
def scenes(tmp_path: Path) -> Path:
    """A folder of scenes: one extends another and includes a fragment with a pool, and
    built-ins and files in a subfolder are used; all clips are tones written here."""
    d = tmp_path / "scenes"
    (d / "audio").mkdir(parents=True)
    for name, freq in (("bed", 110), ("ring1", 440), ("ring2", 550), ("blip", 880)):
        write_wav(d / "audio" / f"{name}.wav", sine(freq, 0.5))
    write(d / "base.yaml", """
        version: 1
        layers:
          bed: {source: audio/bed.wav, gain: 0.3}
        states: {idle: {}, thinking: {}}
    """)  # fmt: skip
    write(d / "parts" / "phones.yaml", """
        version: 1
        sounds:
          ring:
            variants:
              - ../audio/ring1.wav
              - {source: ../audio/ring2.wav, trim: {end: 0.2s}}
    """)  # fmt: skip
    write(d / "main.yaml", """
        version: 1
        extends: base.yaml
        include: parts/phones.yaml
        states:
          thinking:
            cues:
              - {source: builtin:chime}
              - {source: audio/blip.wav}
    """)  # fmt: skip
    return d


def entry_for(cache: Path, path: Path, rate: int, channels: int) -> Path:
    return cache_mod.DiskCache(cache).entry(cache_mod.SourceId.of(path), rate, channels)


# ---------------------------------------------------------------- warm


def test_warm_decodes_every_clip_the_scenes_use_so_agents_only_map_them(
    cache_dir: Path, scenes: Path, capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    code, out, err = cli(capsys, "warm", scenes, "--rate", "48000", "--rate", "16000")
    assert code == 0, err
    clips = [scenes / "audio" / f"{n}.wav" for n in ("bed", "ring1", "ring2", "blip")]
    clips.append(builtin_catalog()["chime"])
    for rate in (48000, 16000):
        for clip in clips:  # the extended base's bed, the included pool, a built-in
            assert entry_for(cache_dir, clip, rate, 1).is_file(), (clip, rate)
    assert f"{scenes / 'main.yaml'}: 5 clips at 48000 Hz mono (" in out
    assert f"{scenes / 'main.yaml'}: 5 clips at 16000 Hz mono (" in out
    assert "cache " in out and "10 entries" in out

    # An agent process starting now maps every clip: it could not even decode one.
    clear_memory_cache()

    def refuse(*a: Any, **kw: Any) -> np.ndarray:
        raise AssertionError("decoded although the cache was warmed")

    monkeypatch.setattr(clips_mod, "decode_file", refuse)
    for clip in clips:
        got = load_clip(clip, 16000, 1)
        assert got.cache_file == str(entry_for(cache_dir, clip, 16000, 1))

    # Warming again finds everything there.
    code, out, _ = cli(capsys, "warm", scenes / "main.yaml", "--rate", "16000")
    assert code == 0
    assert "5 clips at 16000 Hz mono (0 decoded, 5 already cached)" in out


def test_warm_stereo(cache_dir: Path, scenes: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "warm", scenes / "base.yaml", "--channels", "2")
    assert code == 0
    assert "1 clip at 48000 Hz stereo (1 decoded, 0 already cached)" in out
    assert entry_for(cache_dir, scenes / "audio" / "bed.wav", 48000, 2).is_file()
    assert not entry_for(cache_dir, scenes / "audio" / "bed.wav", 48000, 1).exists()


def test_warm_reports_a_bad_scene_with_file_and_line(
    cache_dir: Path, scenes: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = write(scenes / "zz-bad.yaml", """
        version: 1
        layers:
          bed: {source: audio/bed.wav, gain: loud}
        states: {idle: {}}
    """)  # fmt: skip
    code, out, err = cli(capsys, "warm", scenes)
    assert code == 1
    assert f"{bad}:3:" in err and "gain" in err
    assert "Traceback" not in err
    assert "main.yaml: 5 clips" in out  # the good scenes are still warmed


def test_warm_reports_a_missing_clip_with_where_the_scene_names_it(
    cache_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scene = write(tmp_path / "s.yaml", """
        version: 1
        layers:
          bed: {source: nowhere.wav}
        states: {idle: {}}
    """)  # fmt: skip
    code, _, err = cli(capsys, "warm", scene)
    assert code == 1
    assert "nowhere.wav: file not found" in err and f"{scene}:3:" in err


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (["warm", "missing-folder"], {}, "'missing-folder' does not exist"),
        (["warm", "SCENES", "--rate", "4000"], {}, "--rate 4000 is not between 8000 and 192000"),
        (["warm", "SCENES"], {"SOUNDSCAPE_CACHE_DIR": "off"}, "the cache is off"),
        (["warm", "SCENES"], {"SOUNDSCAPE_CACHE_MAX": "huge"}, "'huge' is not a size"),
        (["warm", "EMPTY"], {}, "no *.yaml or *.yml scene files in"),
    ],
)
def test_warm_refuses_bad_input_with_a_clear_message(
    cache_dir: Path,
    scenes: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    env: dict[str, str],
    message: str,
) -> None:
    (tmp_path / "empty").mkdir()
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    where = {"SCENES": str(scenes), "EMPTY": str(tmp_path / "empty")}
    code, _, err = cli(capsys, *(where.get(a, a) for a in argv))
    assert code == 2
    assert message in err
    assert not (cache_dir / "clips-v1").exists()


def test_warm_fails_where_the_cache_cannot_be_written(
    scenes: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    blocker = tmp_path / "a-file"  # a folder under a file cannot be made, even by root
    blocker.write_text("")
    monkeypatch.setenv("SOUNDSCAPE_CACHE_DIR", str(blocker / "cache"))
    code, _, err = cli(capsys, "warm", scenes)
    assert code == 2
    assert f"cannot write the cache folder {blocker / 'cache'}" in err
    assert "set SOUNDSCAPE_CACHE_DIR to a writable folder" in err


def test_warm_says_when_the_clips_do_not_fit_in_the_limit(
    cache_dir: Path, scenes: Path, capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    monkeypatch.setenv("SOUNDSCAPE_CACHE_MAX", "150kB")  # one 0.5 s clip is 96 kB
    code, _, err = cli(capsys, "warm", scenes / "main.yaml")
    assert code == 1
    assert "did not fit within the limit 146.5 KiB" in err
    assert "raise SOUNDSCAPE_CACHE_MAX" in err


# ---------------------------------------------------------------- info


def test_info_shows_the_folder_entries_size_limit_and_writability(
    cache_dir: Path, scenes: Path, capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    code, out, _ = cli(capsys, "info")
    assert code == 0
    assert f"folder:   {cache_dir} (from SOUNDSCAPE_CACHE_DIR)" in out
    assert "writable: yes" in out
    assert "entries:  0 decoded clips, 0 B" in out
    assert "limit:    1.0 GiB (default)" in out

    cli(capsys, "warm", scenes / "base.yaml")
    monkeypatch.setenv("SOUNDSCAPE_CACHE_MAX", "2GiB")
    code, out, _ = cli(capsys, "info", "--json")
    assert code == 0
    info = json.loads(out)
    files = list((cache_dir / "clips-v1").glob("*-*.*"))
    assert info == info | {
        "enabled": True,
        "folder": str(cache_dir),
        "folder_from": "SOUNDSCAPE_CACHE_DIR",
        "writable": True,
        "entries": 1,
        "clips_bytes": sum(f.stat().st_size for f in files),
        "limit_bytes": 2 * 1024**3,
        "limit_from": "SOUNDSCAPE_CACHE_MAX",
    }
    assert len(files) == 2  # the bed's .npy and .json


def test_info_on_an_unwritable_or_disabled_cache(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("SOUNDSCAPE_CACHE_DIR", str(blocker / "cache"))
    code, out, _ = cli(capsys, "info")
    assert code == 0
    assert "writable: no: clips are decoded in each process; set SOUNDSCAPE_CACHE_DIR" in out
    code, out, _ = cli(capsys, "info", "--json")
    assert json.loads(out)["writable"] is False
    assert not (blocker / "cache").exists()

    monkeypatch.setenv("SOUNDSCAPE_CACHE_DIR", "off")
    code, out, _ = cli(capsys, "info")
    assert code == 0 and "cache: off" in out
    code, out, _ = cli(capsys, "info", "--json")
    assert json.loads(out)["enabled"] is False


def test_info_names_a_bad_limit(
    cache_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOUNDSCAPE_CACHE_MAX", "12 parsecs")
    code, out, err = cli(capsys, "info")
    assert code == 2
    assert "SOUNDSCAPE_CACHE_MAX: '12 parsecs' is not a size like 500MB, 2GiB or off" in err
    assert "limit:    1.0 GiB (default)" in out


# ---------------------------------------------------------------- clear


def test_clear_removes_entries_while_a_process_keeps_its_mapped_clip(
    cache_dir: Path, scenes: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cli(capsys, "warm", scenes / "main.yaml")
    clear_memory_cache()
    bed = scenes / "audio" / "bed.wav"
    playing = load_clip(bed, RATE, 1)  # an agent playing the bed from its mapping
    assert isinstance(playing.samples.base, np.memmap)
    size = sum(f.stat().st_size for f in (cache_dir / "clips-v1").glob("*-*.*"))
    code, out, _ = cli(capsys, "clear")
    assert code == 0
    assert f"removed 5 decoded clips ({size / 1024:.1f} KiB) and 0 lint records" in out
    assert [p.name for p in (cache_dir / "clips-v1").iterdir()] == [".lock"]
    assert np.array_equal(playing.samples, np.round(sine(110, 0.5) * 32767) / 32768)
    code, out, _ = cli(capsys, "info")
    assert "entries:  0 decoded clips, 0 B" in out
    code, out, _ = cli(capsys, "clear")  # nothing left: still fine
    assert code == 0 and "removed 0 decoded clips (0 B)" in out


def test_clear_removes_lint_records_too(
    cache_dir: Path, scenes: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["lint", str(scenes / "base.yaml")]) == 0
    records = list((cache_dir / "lint-v1").glob("*.json"))
    assert records
    capsys.readouterr()
    code, out, _ = cli(capsys, "clear")
    assert code == 0 and f"and {len(records)} lint records" in out
    assert not list((cache_dir / "lint-v1").glob("*.json"))


def test_clear_when_the_cache_is_off(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOUNDSCAPE_CACHE_DIR", "off")
    code, out, _ = cli(capsys, "clear")
    assert code == 0 and "nothing to clear" in out


# ---------------------------------------------------------------- start-up


@pytest.mark.parametrize("argv", [["--help"], ["cache", "--help"], ["cache", "info"]])
def test_help_and_info_import_neither_livekit_nor_numpy(argv: list[str]) -> None:
    code = (
        "import sys\n"
        "from soundscape.cli.main import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = [m for m in ('livekit', 'livekit.agents', 'numpy', 'av') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    res = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=os.environ.copy()
    )
    assert "HEAVY" in res.stdout, res.stderr
    heavy = res.stdout.split("HEAVY", 1)[1].strip()
    if argv == ["cache", "info"]:
        assert "livekit" not in heavy  # info reads the folder; it may need numpy for that
    else:
        assert heavy == "[]"
