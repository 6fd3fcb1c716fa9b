"""Lint throughput: 100 scene files (the example scenes, copied 20× each), files per second.

The copies keep their folder layout (fragments, extended files), so every file lints as
it does in scenes/. Measured three ways: ``soundscape lint`` on all 100 in one command
(what CI runs; includes the start-up), in-process ``lint_file`` with asset checks
(decoded clips come from the cache after the first copy), and in-process without them.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.lib import common

COPIES = 20


def corpus(folder: Path, copies: int) -> list[Path]:
    src = common.ROOT / "scenes"
    files = []
    for i in range(copies):
        dst = folder / f"copy{i:02d}"
        shutil.copytree(src, dst)
        files += sorted(dst.glob("*.yaml"))
    return files


def measure(cfg: dict[str, Any]) -> dict[str, Any]:
    from soundscape.lint.runner import LintOptions, lint_file

    copies = int(cfg["copies"])
    with tempfile.TemporaryDirectory(prefix="bench-lint-") as tmp:
        files = corpus(Path(tmp), copies)
        res: dict[str, Any] = {**cfg, "files": len(files)}
        exe = str(Path(sys.executable).with_name("soundscape"))
        t0 = time.perf_counter()
        p = subprocess.run([exe, "lint", *map(str, files)], capture_output=True, text=True)
        res["cli_s"] = round(time.perf_counter() - t0, 3)
        res["cli_exit"] = p.returncode
        res["cli_files_per_s"] = round(len(files) / res["cli_s"], 1)
        for label, opts in (("assets", LintOptions()), ("no_assets", LintOptions(assets=False))):
            lint_file(files[0], opts)  # warm imports
            c0, w0 = time.process_time(), time.perf_counter()
            findings = sum(len(lint_file(f, opts)) for f in files)
            wall = time.perf_counter() - w0
            res[f"inproc_{label}_files_per_s"] = round(len(files) / wall, 1)
            res[f"inproc_{label}_cpu_ms_per_file"] = round(
                (time.process_time() - c0) * 1000 / len(files), 2
            )
            res[f"inproc_{label}_findings"] = findings
    return res


def run(quick: bool = False) -> dict[str, Any]:
    r = common.run_worker("bench.parts.lint", {"copies": 4 if quick else COPIES}, 300)
    if "error" in r:
        print(f"lint   ERROR {r['error']}", flush=True)
    else:
        print(
            f"lint   {r['files']} files: CLI {r['cli_files_per_s']:.0f} files/s (one command, "
            f"{r['cli_s']:.2f} s); in process {r['inproc_assets_files_per_s']:.0f} files/s "
            f"({r['inproc_no_assets_files_per_s']:.0f} without asset checks)",
            flush=True,
        )
    data = {"machine": common.machine(), "quick": quick, "result": r}
    common.save("lint", data)
    return data


def main() -> None:
    common.main(__doc__, lambda cfg: common.emit(measure(cfg)), run)


if __name__ == "__main__":
    main()
