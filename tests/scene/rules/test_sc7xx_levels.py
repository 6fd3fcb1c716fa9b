"""SC7xx: how loud each bed and cue is at the caller, against the agent's voice.

The figures in the messages are the engine's: a scene rendered offline plays its bed at
the loudness the lint reports.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from support.lint import RATE, WriteScene, at, lint, one, sine, write_wav

from soundscape.audio import load_clip
from soundscape.audio.analysis import integrated_loudness
from soundscape.audio.loudness import clip_loudness
from soundscape.scene import load
from soundscape.scene.sources import resolve


def _lufs(message: str) -> float:
    m = re.search(r"plays at (-?\d+\.\d) LUFS", message)
    assert m, message
    return float(m.group(1))


def _tone(tmp_path: Path, name: str = "tone.wav", seconds: float = 4.0) -> float:
    """A 1 kHz tone; its loudness as the engine measures it (mono, 48 kHz)."""
    x = sine(1000, seconds, peak=0.5)
    write_wav(tmp_path / name, x)
    return clip_loudness(x[:, None], RATE)


# --- SC701 bed-inaudible -------------------------------------------------------------


def test_a_bed_played_as_the_file_is_at_backgroundaudioplayers_volume_is_inaudible(
    write_scene: WriteScene,
):
    # The README's office bed as BackgroundAudioPlayer plays it: the file, at volume 0.3.
    text = """
        version: 1
        layers:
          room: {source: builtin:office-ambience%s}
        """
    path = write_scene(text % ", level: file, gain: 0.3", "file.yaml")
    d = one(lint(path), "SC701")
    clip = clip_loudness(load_clip(resolve("builtin:office-ambience", path.parent)).samples, RATE)
    expected = clip + 20 * np.log10(0.3)
    assert -67.0 < expected < -64.0  # the measurement: about 45 LU under the voice
    assert (d.pos.line, d.pos.col, d.severity) == (3, 3, "warning")
    assert d.message == (
        f"layer 'room' plays at {expected:.1f} LUFS (clip {clip:.1f} LUFS, level file, "
        f"gain -10.5 dB), {-20 - expected:.1f} LU under the voice (-20 LUFS); a caller will "
        "not hear it"
    )
    assert "`level: voice -25 LU`" in (d.hint or "")
    # The default level brings the same clip to 25 LU under the voice: heard.
    assert at(lint(write_scene(text % "", "default.yaml")), "SC701") == []


def test_a_state_level_replaces_the_layers_gain_and_is_checked_on_its_own(
    write_scene: WriteScene, tmp_path: Path
):
    clip = _tone(tmp_path)
    path = write_scene(
        """
        version: 1
        voice: -18 LUFS
        layers:
          bed: {source: tone.wav, gain: 0.1}
        states:
          idle:
            layers: {bed: 0 dB}
          hold:
            layers: {bed: -15 dB}
        transitions:
          - {on: trigger.hold, to: hold}
          - {on: trigger.idle, to: idle}
        triggers: {hold: {}, idle: {}}
        """
    )
    diags = lint(path)
    # Every state sets the bed's level, so the layer's own -20 dB is never heard.
    d = one(diags, "SC701")
    assert (d.pos.line, d.pos.col) == (9, 14)
    assert d.message == (
        f"layer 'bed' in state 'hold' plays at -58.0 LUFS (clip {clip:.1f} LUFS, level voice "
        "-25 LU = -43.0 LUFS, gain -15.0 dB), 40.0 LU under the voice (-18 LUFS); a caller "
        "will not hear it"
    )
    assert "state 'hold'" in (d.hint or "")


def test_the_inaudible_threshold_is_an_option(write_scene: WriteScene, tmp_path: Path):
    _tone(tmp_path)
    path = write_scene("version: 1\nlayers: {bed: {source: tone.wav, level: voice -38 LU}}\n")
    assert at(lint(path), "SC701") == [(2, 10)]
    assert at(lint(path, extra={"bed-inaudible.max-lu": 40.0}), "SC701") == []
    assert at(lint(path, disabled={"bed-inaudible"}), "SC701") == []


def test_a_file_level_pool_is_judged_by_its_quietest_variant(
    write_scene: WriteScene, tmp_path: Path
):
    write_wav(tmp_path / "loud.wav", sine(1000, 4.0, peak=0.01))  # about -43 LUFS
    write_wav(tmp_path / "quiet.wav", sine(1000, 4.0, peak=0.001))  # about -63 LUFS
    path = write_scene(
        """
        version: 1
        levels: file
        sounds:
          bed: {variants: [loud.wav, quiet.wav]}
        layers:
          room: bed
        """
    )
    d = one(lint(path), "SC701")
    assert d.message.startswith("layer 'room' (variant quiet.wav) plays at -63.")


# --- SC702 bed-fights-voice ----------------------------------------------------------


def test_a_bed_close_to_the_voice_fights_it_unless_it_ducks(
    write_scene: WriteScene, tmp_path: Path
):
    _tone(tmp_path)
    text = "version: 1\nlayers: {bed: {source: tone.wav, level: voice -6 LU%s}}\n"
    d = one(lint(write_scene(text % "", "near.yaml")), "SC702")
    assert (d.pos.line, d.pos.col, d.severity) == (2, 10, "warning")
    assert d.message.startswith("layer 'bed' plays at -26.0 LUFS (clip ")
    assert d.message.endswith(
        "level voice -6 LU = -26.0 LUFS), only 6.0 LU under the voice (-20 LUFS); it will "
        "fight the voice"
    )
    assert "`duck: true`" in (d.hint or "")
    # Ducked 12 dB while the agent speaks, it sits 18 LU under the words.
    assert at(lint(write_scene(text % ", duck: -12 dB", "ducked.yaml")), "SC702") == []
    assert (
        at(lint(write_scene(text % "", "opt.yaml"), extra={"bed-fights-voice.min-lu": 5}), "SC702")
        == []
    )


def test_a_file_level_bed_louder_than_the_voice_says_so(write_scene: WriteScene, tmp_path: Path):
    clip = _tone(tmp_path)  # about -9 LUFS
    path = write_scene("version: 1\nlayers: {bed: {source: tone.wav, level: file}}\n")
    d = one(lint(path), "SC702")
    assert f"plays at {clip:.1f} LUFS (clip {clip:.1f} LUFS, level file), " in d.message
    assert f"{clip + 20:.1f} LU over the voice" in d.message
    assert "instead of `level: file`" in (d.hint or "")
    assert at(lint(path), "SC701") == []


# --- SC703 louder-than-voice ---------------------------------------------------------


def test_cues_timers_transitions_and_scatter_louder_than_the_voice(
    write_scene: WriteScene, tmp_path: Path
):
    clip = _tone(tmp_path, seconds=1.0)
    path = write_scene(
        """
        version: 1
        states:
          idle:
            cues: [{source: tone.wav, level: voice +3 LU}, tone.wav]
            after: {5s: {play: {source: tone.wav, level: file}}}
        transitions:
          - {on: agent.thinking, play: {source: tone.wav, level: voice -2 LU, gain: +4 dB}}
        scatter:
          ring: {source: tone.wav, interval: [5s, 9s], level: voice -3 LU, gain: [0.5, 1.6]}
          soft: {source: tone.wav, interval: [5s, 9s], gain: [0.5, 1.6]}
        """
    )
    diags = lint(path)
    assert at(diags, "SC703") == [(4, 12), (5, 24), (7, 32), (9, 3)]
    cue, timer, tr, ring = (d for d in diags if d.code == "SC703")
    assert cue.message == (
        f"cue 'tone.wav' in state 'idle' plays at -17.0 LUFS (clip {clip:.1f} LUFS, level "
        "voice +3 LU = -17.0 LUFS), 3.0 LU over the voice (-20 LUFS); it will startle the "
        "caller and cover the words"
    )
    assert cue.severity == "warning"
    assert timer.message.startswith(f"cue 'tone.wav' of state 'idle' after 5s plays at {clip:.1f}")
    assert "instead of `level: file`" in (timer.hint or "")
    assert "of transition 0 (on agent.thinking) plays at -18.0 LUFS" in tr.message
    assert "2.0 LU over" in tr.message and "drop the `gain` boost" in (tr.hint or "")
    # A scatter is judged at the top of its gain range: +4.1 dB on voice -3 LU.
    assert ring.message.startswith("scatter 'ring' plays at -18.9 LUFS")
    # The threshold moves with the option.
    assert at(lint(path, extra={"louder-than-voice.max-lu": 2.5}), "SC703") == [(4, 12), (5, 24)]


# --- SC704 pumping-layer -------------------------------------------------------------


def _swell(tmp_path: Path, step_db: float) -> Path:
    """Noise that plays 6 s loud, then 6 s ``step_db`` quieter, over and over."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal(12 * RATE) * 0.05
    x[6 * RATE :] *= 10 ** (step_db / 20)
    return write_wav(tmp_path / f"swell{-step_db:g}.wav", x)


