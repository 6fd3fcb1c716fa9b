"""Loop buffers: cyclic reads equal the materialised loop, and the clip is shared, not copied."""

from __future__ import annotations

import numpy as np
import pytest
from support.audio_checks import clicks, sine, step_bound

from soundscape.engine.loops import loop_buffer


@pytest.mark.parametrize("crossfade", [0, 1, 2, 100, 999, 5000])
def test_cyclic_reads_match_the_materialised_loop(crossfade: int) -> None:
    rng = np.random.default_rng(0)
    clip = rng.standard_normal((2000, 2)).astype(np.float32)
    clip.setflags(write=False)
    lb = loop_buffer(clip, crossfade)
    flat = np.concatenate([lb.head, lb.body])
    x = min(crossfade, 1000)  # at most half the clip; below 2 samples there is no seam
    assert len(lb) == flat.shape[0] == (2000 - x if x >= 2 else 2000)
    endless = np.concatenate([flat] * 8)
    for pos, m in [(0, 1), (0, len(lb)), (5, 3 * len(lb) + 17), (len(lb) - 1, 2), (37, 900)]:
        np.testing.assert_array_equal(lb.read(pos, m), endless[pos : pos + m])
    assert lb.peak == pytest.approx(np.abs(flat).max())


def test_the_loop_body_is_a_view_of_the_clip() -> None:
    clip = sine(100, 10.0, 0.3)
    lb = loop_buffer(clip, 4800)
    assert np.shares_memory(lb.body, clip)
    assert lb.head.nbytes == 4800 * 4


def test_seam_is_continuous_for_a_tone_cut_mid_cycle() -> None:
    clip = sine(333.3, 0.5, 0.5)
    lb = loop_buffer(clip, 2400)
    two_laps = lb.read(len(lb) - 3000, 6000)
    assert clicks(two_laps, material_step=step_bound([(0.5, 333.3)])) == []
