"""Live reload: what a listener hears when the scene file is edited under a playing scape."""

from __future__ import annotations

import asyncio
import logging
import textwrap
from pathlib import Path

import numpy as np
import pytest
from support.audio_checks import (
    clicks,
    scene_plan,
    sine,
    step_bound,
    tone_level,
    tone_track,
    write_wav,
)
from support.tap import AudioTap, close_all

from soundscape.engine import Engine
from soundscape.runtime import Soundscape, make_audio_source
from soundscape.runtime.reload import Watcher

RATE = 48000
BED, CUE, PAD, OTHER = 220.0, 660.0, 990.0, 1320.0
AMP = 0.5
XF = 4800  # 100 ms crossfade

# Tones as written (`levels: file`): the tests follow each one's level in the output.
SCENE = """\
version: 1
name: reload
levels: file
sounds:
  bed: bed.wav
  cue: cue.wav
  pad: pad.wav
  other: other.wav
layers:
  bed: {sound: bed, gain: 0.3, fade_in: 10ms}
states:
  idle:
    cues:
      - {sound: cue, gain: 0.5, loop: true}
  away:
    cues:
      - {sound: other, gain: 0.5, loop: true}
"""

CLIPS = {
    "bed.wav": sine(BED, 2.0, AMP),
    "cue.wav": sine(CUE, 1.0, AMP),
    "pad.wav": sine(PAD, 1.0, AMP),
    "other.wav": sine(OTHER, 1.0, AMP),
}


def edited(old: str, new: str, text: str = SCENE) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def engine(text: str = SCENE) -> Engine:
    return Engine(scene_plan(text, CLIPS), seed=1)


def reload_at(text: str, at: int, after: int, *, xf: int = XF) -> tuple[np.ndarray, object]:
    """Render ``at`` samples of SCENE, adopt ``text``, render ``after`` more."""
    eng = engine()
    before = eng.render(at)
    report = eng.adopt(scene_plan(text, CLIPS), xf)
    return np.concatenate([before, eng.render(after)])[:, 0], report


# ------------------------------------------------------------------- engine.adopt


def test_unchanged_bed_is_sample_identical_to_no_reload():
    # The edit touches only another state: what plays now must not move by one bit.
    text = edited("{sound: other, gain: 0.5, loop: true}", "{sound: other, gain: 0.1, loop: true}")
    y, report = reload_at(text, 30000, 30000)
    ref = engine().render(60000)[:, 0]
    assert np.array_equal(y, ref)
    assert report.kept == ["bed", "idle:cue"]
    assert report.crossfaded == [] and report.added == [] and report.removed == []