def test_a_bed_that_swells_and_sinks_pumps(write_scene: WriteScene, tmp_path: Path):
    _swell(tmp_path, -16.0)
    _swell(tmp_path, -3.0)
    path = write_scene(
        """
        version: 1
        layers:
          swell: swell16.wav
          steady: swell3.wav
        """
    )
    diags = lint(path)
    d = one(diags, "SC704")
    assert (d.pos.line, d.pos.col, d.severity) == (3, 3, "info")
    m = re.search(r"moves over (\d+\.\d) LU across its loop", d.message)
    assert m and 15.0 < float(m.group(1)) < 17.0, d.message
    m = re.search(r"from (\d+\.\d) LU to (\d+\.\d) LU under the voice \(-20 LUFS\)", d.message)
    # The quiet half falls under BS.1770's relative gate, so the level (25 LU under the
    # voice) is the loud half's; the quiet half sits 16 LU further down.
    assert m and 40.0 < float(m.group(1)) < 42.0 and 24.0 < float(m.group(2)) < 26.0, d.message
    assert at(lint(path, extra={"pumping-layer.max-lu": 17.0}), "SC704") == []


def test_built_in_beds_do_not_pump(write_scene: WriteScene):
    path = write_scene(
        """
        version: 1
        layers:
          a: builtin:forest-ambience
          b: builtin:hold-music
          c: builtin:crowded-room
          d: builtin:office-ambience
        """
    )
    assert at(lint(path), "SC704") == []


