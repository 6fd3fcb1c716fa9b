"""The job-start benchmark, tiny: one call through a real worker whose pool is prewarmed.

No timing is asserted beyond sanity (how fast is bench/'s output, not a test's): the call's
job process started the scene, the caller heard the bed, the thinking cue was found at the
job's AudioSource output on every turn, and the job process ended with the call.
"""

from __future__ import annotations

import math

import pytest

from bench.lib import report
from bench.parts import job

pytestmark = pytest.mark.usefixtures("bench_out")


def _sane(ms: float | None) -> bool:
    return ms is not None and math.isfinite(ms) and 0 <= ms < 2000


def test_a_prewarmed_job_plays_the_bed_to_the_caller_and_each_cue_at_its_source(
    livekit_process,
) -> None:
    turns = 3
    data = job.run(
        configs=("soundscape-prewarmed",), n_calls=1, turns=turns, server=livekit_process
    )
    r = data["results"][0]
    assert "error" not in r, r
    call = r["rows"][0]
    assert "error" not in call, call
    # The pool's process was set up (prewarmed) before the call, and served it.
    assert call["pid"] == call["idle_pid"]
    assert _sane(call["start_ms"]), call  # start() returned
    assert _sane(call["bed_ms"]), call  # the caller heard the office ambience
    # The session really thought `turns` times, and each time the 1 kHz cue reached half
    # its level at the source before the state ended.
    assert call["states"].count("thinking") == turns, call["states"]
    assert len(call["thinking_ms"]) == turns and all(map(_sane, call["thinking_ms"])), call
    assert call["exited"], call  # hang-up: the session closed, the job process ended
    # The report renders the part: its section and its summary rows.
    doc = report.render_doc()
    assert "## 7. Jobs that start fast" in doc and "soundscape, `prewarm()` in setup_fnc" in doc
    assert any(row[0].startswith("Job start: `start()` alone") for row in report.summary())
