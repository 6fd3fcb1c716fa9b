"""SC5xx: levels and use (clipping risk, silence dominating a pool, unused sounds)."""

from __future__ import annotations

import math
from pathlib import Path

from support.lint import WriteScene, at, lint, one, sine, write_wav

from soundscape.scene import load

# --- SC501 clipping-risk -----------------------------------------------------------


def test_clipping_risk_sums_layers_cues_and_scatter_per_state(
    write_scene: WriteScene, tmp_path: Path
):
    write_wav(tmp_path / "tone.wav", sine(440, 0.5, peak=0.5))  # -6 dBFS
    path = write_scene(
        """
        version: 1
        levels: file
        layers:
          a: {source: tone.wav, gain: 0.9}
          b: {source: tone.wav, gain: 0.9}
        states:
          idle:
            layers: {a: 0.5, b: 0.5}
          busy:
            layers: {a: 0.5, b: 0.5}
            cues: [{source: tone.wav, gain: 0.8}]
          loud:
            layers: {a: 1.0, b: 1.2}
        scatter:
          ring: {source: tone.wav, interval: [5s, 10s], gain: [0.2, 0.6], states: [busy]}
        """
    )
    diags = lint(path)
    assert at(diags, "SC501") == [(9, 3), (12, 3)]
    busy, loud = (d for d in diags if d.code == "SC501")
    # busy: 0.25 + 0.25 + 0.4 + 0.3 = 1.2 → +1.6 dBFS
    assert f"sum to {20 * math.log10(1.2):+.1f} dBFS" in busy.message
    assert "scatter 'ring'" in busy.message
    # loud: 0.5 + 0.6 = 1.1; the scatter plays only in busy.
    assert f"sum to {20 * math.log10(1.1):+.1f} dBFS" in loud.message
    assert "scatter" not in loud.message
    # idle: 0.25 + 0.25 stays well below 0 dBFS.
    assert busy.severity == "warning"


def test_master_gain_brings_the_sum_under_0_dbfs(write_scene: WriteScene, tmp_path: Path):
    write_wav(tmp_path / "tone.wav", sine(440, 0.5, peak=0.8))
    scene = """
        version: 1
        levels: file
        master: {gain: %s}
        layers:
          a: {source: tone.wav}
          b: {source: tone.wav, gain: 0.5}
        """
    loud = write_scene(scene % "0 dB", "loud.yaml")
    tamed = write_scene(scene % "-6 dB", "tamed.yaml")
    assert at(lint(loud), "SC501") == [(4, 1)]
    assert at(lint(tamed), "SC501") == []


def test_clipping_risk_counts_what_the_level_raises_a_quiet_clip_by(
    write_scene: WriteScene, tmp_path: Path
):
    from soundscape.audio.loudness import clip_loudness

    x = sine(1000, 1.0, peak=0.05)  # -26 dBFS peak, about -29 LUFS
    write_wav(tmp_path / "quiet.wav", x)
    scene = """
        version: 1
        levels: %s
        layers:
          a: quiet.wav
          b: quiet.wav
        """
    # As the files are, two -26 dBFS peaks sum to -20 dBFS: no risk.
    assert at(lint(write_scene(scene % "file", "file.yaml")), "SC501") == []
    # Brought to -6 LUFS each (23 dB up), they sum above full scale.
    d = one(lint(write_scene(scene % "-6 LUFS", "loud.yaml")), "SC501")
    each = 20 * math.log10(0.05) + (-6 - clip_loudness(x[:, None], 48000))
    assert f"layer 'a' {each:+.1f} dBFS, layer 'b' {each:+.1f} dBFS" in d.message
    assert f"sum to {each + 20 * math.log10(2):+.1f} dBFS" in d.message


# --- SC502 silence-dominates / SC503 unused-sound -----------------------------------


def test_silence_dominating_a_pool(write_scene: WriteScene):
    path = write_scene(
        """
        version: 1
        sounds:
          half: {source: builtin:keyboard-typing, silence: 0.5}
          many:
            variants: [builtin:keyboard-typing, builtin:keyboard-typing2, builtin:hold-music]
            silence: 30%
          weighted:
            variants:
              - {source: builtin:keyboard-typing, weight: 9}
              - builtin:keyboard-typing2
            silence: 0.3
          fine: {variants: [builtin:keyboard-typing, builtin:keyboard-typing2], silence: 0.2}
          tie:
            variants: [builtin:keyboard-typing, builtin:keyboard-typing2, builtin:hold-music]
            pick: shuffle
            silence: 25%
        states:
          idle: {cues: [half, many, weighted, fine, tie]}
        """
    )
    diags = lint(path, assets=False)
    assert at(diags, "SC502") == [(3, 52), (6, 14)]
    half, many = (d for d in diags if d.code == "SC502")
    assert "silent 50% of the times it starts" in half.message
    assert "likeliest variant plays (23%)" in many.message


def test_a_pool_with_every_weight_zero_never_plays(write_scene: WriteScene):
    path = write_scene(
        """
        version: 1
        sounds:
          off:
            variants: [{source: builtin:chime, weight: 0}, {source: builtin:error, weight: 0}]
          one-off: {variants: [{source: builtin:chime, weight: 0}], pick: shuffle}
          fine:
            variants: [builtin:chime, {source: builtin:error, weight: 0}]
            pick: shuffle
            silence: 50%
        layers:
          bed: off
        states:
          idle: {cues: [one-off, fine]}
        """
    )
    diags = lint(path, assets=False)
    assert at(diags, "SC502") == [(3, 3), (5, 3), (9, 14)]
    off, one_off, fine = (d for d in diags if d.code == "SC502")
    assert off.severity == "warning"
    assert off.message == (
        "sound 'off' never plays: every variant has weight 0, so whatever plays it is silent"
    )
    assert "weight above 0" in (off.hint or "")
    assert "one-off" in one_off.message and "never plays" in one_off.message
    # Shuffling one playable variant: it plays every time it is not silent.
    assert "silent 50% of the times it starts" in fine.message


def test_unused_sound_is_info_and_ignores_included_libraries(
    write_scene: WriteScene,
):
    write_scene(
        """
        version: 1
        sounds:
          library-extra: builtin:hold-music
        """,
        "library.yaml",
    )
    path = write_scene(
        """
        version: 1
        include: library.yaml
        sounds:
          office: builtin:office-ambience
          spare: builtin:crowded-room
        layers:
          room: office
        """
    )
    diags = lint(path, assets=False)
    d = one(diags, "SC503")
    assert (d.pos.line, d.pos.col, d.severity) == (5, 3, "info")
    assert d.message == "sound 'spare' is defined but the scene never plays it"
    # The fragment linted on its own plays nothing: it is a library, not a scene.
    assert at(lint(path.parent / "library.yaml", assets=False), "SC503") == []


def test_a_sound_played_from_code_is_marked_so_and_not_reported(write_scene: WriteScene):
    text = """
        version: 1
        sounds:
          office: builtin:office-ambience
          ding: {source: builtin:chime%s}
        layers:
          room: office
        """
    d = one(lint(write_scene(text % ""), assets=False), "SC503")
    assert d.message == "sound 'ding' is defined but the scene never plays it"
    assert d.hint == (
        "play it from a layer, cue or scatter, or remove it; if your code plays it "
        '(`scape.play("ding")`), mark it `from_code: true`'
    )
    marked = write_scene(text % ", from_code: true", "marked.yaml")
    assert lint(marked, assets=False) == []
    # The mark is part of the language: the loader accepts it, and it changes no sound.
    assert load(marked).sounds["ding"].from_code is True