# --- the figures are the engine's ------------------------------------------------------


@pytest.mark.parametrize("level", ["file", "voice -25 LU", "-40 LUFS"])
def test_the_reported_loudness_is_what_a_render_plays(
    write_scene: WriteScene, tmp_path: Path, level: str
):
    from soundscape.offline.render import render
    from soundscape.offline.timeline import Timeline

    rng = np.random.default_rng(3)
    write_wav(tmp_path / "bed.wav", rng.standard_normal(8 * RATE) * 0.003)  # ~ -50 LUFS
    path = write_scene(
        f"""
        version: 1
        layers:
          bed: {{source: bed.wav, level: {level}, gain: -3 dB, fade_in: 0s}}
        """
    )
    reported = {
        d.code: _lufs(d.message)
        for d in lint(path, extra={"bed-inaudible.max-lu": 0, "bed-fights-voice.min-lu": 99})
        if d.code in ("SC701", "SC702")
    }
    assert set(reported) == {"SC701", "SC702"}  # both report the same figure
    out = render(load(path), Timeline((), 12.0))
    played = integrated_loudness(out.audio[RATE:], RATE)
    assert abs(played - reported["SC701"]) < 0.3
    assert reported["SC701"] == reported["SC702"]


def test_with_a_measured_voice_levels_are_judged_against_its_assumed_start(
    write_scene: WriteScene, tmp_path: Path
):
    clip = _tone(tmp_path, seconds=1.0)
    path = write_scene(
        """
        version: 1
        voice: {loudness: auto, start: -30 LUFS}
        states:
          idle: {cues: [{source: tone.wav, level: file, gain: -18 dB}]}
        """
    )
    d = one(lint(path), "SC703")
    assert d.message.endswith(
        f"{clip - 18 + 30:.1f} LU over the voice (-30 LUFS, assumed until `voice: auto` "
        "measures it); it will startle the caller and cover the words"
    )
