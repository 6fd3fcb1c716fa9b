"""The capacity and cluster benchmarks, tiny: real livekit-agents workers, real servers.

No timing is asserted (real time on a busy machine is bench/'s output, not a test's): these
check that a call through a real worker process is dispatched, that the caller hears what
the job plays (the scripted voice, the background; in the cluster, each call its own tone
and nobody else's), and that every job process exits after the caller hangs up.

The cluster needs Debian's redis-server: without it the test skips, saying how to get it;
under CI (``CI`` set) it fails instead, as the LiveKit server tests do.
"""

from __future__ import annotations

import os

import pytest

from bench.agents.capacity_agent import TONE_AMP, TONE_GAIN, tone_for
from bench.lib import common
from bench.parts import capacity, cluster

pytestmark = pytest.mark.usefixtures("bench_out")


def test_one_call_through_a_real_worker_is_heard_and_ends(livekit_process) -> None:
    data = capacity.run(
        systems=("soundscape",), ns=(1,), window=4.0, warmup=1.0, server=livekit_process
    )
    assert [r["n"] for r in data["results"]] == [1], data["summary"]
    r = data["results"][0]
    assert r["dispatched"] == 1 and r["ready"] == 1, r.get("errors")
    call = r["calls"][0]
    # The job's AgentSession really went through its states and spoke: the caller heard
    # the scripted voice's 180 Hz, and the soundscape track carried the office scene.
    assert call["job"]["states"].get("thinking", 0) >= 1, call["job"]
    assert call["voice"]["voice_s_call"] > 0.3
    assert call["background"]["rms_call"] > 1e-4
    # The job's own source played on (the model of its queue), not a stub.
    assert call["sender"]["played"] > 0.5
    # The process-per-job figures come from a real job process.
    assert r["job_cpu_ms_per_call_s"] > 0 and r["job_pss_mb"]["median"] > 20
    # Hang-up: the session closed, the job called ctx.shutdown(), its process exited.
    assert call["job"]["ended"] and call["job"]["exited"], call["job"]
    assert (common.OUT / "capacity.json").exists()


def test_two_nodes_on_redis_dispatch_each_call_to_a_worker_that_plays_its_own_scene(
    livekit_process,
) -> None:
    if cluster.redis_binary() is None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the cluster test, but {cluster.REDIS_MISSING}")
        pytest.skip(cluster.REDIS_MISSING)
    r = cluster.measure(2, window=2.0, warmup=1.0, load="own", stagger=1.0)
    assert "calls" in r, r.get("error")
    # Both workers registered, each with its own node of the one cluster.
    assert [r["dispatch_log"][n]["worker registered"] for n in "AB"] == [1, 1]
    assert r["dispatched"] == 2, r.get("errors")
    level = TONE_AMP * TONE_GAIN
    assert len({tone_for(c["room"]) for c in r["calls"]}) == 2  # two different scenes
    for call in r["calls"]:
        bg = call["background"]
        assert bg["own_tone"] == pytest.approx(level, rel=0.35), call
        assert bg["other_tones"] < 0.25 * level, call
        assert call["job"]["worker"] in ("worker-A", "worker-B")
        assert call["job"]["ended"] and call["job"]["exited"], call["job"]
    assert r["heard"] == 2 and r["exited"] == 2
