"""Each benchmark runs in a tiny configuration and gives well-formed results.

No timing is asserted (speed is bench/'s output, not a test): these check that every
part measures what it says — samples really reach the sources, the latency probe hears
the cue at its level and finds an onset that follows the event — and that the report
renders from the results.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bench.lib import common, report
from bench.lib.systems import RATE
from bench.lib.tone import TONE_AMP, TONE_HZ, tone_level
from bench.parts import cli, cpu, latency, lint, memory, play, render

pytestmark = pytest.mark.usefixtures("bench_out")


def finite(*xs: Any) -> bool:
    return all(isinstance(x, (int, float)) and math.isfinite(x) and x >= 0 for x in xs)


@pytest.mark.parametrize("system", ["floor", "bap", "office", "showcase"])
async def test_cpu_measures_one_session(system: str) -> None:
    r = await cpu.measure({"system": system, "n": 1, "window": 1.0, "warmup": 0.5})
    assert r["n"] == 1 and "error" not in r
    assert finite(r["cpu_s"], r["cpu_ms_per_session_s"], r["wall_s"], r["underruns"])
    # Audio really reached the source during the window (not a stub): most of a second.
    assert 0.5 < r["delivered_ratio"]["min"] <= 1.3
    assert r["pushes_per_session_s"] > 0
    assert r["threads_os"] >= r["threads_python"] >= 1


def test_cpu_worker_process_round_trip() -> None:
    r = common.run_worker(
        "bench.parts.cpu", {"system": "office", "n": 1, "window": 1, "warmup": 0.5}, 60
    )
    assert "error" not in r, r.get("error")
    assert r["system"] == "office" and finite(r["cpu_ms_per_session_s"])
    assert cpu.line(r).startswith("cpu  office")


def test_latency_edges_find_a_synthetic_onset_and_stop_to_the_sample() -> None:
    rate = RATE
    x = np.zeros(3 * rate, dtype=np.float32)
    on, off = int(1.25 * rate), int(2.5 * rate)
    x[on:off] = 0.3 * np.sin(2 * np.pi * TONE_HZ * np.arange(off - on) / rate)
    t = 100.0 + np.arange(x.shape[0]) / rate
    level = tone_level(x)
    got = latency.edges(level, t, [(100.5, "thinking"), (102.0, "speaking")])
    # The causal 1 ms window passes 10 % within its first few samples of the change.
    assert got["onset"] == [pytest.approx(0.75, abs=0.001)]
    assert got["stop"] == [pytest.approx(0.5, abs=0.001)]
    assert got["missed"] == []


def test_latency_edges_count_a_cue_that_never_came() -> None:
    rate = RATE
    x = 0.3 * np.sin(2 * np.pi * TONE_HZ * np.arange(rate) / rate)
    x[: rate // 2] = 0
    t = np.arange(rate) / rate
    got = latency.edges(tone_level(x), t, [(0.1, "speaking"), (0.2, "thinking")])
    assert got["stop"] == [] and len(got["missed"]) == 1
    assert got["onset"] == [pytest.approx(0.3, abs=0.001)]


@pytest.mark.parametrize("system,lat", [("bap", None), ("office", None)])
async def test_latency_hears_the_cue_after_each_event(system: str, lat: str | None) -> None:
    cfg = {"system": system, "latency": lat, "sessions": 1, "cycles": 1, "think": 1.0,
           "speak": 1.0}  # fmt: skip
    r = await latency.measure(cfg)
    # The tone is heard at its level (0.5 × gain 0.6) over the office bed.
    assert r["plateau"][0] == pytest.approx(TONE_AMP * 0.6, rel=0.2)
    assert r["onset"]["n"] == 1 and r["stop"]["n"] == 1 and r["missed"] == 0
    assert r["onset"]["min"] > 0 and r["stop"]["min"] > 0  # heard after, never before


async def test_memory_grows_per_session() -> None:
    r = await memory.per_session({"system": "office", "steps": [1, 2], "settle": 0.2})
    assert [row["sessions"] for row in r["rows"]] == [0, 1, 2]
    assert all(finite(row["rss"], row["pss"]) and row["rss"] > 10 for row in r["rows"])
    assert "rss_per_added_session_mb" in r


def test_memory_reads_worker_processes() -> None:
    r = memory.shared("office", workers=1, sessions=1, cache="off", settle=0.2)
    assert "error" not in r, r.get("error")
    assert r["workers"] == 1 and finite(r["rss_mean_mb"], r["pss_total_mb"])
    assert r["per_process"][0]["pss"] <= r["per_process"][0]["rss"]


def test_render_speed_office() -> None:
    r = render.measure({"scene": "office", "seconds": 2.0})
    assert finite(r["offline_x_realtime_cpu"], r["live_block_engine_ms_per_s"])


def test_lint_speed_lints_every_copy() -> None:
    r = lint.measure({"copies": 1})
    n = len(list((common.ROOT / "scenes").glob("*.yaml")))
    assert r["files"] == n
    assert r["cli_exit"] == 0  # the example scenes lint clean, copied or not
    assert finite(r["cli_files_per_s"], r["inproc_assets_files_per_s"])


def test_cli_start_and_report(bench_out: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(
        cli, "COMMANDS", {"help": ["--help"], "lint_one": ["lint", "scenes/office.yaml"]}
    )
    data = cli.run(quick=True)
    assert all(r["exit"] == 0 for r in data["results"].values())
    saved = json.loads((bench_out / "cli.json").read_text())
    assert saved["results"]["help"]["runs"] == 3
    doc = report.write(tmp_path / "performance.md").read_text()
    assert "## Summary" in doc and "soundscape --help" in doc
    assert "CLI start" in report.table()


def test_play_latency_analysis_finds_onsets_and_holes() -> None:
    rate = play.RATE
    x = np.zeros(4 * rate, dtype=np.float32)
    t = 50.0 + np.arange(x.shape[0]) / rate
    n = int(play.TONE_S * rate)
    tone = 0.5 * np.sin(2 * np.pi * TONE_HZ * np.arange(n) / rate)
    x[rate : rate + n] = tone  # a file played at 50.9 s, heard at 51.0 s
    s0 = int(2.2 * rate)
    x[s0 : s0 + n] = tone  # a stream whose first frame came at 52.0 s
    x[s0 + rate // 5 : s0 + rate // 5 + rate // 20] = 0  # ... and ran dry for 50 ms
    got = play.analyse(tone_level(x), t, [("file", 50.9), ("stream", 52.0)], 1.0)
    assert got["file"] == [pytest.approx(0.1, abs=0.001)]
    assert got["stream"] == [pytest.approx(0.2, abs=0.001)]
    assert got["holes"] == [pytest.approx(5, abs=1)]  # 50 ms = five 10 ms steps
    assert got["missed"] == []


@pytest.mark.parametrize("system", ["bap", "office"])
async def test_play_latency_hears_each_play(system: str) -> None:
    cfg = {"system": system, "latency": None, "sessions": 1, "rounds": 2, "period": 1.2}
    r = await play.measure(cfg)
    assert r["file"]["n"] == 1 and r["stream"]["n"] == 1 and r["missed"] == 0
    assert r["file"]["min"] > 0 and r["stream"]["min"] > 0  # heard after, never before


def test_a_bench_run_caches_in_a_folder_of_its_own_that_it_removes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import os

    outside = os.environ["SOUNDSCAPE_CACHE_DIR"]  # the test session's (see conftest.py)
    with common.private_cache():
        mine = os.environ["SOUNDSCAPE_CACHE_DIR"]
        assert mine != outside and Path(mine).is_dir()
        Path(mine, "clips-v1").mkdir()  # as if clips had been decoded
        with common.private_cache():  # a part inside `python -m bench all`: the same folder
            assert os.environ["SOUNDSCAPE_CACHE_DIR"] == mine
    assert not Path(mine).exists()
    assert os.environ["SOUNDSCAPE_CACHE_DIR"] == outside
    # A worker keeps the folder its parent chose (memory.py gives workers their own).
    with common.private_cache(worker=True):
        assert os.environ["SOUNDSCAPE_CACHE_DIR"] == outside
    monkeypatch.delenv("SOUNDSCAPE_CACHE_DIR")
    with common.private_cache(worker=True):  # started by hand: never the user's cache
        assert "SOUNDSCAPE_CACHE_DIR" in os.environ
    assert "SOUNDSCAPE_CACHE_DIR" not in os.environ


def test_voice_duck_measures_every_case() -> None:
    from bench.parts import voice_duck

    for _, duck, key in voice_duck.CASES:
        assert finite(voice_duck.cost(duck, key, 0.1)), (duck, key)
    # The voice it keys on is speech-like: phrases with words in them, and silence between.
    v = voice_duck._voice(4.0)
    assert np.abs(v[: voice_duck.RATE]).max() > 0.1
    assert not v[round(3.0 * voice_duck.RATE) : round(3.9 * voice_duck.RATE)].any()
