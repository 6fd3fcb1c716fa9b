"""SC4xx: the audio files (missing, undecodable, empty, silent; a click at a loop's seam)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from support.lint import RATE, WriteScene, at, lint, one, sine, write_wav

# --- SC401..SC404: files -------------------------------------------------------------


def test_missing_files_are_errors_at_the_source(write_scene: WriteScene, tmp_path: Path):
    write_wav(tmp_path / "ok.wav", sine(440, 0.5))
    path = write_scene(
        """
        version: 1
        sounds:
          chime: sounds/chime.wav
          pool:
            variants:
              - ok.wav
              - {source: gone.wav, weight: 2}
        layers:
          room: {source: nowhere/bed.ogg}
        states:
          idle: {cues: [chime, pool]}
        """
    )
    diags = lint(path)
    assert at(diags, "SC401") == [(3, 10), (7, 18), (9, 18)]
    d = diags[0]
    assert d.severity == "error"
    assert "audio file 'sounds/chime.wav' not found" in d.message
    assert str(tmp_path / "sounds" / "chime.wav") in d.message


def test_undecodable_file_is_an_error(write_scene: WriteScene, tmp_path: Path):
    (tmp_path / "fake.ogg").write_bytes(b"this is a text file with an audio extension\n" * 20)
    path = write_scene(
        """
        version: 1
        layers:
          room: fake.ogg
        """
    )
    d = one(lint(path), "SC402")
    assert (d.pos.line, d.pos.col, d.severity) == (3, 9, "error")
    # The decoder's own reason follows (its wording belongs to soundscape.audio).
    assert d.message.startswith("audio file 'fake.ogg' cannot be used: ")
    assert "Errno" not in d.message and str(tmp_path) not in d.message


def test_zero_length_and_out_of_range_trim_are_empty_audio(write_scene: WriteScene, tmp_path: Path):
    write_wav(tmp_path / "nothing.wav", np.zeros(0))
    (tmp_path / "zero-bytes.wav").write_bytes(b"")
    write_wav(tmp_path / "short.wav", sine(440, 1.0))
    path = write_scene(
        """
        version: 1
        sounds:
          a: nothing.wav
          b: {source: zero-bytes.wav}
          c: {source: short.wav, trim: {start: 2s}}
          d: {source: short.wav, trim: {start: 0.5s}}
        states:
          idle: {cues: [a, b, c, d]}
        """
    )
    diags = lint(path)
    assert at(diags, "SC403") == [(3, 6), (4, 15), (5, 15)]
    assert "trim starts at 2 s but the file is only 1.00 s long" in diags[2].message
    assert at(diags, "SC402") == []


def test_silent_file_is_a_warning(write_scene: WriteScene, tmp_path: Path):
    write_wav(tmp_path / "zeros.wav", np.zeros(RATE))
    write_wav(tmp_path / "whisper.wav", sine(440, 1.0, peak=10 ** (-70 / 20)))
    write_wav(tmp_path / "quiet.wav", sine(440, 1.0, peak=10 ** (-50 / 20)))
    path = write_scene(
        """
        version: 1
        sounds:
          zeros: zeros.wav
          whisper: whisper.wav
          quiet: quiet.wav
        states:
          idle: {cues: [zeros, whisper, quiet]}
        """
    )
    diags = lint(path)
    assert at(diags, "SC404") == [(3, 10), (4, 12)]
    zeros, whisper = (d for d in diags if d.code == "SC404")
    assert "digital silence" in zeros.message
    # 16-bit rounding moves the level by a fraction of a dB at most.
    level = float(re.search(r"peaks at (-?\d+\.\d) dBFS", whisper.message).group(1))  # type: ignore[union-attr]
    assert level == pytest.approx(-70, abs=0.6)


def test_silence_in_a_trimmed_part_counts(write_scene: WriteScene, tmp_path: Path):
    # one second of silence, then a tone: a trim that keeps only the silence is silent.
    write_wav(tmp_path / "late.wav", np.concatenate([np.zeros(RATE), sine(440, 1.0)]))
    path = write_scene(
        """
        version: 1
        sounds:
          late: {source: late.wav, trim: {end: 900ms}}
          whole: late.wav
        states:
          idle: {cues: [late, whole]}
        """
    )
    assert at(lint(path), "SC404") == [(3, 18)]


def test_no_assets_skips_decoding(write_scene: WriteScene):
    path = write_scene(
        """
        version: 1
        layers:
          room: missing.wav
        """
    )
    assert at(lint(path), "SC401") == [(3, 9)]
    assert at(lint(path, assets=False), "SC401") == []


# --- SC405 loop-seam-click -------------------------------------------------------------


@pytest.fixture
def seam_files(tmp_path: Path) -> Path:
    # 440 Hz over 0.2503 s ends mid-cycle: the loop jumps from about -0.26 back to 0.
    write_wav(tmp_path / "cut.wav", sine(440, 0.2503))
    # 480 Hz is exactly 100 samples per cycle, so 1 s loops seamlessly.
    write_wav(tmp_path / "whole.wav", sine(480, 1.0))
    return tmp_path


def test_seam_click_fires_without_crossfade(write_scene: WriteScene, seam_files: Path):
    path = write_scene(
        """
        version: 1
        layers:
          a: {source: cut.wav, crossfade: 0s}
          b:
            source: cut.wav
            crossfade: 0.05ms
          c: {source: cut.wav, crossfade: 1ms}
          e: {source: cut.wav, crossfade: 50ms}
          d: {source: whole.wav, crossfade: 0s}
        states:
          idle:
            cues:
              - {source: cut.wav, loop: true, crossfade: 0s}
              - {source: cut.wav, crossfade: 0s}
        """
    )
    diags = lint(path)
    # a 0.05 ms crossfade (2.4 samples) barely softens the jump; 1 ms (48 samples) spreads it
    # below the sine's own steepest steps; a non-looping cue has no seam.
    assert at(diags, "SC405") == [(3, 35), (6, 16), (13, 50)]
    d = diags[0]
    assert d.severity == "warning"
    assert d.message.startswith("layer 'a' loops 'cut.wav' with a click at the seam")
    assert "0 ms crossfade does not hide it" in d.message
    assert d.hint is not None and re.search(r"crossfade: \d+ms", d.hint)


def test_default_cue_crossfade_hides_the_seam(write_scene: WriteScene, seam_files: Path):
    path = write_scene(
        """
        version: 1
        sounds:
          cut: cut.wav
        states:
          idle:
            cues: [{sound: cut, loop: true}]
        """
    )
    # The cue default crossfade (100 ms) hides the jump; a 0 s crossfade does not.
    assert at(lint(path), "SC405") == []
    path.write_text(path.read_text().replace("loop: true", "loop: true, crossfade: 0s"))
    assert at(lint(path), "SC405") == [(6, 48)]


@pytest.mark.parametrize("crossfade", ["0s", "0.05ms", "1ms", "10ms", "50ms"])
def test_seam_warning_agrees_with_what_the_engine_plays(
    write_scene: WriteScene, seam_files: Path, crossfade: str
):
    """Lint warns exactly when the engine's loop really has a step far beyond the material's."""
    loops = pytest.importorskip("soundscape.engine.loops")
    from soundscape.scene.rules.sc405_loop_seam_click import FACTOR
    from soundscape.scene.units import parse_duration

    x = sine(440, 0.2503).astype(np.float32)[:, None]
    x = np.round(x * 32767) / 32767  # what the 16-bit file holds
    buf = loops.loop_buffer(x, round(parse_duration(crossfade) * RATE))
    played = buf.read(0, 2 * len(buf))[:, 0]  # two passes: the seam is inside
    own = np.percentile(np.abs(np.diff(x[:, 0])), 99.9)
    clicks = np.abs(np.diff(played)).max() > FACTOR * own

    path = write_scene(f"version: 1\nlayers:\n  hum: {{source: cut.wav, crossfade: {crossfade}}}\n")
    warned = bool(at(lint(path), "SC405"))
    assert warned == clicks
    assert warned == (crossfade in ("0s", "0.05ms"))


def test_seam_of_noise_does_not_click(write_scene: WriteScene, tmp_path: Path):
    rng = np.random.default_rng(7)
    write_wav(tmp_path / "noise.wav", rng.uniform(-0.3, 0.3, RATE))
    path = write_scene(
        """
        version: 1
        layers:
          room: {source: noise.wav, crossfade: 0s}
        """
    )
    assert at(lint(path), "SC405") == []