def test_cue_gain_edit_changes_only_that_cue():
    text = edited("{sound: cue, gain: 0.5, loop: true}", "{sound: cue, gain: 0.25, loop: true}")
    at = 48000
    y, report = reload_at(text, at, 48000)
    assert report.kept == ["bed"] and report.crossfaded == ["idle:cue"]
    bed = tone_track(y, BED, 960)
    cue = tone_track(y, CUE, 960)
    # The bed, across the whole reload, stays at 0.3 × 0.5 within 0.5 %.
    assert np.all(np.abs(bed[1:] - 0.15) < 0.15 * 0.005), bed.min()  # [0]: the start's fade
    assert cue[1 : at // 960] == pytest.approx(0.25, rel=0.01)
    assert cue[(at + XF) // 960 + 1 :] == pytest.approx(0.125, rel=0.01)
    assert clicks(y, material_step=step_bound([(0.15, BED), (0.25, CUE), (0.25, CUE)])) == []


def test_added_layer_fades_in_over_the_crossfade_from_the_reload_sample():
    text = edited(
        "  bed: {sound: bed, gain: 0.3, fade_in: 10ms}\n",
        "  bed: {sound: bed, gain: 0.3, fade_in: 10ms}\n  pad: {sound: pad, gain: 0.4, fade_in: 10ms}\n",
    )
    at = 24000
    y, report = reload_at(text, at, 24000)
    assert report.added == ["pad"] and report.kept == ["bed", "idle:cue"]
    pad = tone_track(y, PAD, 960)
    k = at // 960
    assert np.all(pad[:k] < 0.005)  # what leaks from the 660 Hz cue into a 20 ms window
    rising = pad[k : k + XF // 960]
    assert np.all(np.diff(rising) > 0.01) and rising[0] < 0.05
    assert pad[k + XF // 960 + 1 :] == pytest.approx(0.2, rel=0.01)
    assert clicks(y, material_step=step_bound([(0.15, BED), (0.25, CUE), (0.2, PAD)])) == []


def test_removed_layer_fades_out_and_goes_silent():
    text = edited(
        "  bed: {sound: bed, gain: 0.3, fade_in: 10ms}\n",
        "  pad: {sound: pad, gain: 0.4, fade_in: 10ms}\n",
    )
    text = text.replace("layers:\n", "layers:\n  bed2: {sound: bed, gain: 0.0, fade_in: 10ms}\n", 1)
    at = 24000
    y, report = reload_at(text, at, 24000)
    assert "bed" in report.removed
    bed = tone_track(y, BED, 960)
    k = at // 960
    assert bed[1:k] == pytest.approx(0.15, rel=0.01)
    assert np.all(np.diff(bed[k : k + XF // 960]) < -0.01)
    assert np.all(bed[k + XF // 960 + 1 :] < 0.005)


def test_state_is_kept_when_it_still_exists_and_initial_otherwise():
    eng = engine()
    eng.post("trigger.x")  # not an event of the scene: stays idle
    eng.render(4800)
    eng._machine.goto("away", reason="test")  # type: ignore[attr-defined]
    eng.render(4800)
    kept = eng.adopt(scene_plan(SCENE.replace("gain: 0.3", "gain: 0.2"), CLIPS), XF)
    assert kept.state_kept and eng.state == "away"
    gone = eng.adopt(scene_plan(SCENE.replace("  away:", "  elsewhere:"), CLIPS), XF)
    assert not gone.state_kept and eng.state == "idle"
    y = eng.render(48000)[:, 0]
    assert tone_level(y[-9600:], CUE) == pytest.approx(0.25, rel=0.01)  # idle's cue entered
    assert tone_level(y[-9600:], OTHER) < 1e-3  # the gone state's cue faded out


def test_a_rewind_across_the_reload_returns_to_the_old_scene():
    eng = engine()
    eng.render(9600)
    snap = eng.snapshot()
    eng.adopt(scene_plan(SCENE.replace("gain: 0.3", "gain: 0.1"), CLIPS), XF)
    eng.render(9600)
    eng.restore(snap)
    ref = engine()
    ref.render(9600)
    assert np.array_equal(eng.render(9600), ref.render(9600))


def test_master_gain_edit_ramps_instead_of_stepping():
    text = SCENE.replace("layers:", "master: {gain: 0.5}\nlayers:", 1)
    y, _ = reload_at(text, 24000, 24000)
    bed = tone_track(y, BED, 480)
    assert bed[-10:] == pytest.approx(0.075, rel=0.01)
    assert clicks(y, material_step=step_bound([(0.15, BED), (0.25, CUE)])) == []


# ---------------------------------------------------------------- Soundscape.reload


def write_scene(d: Path, text: str = SCENE) -> Path:
    for name, clip in CLIPS.items():
        write_wav(d / name, clip)
    path = d / "scene.yaml"
    path.write_text(text)
    return path


@pytest.fixture(autouse=True)
async def _close_taps():
    yield
    await close_all()


async def live(path: Path, **kw) -> tuple[Soundscape, AudioTap]:
    scape = Soundscape(path, seed=3, **kw)
    source = make_audio_source(RATE, 1, 1000)
    tap = AudioTap(source)
    await scape.start(audio_source=source)
    return scape, tap


def steady(track: np.ndarray, level: float) -> tuple[int, int]:
    on = np.flatnonzero(track > level / 2)
    return int(on[0]), int(on[-1])


async def test_live_cue_edit_keeps_the_bed_continuous(tmp_path):
    path = write_scene(tmp_path)
    scape, tap = await live(path)
    await asyncio.sleep(0.6)
    path.write_text(
        edited("{sound: cue, gain: 0.5, loop: true}", "{sound: cue, gain: 0.25, loop: true}")
    )
    result = await scape.reload(crossfade="100ms")
    assert result.ok and result.kept == ("bed",) and result.crossfaded == ("idle:cue",)
    await asyncio.sleep(0.6)
    await scape.aclose(fade=0.01)
    y = tap.heard()[:, 0]
    bed = tone_track(y, BED, 960)
    first, last = steady(bed, 0.15)
    body = bed[first + 2 : last - 2]
    assert body.size > 40
    # 16-bit track: the bed's level holds within 1 % through the reload and the splices.
    assert np.all(np.abs(body - 0.15) < 0.0015), (body.min(), body.max())
    cue = tone_track(y, CUE, 960)
    assert cue[first + 2 : first + 20] == pytest.approx(0.25, rel=0.02)
    assert cue[last - 12 : last - 2] == pytest.approx(0.125, rel=0.02)
    span = y[first * 960 : (last - 1) * 960]
    assert clicks(span, material_step=step_bound([(0.15, BED), (0.25, CUE), (0.25, CUE)])) == []


async def test_live_invalid_edit_keeps_playing_and_reports_file_line_col(tmp_path, caplog):
    path = write_scene(tmp_path)
    scape, tap = await live(path)
    await asyncio.sleep(0.3)
    path.write_text(
        edited(
            "  bed: {sound: bed, gain: 0.3, fade_in: 10ms}",
            "  bed: {sound: bedd, gain: 0.3, fade_in: 10ms}",
        )
    )
    with caplog.at_level(logging.WARNING, logger="soundscape"):
        result = await scape.reload()
    assert not result.ok
    assert [str(d).splitlines()[0] for d in result.diagnostics] == [
        f"{path}:10:16: error: sound 'bedd' is not defined; did you mean 'bed'? [SC201]"
    ]
    assert any(
        "keeps playing" in r.getMessage() and ":10:16" in r.getMessage() for r in caplog.records
    )
    await asyncio.sleep(0.4)
    await scape.aclose(fade=0.01)
    y = tap.heard()[:, 0]
    bed = tone_track(y, BED, 960)
    first, last = steady(bed, 0.15)
    assert np.all(np.abs(bed[first + 2 : last - 2] - 0.15) < 0.0015)
    assert scape.scene.layers["bed"].sound == "bed"


async def test_watch_reloads_an_edited_include_and_the_new_layer_is_heard(tmp_path):
    write_scene(tmp_path)
    (tmp_path / "extra.yaml").write_text("sounds:\n  pad: pad.wav\n")
    main = tmp_path / "main.yaml"
    main.write_text(
        SCENE.replace("  pad: pad.wav\n", "").replace(
            "name: reload\n", "name: reload\ninclude: [extra.yaml]\n"
        )
    )
    scape, tap = await live(main, watch=0.05)
    loaded = asyncio.get_running_loop().create_future()
    scape.on(
        "voice_started",
        lambda ev: ev.name == "pad" and not loaded.done() and loaded.set_result(None),
    )
    await asyncio.sleep(0.3)
    # Only the included file changes: its sound `pad` now feeds a new layer declared in it.
    (tmp_path / "extra.yaml").write_text(
        "sounds:\n  pad: pad.wav\nlayers:\n  pad: {sound: pad, gain: 0.4, fade_in: 10ms}\n"
    )
    await asyncio.wait_for(loaded, 10)
    await asyncio.sleep(0.5)
    await scape.aclose(fade=0.01)
    y = tap.heard()[:, 0]
    pad = tone_track(y, PAD, 960)
    assert pad.max() == pytest.approx(0.2, rel=0.02)
    assert "pad" in scape.scene.layers


def test_watcher_sees_each_change_once(tmp_path):
    f = tmp_path / "a.yaml"
    f.write_text("x")
    w = Watcher([f], period=1.0)
    assert not w.due(0.0)
    f.write_text("xy")
    assert not w.due(0.5)  # within the period: no look
    assert w.due(1.0)
    assert not w.due(2.0)
    f.unlink()
    assert w.due(3.0)


def test_reload_of_a_scene_from_a_string_says_why_not():
    from soundscape.scene import loads

    scape = Soundscape(loads(textwrap.dedent(SCENE), "<s>"))
    with pytest.raises(ValueError, match="not loaded from a file"):
        scape.watch()
