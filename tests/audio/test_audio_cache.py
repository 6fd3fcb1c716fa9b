"""The decoded-clip cache: in-process sharing, the persistent memory-mapped cache, its
invalidation, its self-repair and its sharing between processes."""

from __future__ import annotations

import logging
import multiprocessing
import os
import subprocess
import sys
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import soundscape.audio.cache as cache_mod
import soundscape.audio.clips as clips_mod
import soundscape.audio.identity as identity
from soundscape.audio import Limits, cache_root, clear_memory_cache, load_clip
from soundscape.errors import AssetError

RATE = 48_000


def write_tone(path: Path, freq: float, seconds: float = 1.0, rate: int = RATE) -> Path:
    t = np.arange(round(seconds * rate)) / rate
    pcm = np.round(0.5 * np.sin(2 * np.pi * freq * t) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return path


def expected(path: Path) -> np.ndarray:
    with wave.open(str(path)) as w:
        pcm = np.frombuffer(w.readframes(w.getnframes()), "<i2")
    return (pcm.astype(np.float32) / 32768)[:, None]


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    d = tmp_path / "cache"
    monkeypatch.setenv("SOUNDSCAPE_CACHE_DIR", str(d))
    monkeypatch.setattr(cache_mod, "_warned", set())
    clear_memory_cache()
    yield d
    clear_memory_cache()


class Counter:
    """Wraps decode_file to count real decodes."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        real = clips_mod.decode_file

        def counted(*a: Any, **kw: Any) -> np.ndarray:
            self.calls += 1
            return real(*a, **kw)

        monkeypatch.setattr(clips_mod, "decode_file", counted)


def no_decoder(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*a: Any, **kw: Any) -> np.ndarray:
        raise AssertionError("decoded although the clip is cached")

    monkeypatch.setattr(clips_mod, "decode_file", refuse)
    monkeypatch.setitem(sys.modules, "av", None)


def entries(d: Path) -> list[Path]:
    return sorted((d / "clips-v1").glob("*.npy"))


# ---------------------------------------------------------------- location


def test_cache_location_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SOUNDSCAPE_CACHE_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_root() == tmp_path / "home" / ".cache" / "soundscape"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "xdg" / "soundscape"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")  # the XDG spec says ignore these
    assert cache_root() == tmp_path / "home" / ".cache" / "soundscape"
    monkeypatch.setenv("SOUNDSCAPE_CACHE_DIR", str(tmp_path / "mine"))
    assert cache_root() == tmp_path / "mine"
    for off in ("off", "OFF", "none"):
        monkeypatch.setenv("SOUNDSCAPE_CACHE_DIR", off)
        assert cache_root() is None


def test_disabled_cache_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOUNDSCAPE_CACHE_DIR", "off")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    clear_memory_cache()
    clip = load_clip(write_tone(tmp_path / "a.wav", 440), RATE, 1)
    assert clip.cache_file is None
    assert np.array_equal(clip.samples, expected(tmp_path / "a.wav"))
    assert not (tmp_path / "home").exists()
    clear_memory_cache()


# ---------------------------------------------------------------- hits


def test_one_process_shares_one_array(cache_dir: Path, tmp_path: Path) -> None:
    src = write_tone(tmp_path / "a.wav", 440)
    a = load_clip(src, RATE, 1)
    b = load_clip(tmp_path / "." / "a.wav", RATE, 1)  # same file, other spelling
    assert a is b


def test_second_load_maps_the_cached_file_without_decoding(
    cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = write_tone(tmp_path / "a.wav", 440)
    counter = Counter(monkeypatch)
    first = load_clip(src, RATE, 1)
    assert counter.calls == 1
    [entry] = entries(cache_dir)
    assert first.cache_file == str(entry)
    assert entry.with_suffix(".json").is_file()

    clear_memory_cache()  # as if another process
    no_decoder(monkeypatch)
    second = load_clip(src, RATE, 1)
    assert second.cache_file == str(entry)
    assert np.array_equal(second.samples, expected(src))
    assert not second.samples.flags.writeable
    base = second.samples.base
    assert isinstance(base, np.memmap) and Path(str(base.filename)) == entry


def test_each_target_format_has_its_own_entry(
    cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = write_tone(tmp_path / "a.wav", 440)
    mono = load_clip(src, RATE, 1)
    stereo = load_clip(src, RATE, 2)
    slow = load_clip(src, 16000, 1)
    assert (mono.frames, stereo.channels, slow.frames) == (RATE, 2, 16000)
    assert len(entries(cache_dir)) == 3
    # A new decoder version is a new format too: nothing old is trusted.
    clear_memory_cache()
    counter = Counter(monkeypatch)
    monkeypatch.setattr(identity, "DECODER_VERSION", identity.DECODER_VERSION + 1)
    load_clip(src, RATE, 1)
    assert counter.calls == 1


def test_limits_apply_to_cached_clips(
    cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = write_tone(tmp_path / "three.wav", 440, seconds=3.0)
    load_clip(src, RATE, 1)
    clear_memory_cache()
    no_decoder(monkeypatch)
    with pytest.raises(AssetError, match=r"three\.wav: audio is 3\.0 s long, above the 1 s"):
        load_clip(src, RATE, 1, limits=Limits(max_seconds=1))


# ---------------------------------------------------------------- invalidation and repair


def _flip_data(npy: Path) -> None:
    data = bytearray(npy.read_bytes())
    data[-1000] ^= 0x40  # a sample in the middle of the array; header and length intact
    npy.write_bytes(bytes(data))


def _truncate(npy: Path) -> None:
    data = npy.read_bytes()
    npy.write_bytes(data[: len(data) // 2])


def _garble_header(npy: Path) -> None:
    data = bytearray(npy.read_bytes())
    data[:10] = b"not numpy!"
    npy.write_bytes(bytes(data))


def _wrong_shape(npy: Path) -> None:
    # A valid .npy of another shape whose checksum the metadata does not know.
    np.save(npy, np.zeros((10, 1), np.float32))


def _garble_meta(npy: Path) -> None:
    npy.with_suffix(".json").write_text("{ half a json")


def _lie_in_meta(npy: Path) -> None:
    # Metadata that claims this entry is for another source file: must not be trusted.
    meta = npy.with_suffix(".json")
    meta.write_text(meta.read_text().replace('"size": ', '"size": 1'))


@pytest.mark.parametrize(
    "tamper", [_flip_data, _truncate, _garble_header, _wrong_shape, _garble_meta, _lie_in_meta]
)
def test_a_tampered_entry_is_detected_and_rebuilt(
    cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tamper: Any
) -> None:
    src = write_tone(tmp_path / "a.wav", 440)
    load_clip(src, RATE, 1)
    [entry] = entries(cache_dir)
    tamper(entry)
    clear_memory_cache()
    counter = Counter(monkeypatch)
    clip = load_clip(src, RATE, 1)
    assert counter.calls == 1
    assert np.array_equal(clip.samples, expected(src))
    # The rebuilt entry is good again: a third load maps it.
    clear_memory_cache()
    no_decoder(monkeypatch)
    assert np.array_equal(load_clip(src, RATE, 1).samples, expected(src))


def test_a_changed_source_file_is_decoded_again(
    cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = write_tone(tmp_path / "a.wav", 440)
    st = src.stat()
    old = load_clip(src, RATE, 1)
    # Same size and the same mtime: only the content hash can tell.
    write_tone(src, 880)
    os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert src.stat().st_size == st.st_size and src.stat().st_mtime_ns == st.st_mtime_ns
    clear_memory_cache()
    counter = Counter(monkeypatch)
    new = load_clip(src, RATE, 1)
    assert counter.calls == 1
    assert np.array_equal(new.samples, expected(src))
    assert not np.array_equal(new.samples, old.samples)
    assert [Path(new.cache_file or "")] == entries(cache_dir)  # the stale entry is gone


def test_a_file_edited_while_the_process_runs_is_decoded_again(
    cache_dir: Path, tmp_path: Path
) -> None:
    src = write_tone(tmp_path / "a.wav", 440)
    load_clip(src, RATE, 1)
    write_tone(src, 880, seconds=1.5)
    assert load_clip(src, RATE, 1).frames == round(1.5 * RATE)


# ---------------------------------------------------------------- write failures


def test_unwritable_cache_degrades_to_memory_with_one_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("the cache directory cannot be created under a file")
    monkeypatch.setenv("SOUNDSCAPE_CACHE_DIR", str(blocker / "cache"))
    monkeypatch.setattr(cache_mod, "_warned", set())
    clear_memory_cache()
    with caplog.at_level(logging.WARNING, logger="soundscape"):
        a = load_clip(write_tone(tmp_path / "a.wav", 440), RATE, 1)
        b = load_clip(write_tone(tmp_path / "b.wav", 660), RATE, 1)
    assert a.cache_file is None and b.cache_file is None
    assert np.array_equal(a.samples, expected(tmp_path / "a.wav"))
    warnings = [r for r in caplog.records if "not writable" in r.getMessage()]
    assert len(warnings) == 1
    assert str(blocker / "cache") in warnings[0].getMessage()
    assert "Set SOUNDSCAPE_CACHE_DIR to a writable directory" in warnings[0].getMessage()
    clear_memory_cache()


def test_disk_full_leaves_no_partial_files(
    cache_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def full(f: Any, *a: Any, **kw: Any) -> None:
        f.write(b"\x93NUMPY partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np.lib.format, "write_array", full)
    with caplog.at_level(logging.WARNING, logger="soundscape"):
        clip = load_clip(write_tone(tmp_path / "a.wav", 440), RATE, 1)
    assert np.array_equal(clip.samples, expected(tmp_path / "a.wav"))
    assert "No space left on device" in caplog.text
    left = [p.name for p in (cache_dir / "clips-v1").iterdir()]
    assert left in ([], [".lock"])


def _hold_lock(lock_file: Path, slot: int) -> subprocess.Popen[str]:
    """Another process holding one byte of the cache's lock file until its stdin closes."""
    code = (
        "import fcntl, os, sys\n"
        f"fd = os.open({str(lock_file)!r}, os.O_RDWR | os.O_CREAT)\n"
        f"fcntl.lockf(fd, fcntl.LOCK_EX, 1, {slot}, 0)\n"
        "print('held', flush=True)\n"
        "sys.stdin.read()\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    return holder


def test_a_stuck_lock_holder_does_not_stall_loading(
    cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = write_tone(tmp_path / "a.wav", 440)
    disk = cache_mod.DiskCache(cache_dir)
    entry = disk.entry(cache_mod.SourceId.of(src), RATE, 1)
    entry.parent.mkdir(parents=True)
    # A process that took the entry's lock and never finishes.
    holder = _hold_lock(entry.parent / ".lock", cache_mod._slot(entry.stem))
    try:
        monkeypatch.setattr(cache_mod, "LOCK_TIMEOUT_S", 0.1)
        clip = load_clip(src, RATE, 1)
    finally:
        holder.communicate("")
    assert np.array_equal(clip.samples, expected(src))
    assert clip.cache_file == str(entry)  # and it still stored the entry for the others


def test_leftovers_of_a_killed_writer_are_cleaned_up(cache_dir: Path, tmp_path: Path) -> None:
    d = cache_dir / "clips-v1"
    d.mkdir(parents=True)
    old, young = d / ".tmp-old.npy", d / ".tmp-young.npy"
    for f in (old, young):
        f.write_bytes(b"\x93NUMPY half")
    os.utime(old, (0, 0))  # long dead
    load_clip(write_tone(tmp_path / "a.wav", 440), RATE, 1)
    assert not old.exists()
    assert young.exists()  # may belong to a writer still running


# ---------------------------------------------------------------- several processes


def _child_load(path: str, cache: str, block_decoder: bool) -> tuple[str | None, bytes, bool, int]:
    """Runs in a fresh process: load the clip; report where it lives and whether we decoded."""
    os.environ["SOUNDSCAPE_CACHE_DIR"] = cache
    import soundscape.audio.clips as clips

    decoded = 0
    real = clips.decode_file

    def counted(*a: Any, **kw: Any) -> np.ndarray:
        nonlocal decoded
        decoded += 1
        return real(*a, **kw)

    clips.decode_file = counted  # type: ignore[assignment]
    if block_decoder:
        sys.modules["av"] = None  # type: ignore[assignment]
    clip = clips.load_clip(Path(path), RATE, 1)
    mapped = False
    if clip.cache_file and Path("/proc/self/maps").exists():
        mapped = clip.cache_file in Path("/proc/self/maps").read_text()
    return clip.cache_file, clip.samples.tobytes(), mapped, decoded


def test_two_processes_share_one_cache_file(cache_dir: Path, tmp_path: Path) -> None:
    src = write_tone(tmp_path / "a.wav", 440)
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as first, ctx.Pool(1) as second:
        file_a, data_a, mapped_a, decoded_a = first.apply(
            _child_load, (str(src), str(cache_dir), False)
        )
        # The second process cannot decode at all: it can only have mapped the first's file.
        file_b, data_b, mapped_b, decoded_b = second.apply(
            _child_load, (str(src), str(cache_dir), True)
        )
    assert (decoded_a, decoded_b) == (1, 0)
    assert file_a == file_b == str(entries(cache_dir)[0])
    assert data_a == data_b == expected(src).tobytes()
    if sys.platform == "linux":
        assert mapped_a and mapped_b  # both hold the file mapped: one copy in the page cache


def _child_race(path: str, cache: str, barrier: Any, results: Any) -> None:
    barrier.wait()  # every process asks for the clip at the same moment
    results.put(_child_load(path, cache, False))


def test_processes_starting_together_decode_once(cache_dir: Path, tmp_path: Path) -> None:
    src = write_tone(tmp_path / "long.wav", 440, seconds=30.0)
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(3), ctx.Queue()
    procs = [
        ctx.Process(target=_child_race, args=(str(src), str(cache_dir), barrier, results))
        for _ in range(3)
    ]
    for p in procs:
        p.start()
    got = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert sum(r[3] for r in got) == 1  # the entry lock made the others wait, then map
    assert len({r[0] for r in got}) == 1
    assert len(entries(cache_dir)) == 1


# ---------------------------------------------------------------- size limit and eviction

ENTRY = RATE * 4 + 128  # one second of mono float32 and its .npy header


def _used(clip_file: str | None, when: float) -> None:
    """Pretend the entry was last used at ``when`` (seconds since the epoch)."""
    meta = Path(clip_file or "").with_suffix(".json")
    os.utime(meta, (when, when))


def _new_process(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_memory_cache()
    monkeypatch.setattr(cache_mod, "_touched", set())


def total_size(d: Path) -> int:
    return sum(p.stat().st_size for p in (d / "clips-v1").iterdir())


def test_sizes_are_read_as_documented() -> None:
    parse = identity.parse_size
    assert parse("500MB") == 500_000_000
    assert parse("2GiB") == 2 * 1024**3
    assert parse("1.5g") == 1_500_000_000
    assert parse(" 64 kib ") == 65536
    assert parse("123456") == 123456
    for unlimited in ("0", "off", "OFF", "unlimited", "none"):
        assert parse(unlimited) is None
    for bad in ("lots", "5 parsecs", "-1GB", "1i", ""):
        with pytest.raises(ValueError, match="is not a size like 500MB, 2GiB or off"):
            parse(bad)


def test_the_limit_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("SOUNDSCAPE_CACHE_MAX", raising=False)
    assert identity.cache_limit() == identity.DEFAULT_MAX_BYTES == 1024**3
    monkeypatch.setenv("SOUNDSCAPE_CACHE_MAX", "300MiB")
    assert cache_mod.DiskCache(Path("/nowhere")).max_bytes == 300 * 1024**2
    monkeypatch.setenv("SOUNDSCAPE_CACHE_MAX", "off")
    assert cache_mod.DiskCache(Path("/nowhere")).max_bytes is None
    monkeypatch.setenv("SOUNDSCAPE_CACHE_MAX", "a lot")
    monkeypatch.setattr(identity, "_warned_max", set())
    with caplog.at_level(logging.WARNING, logger="soundscape"):
        assert identity.cache_limit() == identity.DEFAULT_MAX_BYTES
        assert identity.cache_limit() == identity.DEFAULT_MAX_BYTES
    [warning] = [r.getMessage() for r in caplog.records]
    assert "SOUNDSCAPE_CACHE_MAX" in warning and "'a lot' is not a size" in warning


def test_eviction_keeps_the_total_within_the_limit_least_recently_used_first(
    cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOUNDSCAPE_CACHE_MAX", str(3 * ENTRY + 2000))  # three entries fit
    clips = []
    for i, (name, freq) in enumerate(zip("abcd", (220, 330, 440, 550), strict=True)):
        clips.append(load_clip(write_tone(tmp_path / f"{name}.wav", freq), RATE, 1))
        _used(clips[-1].cache_file, 1_000 * (i + 1))  # written in this order, whatever the clock
    a, b, c, d = clips
    # By the time d was stored, a (the least recently used) had to go.
    assert Path(a.cache_file or "") not in entries(cache_dir)
    assert entries(cache_dir) == sorted(Path(x.cache_file or "") for x in (b, c, d))
    assert total_size(cache_dir) <= 3 * ENTRY + 2000

    # Uses recorded by later processes decide what goes next, not the order of writing.
    _used(b.cache_file, 1_000)
    _used(c.cache_file, 2_000)
    _used(d.cache_file, 3_000)
    _new_process(monkeypatch)
    load_clip(tmp_path / "b.wav", RATE, 1)  # b is used again: now the most recent
    e = load_clip(write_tone(tmp_path / "e.wav", 660), RATE, 1)
    assert entries(cache_dir) == sorted(Path(x.cache_file or "") for x in (b, d, e))
    assert total_size(cache_dir) <= 3 * ENTRY + 2000


def test_a_use_is_recorded_once_per_process(
    cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clip = load_clip(write_tone(tmp_path / "a.wav", 440), RATE, 1)
    meta = Path(clip.cache_file or "").with_suffix(".json")
    _used(clip.cache_file, 1_000)
    _new_process(monkeypatch)
    load_clip(tmp_path / "a.wav", RATE, 1)
    assert meta.stat().st_mtime > 1_000_000  # touched: works where atime is not kept
    _used(clip.cache_file, 1_000)
    clear_memory_cache()  # same process, so the use is already recorded: no more writes
    load_clip(tmp_path / "a.wav", RATE, 1)
    assert meta.stat().st_mtime == 1_000


def test_an_entry_bigger_than_the_limit_is_kept_until_the_next_write(
    cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOUNDSCAPE_CACHE_MAX", "1kB")
    a = load_clip(write_tone(tmp_path / "a.wav", 440), RATE, 1)
    assert entries(cache_dir) == [Path(a.cache_file or "")]
    b = load_clip(write_tone(tmp_path / "b.wav", 660), RATE, 1)
    assert entries(cache_dir) == [Path(b.cache_file or "")]


def test_a_mapped_clip_stays_valid_after_its_entry_is_evicted_or_cleared(
    cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOUNDSCAPE_CACHE_MAX", str(ENTRY + 1000))  # one entry fits
    a = load_clip(write_tone(tmp_path / "a.wav", 440), RATE, 1)
    _new_process(monkeypatch)
    mapped = load_clip(tmp_path / "a.wav", RATE, 1).samples  # mapped from the entry
    assert isinstance(mapped.base, np.memmap)
    load_clip(write_tone(tmp_path / "b.wav", 660), RATE, 1)  # evicts a
    assert not Path(a.cache_file or "").exists()
    assert np.array_equal(mapped, expected(tmp_path / "a.wav"))

    b = load_clip(tmp_path / "b.wav", RATE, 1).samples
    size = total_size(cache_dir)  # b's two files (the lock file is empty)
    assert size > ENTRY
    assert cache_mod.DiskCache(cache_dir).clear() == (1, size)
    assert entries(cache_dir) == []
    assert np.array_equal(b, expected(tmp_path / "b.wav"))
    assert np.array_equal(mapped, expected(tmp_path / "a.wav"))


def test_eviction_leaves_an_entry_another_process_is_writing(
    cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = load_clip(write_tone(tmp_path / "a.wav", 440), RATE, 1)
    b = load_clip(write_tone(tmp_path / "b.wav", 660), RATE, 1)
    _used(a.cache_file, 1_000)  # a is the least recently used...
    _used(b.cache_file, 2_000)
    monkeypatch.setenv("SOUNDSCAPE_CACHE_MAX", str(2 * ENTRY + 2000))
    stem = Path(a.cache_file or "").stem
    holder = _hold_lock(cache_dir / "clips-v1" / ".lock", cache_mod._slot(stem))
    try:  # ...but another process holds its lock (it is rebuilding it)
        c = load_clip(write_tone(tmp_path / "c.wav", 880), RATE, 1)
    finally:
        holder.communicate("")
    assert entries(cache_dir) == sorted(Path(x.cache_file or "") for x in (a, c))


# ---------------------------------------------------------------- one lock file


def test_the_cache_has_one_lock_file_and_removes_older_versions_ones(
    cache_dir: Path, tmp_path: Path
) -> None:
    d = cache_dir / "clips-v1"
    d.mkdir(parents=True)
    old = [d / "0123-4567.lock", d / "89ab-cdef.lock"]  # what earlier versions left
    for f in old:
        f.touch()
    for i, freq in enumerate((220, 330, 440)):
        load_clip(write_tone(tmp_path / f"{i}.wav", freq), RATE, 1)
        load_clip(tmp_path / f"{i}.wav", RATE, 2)
    names = sorted(p.name for p in d.iterdir())
    assert [n for n in names if "lock" in n] == [".lock"]
    assert len(names) == 1 + 6 * 2  # the lock, and six entries of two files each


# ---------------------------------------------------------------- the user's home


def test_the_test_suite_never_writes_the_users_cache(tmp_path: Path, write_scene: Any) -> None:
    """conftest.py points every test, and every process it starts, at a throwaway folder."""
    scene = write_scene(
        """
        version: 1
        layers: {bed: {source: builtin:room-tone}}
        states: {idle: {}}
        """
    )
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "XDG_CACHE_HOME"}
    env["HOME"] = str(home)
    out = tmp_path / "out.wav"
    res = subprocess.run(
        [sys.executable, "-m", "soundscape", "render", str(scene), "-o", str(out),
         "--duration", "1s"],
        capture_output=True, text=True, env=env, check=False, timeout=120,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert out.is_file()
    assert not (home / ".cache").exists()
    session = Path(os.environ["SOUNDSCAPE_CACHE_DIR"])
    assert session.is_relative_to(tmp_path.parent.parent)  # pytest's own temporary folder
    from soundscape.scene.sources import builtin_catalog

    room_tone = cache_mod.SourceId.of(builtin_catalog()["room-tone"])
    assert cache_mod.DiskCache(session).entry(room_tone, RATE, 1).is_file()  # cached there
