"""`soundscape cache warm|info|clear`: look after the decoded-clip cache (docs/assets.md).

``warm`` decodes every clip some scenes use so that an image build can ship them ready to
map; ``info`` says where the cache is, what it holds and whether it can be written;
``clear`` empties it (safe while agents run: a mapped clip outlives its file).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from ..audio.identity import ENV, MAX_ENV, cache_root, limit_setting


def add_parser(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    warm = sub.add_parser(
        "warm",
        help="decode every clip the scenes use into the cache (e.g. while building an image)",
        description="Decode every clip the scenes use (layers, cues, pools, built-ins, and "
        "what `extends`/`include` bring in) into the cache, so agent processes map them "
        "instead of decoding at call start.",
    )
    warm.add_argument("paths", nargs="+", type=Path, metavar="SCENE_OR_DIR",
                      help="scene files, or folders searched for *.yaml/*.yml")  # fmt: skip
    warm.add_argument("--rate", type=int, action="append", metavar="HZ",
                      help="sample rate the agent plays at; repeat for several "
                      "(default 48000)")  # fmt: skip
    warm.add_argument("--channels", type=int, action="append", choices=(1, 2),
                      help="channels the agent plays; repeat for both (default 1)")  # fmt: skip
    info = sub.add_parser("info", help="where the cache is, what it holds, whether it is writable")
    info.add_argument("--json", action="store_true", help="print as JSON")
    sub.add_parser("clear", help="remove every entry (safe while agents are running)")


def run(args: argparse.Namespace) -> int:
    action: str = args.action
    if action == "info":
        return _info(args.json)
    if action == "clear":
        return _clear()
    return _warm(args.paths, args.rate or [48000], args.channels or [1])


# ------------------------------------------------------------------------ info


def _where() -> str:
    if os.environ.get(ENV, "").strip():
        return ENV
    xdg = os.environ.get("XDG_CACHE_HOME")
    return "XDG_CACHE_HOME" if xdg and Path(xdg).is_absolute() else "HOME"


def _records(folder: Path) -> tuple[int, int]:
    """How many lint records ``folder`` holds, and their bytes."""
    n = size = 0
    try:
        with os.scandir(folder) as it:
            for f in it:
                if f.name.endswith(".json") and not f.name.startswith("."):
                    n += 1
                    size += f.stat().st_size
    except OSError:
        pass
    return n, size


def _info(as_json: bool) -> int:
    from ..audio.cache import DiskCache
    from ..audio.facts import folder as lint_folder

    root = cache_root()
    limit = limit_setting()
    if limit.error:
        print(f"soundscape cache: {limit.error}", file=sys.stderr)
    if root is None:
        off = {"enabled": False, "folder": None, "env": ENV}
        if as_json:
            print(json.dumps(off, indent=2))
        else:
            print(f"cache: off ({ENV}={os.environ.get(ENV)}): clips are decoded in each process")
        return 2 if limit.error else 0
    disk = DiskCache(root, max_bytes=limit.bytes)
    try:
        entries = disk.scan()
    except OSError:  # not created yet, or not a folder
        entries = []
    clips_bytes = sum(e.size for e in entries)
    records, records_bytes = _records(lint_folder(root))
    report: dict[str, Any] = {
        "enabled": True,
        "folder": str(root),
        "folder_from": _where(),
        "exists": root.is_dir(),
        "writable": disk.writable(),
        "entries": sum(e.complete for e in entries),
        "incomplete_entries": sum(not e.complete for e in entries),
        "clips_bytes": clips_bytes,
        "lint_records": records,
        "lint_bytes": records_bytes,
        "total_bytes": clips_bytes + records_bytes,
        "limit_bytes": limit.bytes,
        "limit_from": MAX_ENV if limit.from_env else "default",
    }
    if as_json:
        print(json.dumps(report, indent=2))
        return 2 if limit.error else 0
    print(f"folder:   {root} (from {report['folder_from']})")
    if report["writable"]:
        print("writable: yes")
    else:
        print(f"writable: no: clips are decoded in each process; set {ENV} to a writable folder")
    cap = "none" if limit.bytes is None else _size(limit.bytes)
    extra = f", {report['incomplete_entries']} incomplete" if report["incomplete_entries"] else ""
    print(f"entries:  {report['entries']} decoded clips{extra}, {_size(clips_bytes)}")
    print(f"limit:    {cap} ({'set by ' + MAX_ENV if limit.from_env else 'default'})")
    print(f"lint:     {records} records, {_size(records_bytes)}")
    return 2 if limit.error else 0


def _size(n: int) -> str:
    x = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if x < 1024 or unit == "GiB":
            return f"{x:.0f} {unit}" if unit == "B" else f"{x:.1f} {unit}"
        x /= 1024
    raise AssertionError("unreachable")


# ------------------------------------------------------------------------ clear


def _clear() -> int:
    from ..audio.cache import DiskCache
    from ..audio.facts import folder as lint_folder

    root = cache_root()
    if root is None:
        print(f"cache: off ({ENV}={os.environ.get(ENV)}): nothing to clear")
        return 0
    try:
        n, size = DiskCache(root, max_bytes=None).clear()
        records = 0
        folder = lint_folder(root)
        if folder.is_dir():
            for f in folder.glob("*.json"):
                f.unlink(missing_ok=True)
                records += 1
    except OSError as e:
        print(f"soundscape cache clear: cannot remove entries in {root}: {e.strerror or e}",
              file=sys.stderr)  # fmt: skip
        return 1
    print(f"removed {n} decoded clips ({_size(size)}) and {records} lint records from {root}")
    return 0


# ------------------------------------------------------------------------ warm


def _warm(paths: list[Path], rates: list[int], channels: list[int]) -> int:
    bad_rate = [r for r in rates if not 8000 <= r <= 192000]
    if bad_rate:
        return _usage(f"--rate {bad_rate[0]} is not between 8000 and 192000")
    missing = [p for p in paths if not p.exists()]
    if missing:
        return _usage("; ".join(f"'{p}' does not exist" for p in missing))
    limit = limit_setting()
    if limit.error:
        return _usage(limit.error)
    root = cache_root()
    if root is None:
        return _usage(f"the cache is off ({ENV}={os.environ.get(ENV)}): nothing to warm")

    from ..audio.cache import DiskCache
    from ..errors import SceneError
    from ..lint.runner import find_scenes
    from ..scene import load

    disk = DiskCache(root, max_bytes=limit.bytes)
    if not disk.writable():
        return _usage(f"cannot write the cache folder {root}: set {ENV} to a writable folder")
    files = find_scenes(paths)
    if not files:
        return _usage(f"no *.yaml or *.yml scene files in {', '.join(map(str, paths))}")

    warmed: dict[str, str] = {}  # entry → the clip it holds
    failed = 0
    for file in files:
        try:
            scene = load(file)
        except SceneError as e:
            print(e, file=sys.stderr)
            failed += 1
            continue
        for rate in rates:
            for ch in channels:
                failed += not _warm_one(file, scene, rate, ch, disk, warmed)

    gone = sorted({src for entry, src in warmed.items() if not Path(entry).exists()})
    try:
        entries = disk.scan()
    except OSError:
        entries = []
    total = sum(e.size for e in entries)
    cap = "no limit" if limit.bytes is None else f"limit {_size(limit.bytes)}"
    print(f"cache {root}: {len(entries)} entries, {_size(total)} ({cap})")
    if gone:
        print(f"soundscape cache warm: {len(gone)} of the clips did not fit within the "
              f"{cap} and were evicted again (first: {gone[0]}); raise {MAX_ENV}",
              file=sys.stderr)  # fmt: skip
        return 1
    return 1 if failed else 0


def _warm_one(
    file: Path, scene: Any, rate: int, channels: int, disk: Any, warmed: dict[str, str]
) -> bool:
    """Decode ``scene``'s clips at one format; print what happened; False on a failure."""
    from ..audio import clear_memory_cache, load_clip
    from ..audio.cache import SourceId
    from ..engine import compile_scene
    from ..errors import AssetError

    fresh: set[str] = set()
    used: set[str] = set()
    unstored: list[str] = []

    def loader(path: Path, rate: int, ch: int) -> Any:
        try:
            entry = disk.entry(SourceId.of(path), rate, ch)
            if not entry.with_suffix(".json").exists():
                fresh.add(str(entry))
        except OSError:
            pass  # load_clip says what is wrong with the file
        clip = load_clip(path, rate, ch)
        if clip.cache_file is None:
            unstored.append(str(path))
        else:
            used.add(clip.cache_file)
            warmed[clip.cache_file] = str(path)
        return clip

    try:
        compile_scene(scene, rate, channels, loader=loader)
    except AssetError as e:
        print(f"{file}: cannot load audio: {e}", file=sys.stderr)
        return False
    finally:
        clear_memory_cache()  # let go of the mappings: the next scene maps afresh
    new = len(fresh & used)
    print(f"{file}: {len(used)} clip{'s' * (len(used) != 1)} at {rate} Hz {_layout(channels)} "
          f"({new} decoded, {len(used) - new} already cached)")  # fmt: skip
    if unstored:
        print(f"{file}: could not store {', '.join(unstored)} in {disk.root}", file=sys.stderr)
        return False
    return True


def _layout(channels: int) -> str:
    return "mono" if channels == 1 else "stereo"


def _usage(message: str) -> int:
    print(f"soundscape cache: {message}", file=sys.stderr)
    return 2
