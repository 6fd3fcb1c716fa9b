"""The one-track benchmark, tiny: both voice outputs side by side, and a one-track call
through a real worker.

No timing is asserted (how fast is bench/'s output, not a test's): the analysis finds a
speech's onset and what of it was heard to the sample; each output's speech really reaches
its source and is cut by ``clear_buffer()``; and a one-track call carries the voice and the
scene on the one track the caller sees from the agent, and its job process ends with it.
"""

from __future__ import annotations

import numpy as np
import pytest

from bench.lib import report
from bench.lib.tone import TONE_HZ, tone_level
from bench.parts import one_track

pytestmark = pytest.mark.usefixtures("bench_out")

RATE = one_track.RATE


def test_the_analysis_finds_the_onset_and_the_speech_heard_to_the_sample() -> None:
    x = np.zeros(3 * RATE, dtype=np.float32)
    on, n = int(1.25 * RATE) + 7, int(0.5 * RATE) + 13
    x[on : on + n] = one_track.AMP * np.sin(2 * np.pi * TONE_HZ * np.arange(n) / RATE)
    x[on + n // 2 : on + n // 2 + 480] = 0  # a 10 ms hole: heard in two pieces, 10 ms lost
    t = 10.0 + np.arange(x.size) / RATE
    row = {"t_first": 11.0, "position": n / RATE, "interrupted": False, "seconds": n / RATE}
    one_track.analyse(tone_level(x), t, row, until=13.0)
    # The causal 1 ms detector passes 10 % within a few samples after the onset, never before.
    true_ms = 250 + 1000 * 7 / RATE
    assert true_ms <= row["latency_ms"] < true_ms + 0.3
    assert row["heard_ms"] == pytest.approx(1000 * (n - 480) / RATE, abs=0.1)
    assert row["lost_ms"] == pytest.approx(10.0, abs=0.1)
    assert row["position_error_ms"] == pytest.approx(10.0, abs=0.1)
    assert row["runs"] == 2


async def test_both_outputs_speak_at_their_sources_and_are_cut_by_clear_buffer() -> None:
    r = await one_track.measure_voice({"speeches": 1, "burst_s": 1.6})
    for name in one_track.OUTPUTS:
        rows = r["outputs"][name]["speeches"]
        burst, stream = (next(x for x in rows if x["mode"] == m) for m in ("burst", "stream"))
        assert not burst.get("missed") and not stream.get("missed"), rows
        assert burst["latency_ms"] > 0 and stream["latency_ms"] > 0  # heard after, not before
        # Cut 0.5 s in: heard about that much of 1.6 s, and told so (not a timing bound:
        # the cut lands where the output's clock is, give or take a frame).
        assert burst["interrupted"] and 0.3 < burst["heard_ms"] / 1000 < 1.2, burst
        assert abs(burst["position_error_ms"]) < 100, burst
        # The real-time speech played to its end and was reported whole.
        assert not stream["interrupted"] and stream["position"] == pytest.approx(0.6, abs=0.02)
        assert stream["heard_ms"] > 400, stream
    assert set(r["latency_over_roomio_ms"]) == {"burst", "stream"}


def test_a_one_track_call_carries_voice_and_scene_on_the_agents_only_track(
    livekit_process,
) -> None:
    data = one_track.job_cpu(
        livekit_process, ("soundscape-one-track",), repeats=1, window=3.0, warmup=1.0
    )
    (row,) = data["rows"]
    assert "error" not in row, row
    # The sanity checks the part reports: one audio track from the agent, the scripted
    # voice heard on it, the scene between words, its source never dry.
    checks = dict(row["checks"])
    dry_ok = checks.pop("the scene's source never ran dry", True)
    assert all(checks.values()), row
    if not dry_ok:
        # Known, issue 15 still open: under one busy core the one-track queue, which ends
        # where the voice ends while a speech arrives, can run dry (a gap in voice and bed).
        pytest.xfail("known (issue 15): the one-track source ran dry under load")
    assert row["states"].get("speaking", 0) >= 1, row
    assert row["job_cpu_ms_per_s"] > 0 and row["exited"], row
    assert data["summary"]["soundscape-one-track"]["runs"] == 1


def test_the_report_renders_the_one_track_section_and_a_failed_check(bench_out) -> None:
    from bench.lib import common

    row = {
        "system": "none",
        "repeat": 0,
        "job_cpu_ms_per_s": 80.0,
        "kept": True,
        "agent_tracks": ["roomio_audio"],
        "between_words_rms": 0.0,
        "loadavg_before": [0.5],
    }
    one = {**row, "system": "soundscape-one-track", "job_cpu_ms_per_s": 81.0}
    one.update(between_words_rms=0.0004, checks={"one audio track from the agent": True})
    two = {**one, "repeat": 1, "agent_tracks": ["roomio_audio"] * 2}
    two.update(checks={"one audio track from the agent": False})
    rows = [row, one, two]
    summary = one_track.job_summary(rows, ("none", "soundscape-one-track"))
    job = {"rows": rows, "window_s": 6.0, "warmup_s": 2.0, "summary": summary, "together": True}
    common.save("one_track", {"goals": one_track.GOALS, "job": job, "voice": {}})
    text = "\n".join(report._one_track_section())
    assert "soundscape office.yaml, one track" in text and "+1.0 ms" in text
    assert "-68 dBFS" in text  # the scene between words, as the caller heard it
    assert "FAILED" in text  # a call whose caller saw two tracks is not passed over
    assert any(r[0].startswith("Job CPU over no background") for r in report.summary())
