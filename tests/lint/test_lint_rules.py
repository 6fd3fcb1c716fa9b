"""Each lint rule fires on a minimal bad scene at the exact line:col, and stays quiet otherwise.

Audio fixtures are generated here (numpy + the stdlib `wave` module) so every
number the asset rules measure is known: a sine's peak, a seam's jump.
"""

from __future__ import annotations

import math
import re
import wave
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from soundscape.errors import Diagnostic, SceneError
from soundscape.lint import LintOptions, lint_file
from soundscape.scene import load
from soundscape.scene.rules import ALL_RULES

ROOT = Path(__file__).resolve().parents[2]
RATE = 48_000

WriteScene = Callable[..., Path]


def write_wav(path: Path, samples: np.ndarray, rate: int = RATE) -> Path:
    """16-bit PCM WAV from float samples in -1..1 (mono 1-D or (frames, channels))."""
    data = np.asarray(samples, dtype=np.float64)
    if data.ndim == 1:
        data = data[:, None]
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as f:
        f.setnchannels(data.shape[1])
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes((np.clip(data, -1, 1) * 32767).round().astype("<i2").tobytes())
    return path


def sine(freq: float, seconds: float, peak: float = 0.5) -> np.ndarray:
    t = np.arange(round(seconds * RATE)) / RATE
    return peak * np.sin(2 * np.pi * freq * t)


def lint(path: Path, **options: object) -> list[Diagnostic]:
    return lint_file(path, LintOptions(**options))  # type: ignore[arg-type]


def at(diags: list[Diagnostic], code: str) -> list[tuple[int, int]]:
    return [(d.pos.line, d.pos.col) for d in diags if d.code == code]


def one(diags: list[Diagnostic], code: str) -> Diagnostic:
    found = [d for d in diags if d.code == code]
    assert len(found) == 1, [str(d) for d in diags]
    return found[0]


def test_rule_codes_are_unique_and_well_formed():
    codes = [r.code for r in ALL_RULES]
    assert len(codes) == len(set(codes))
    for r in ALL_RULES:
        assert re.fullmatch(r"SC\d{3}", r.code)
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*", r.name)
        assert r.severity in ("error", "warning", "info")
        assert r.summary.endswith(".")


# --- SC205 guard-field ---------------------------------------------------------------


def test_guard_on_a_field_the_event_lacks_points_at_the_field(write_scene: WriteScene):
    path = write_scene(
        """
        version: 1
        states: {idle: {}, busy: {}}
        transitions:
          - on: tool.started
            when: {tool_name: lookup}
            to: busy
          - {on: tool.ended, when: {tool: lookup, status: done}, to: idle}
        """
    )
    d = one(lint(path), "SC205")
    assert (d.pos.line, d.pos.col) == (5, 12)
    assert d.severity == "warning"
    assert "'tool.started' has no field 'tool_name'" in d.message
    assert "did you mean 'tool'" in d.message
    assert d.hint is not None and "tool, call_id" in d.hint


def test_guard_on_a_trigger_uses_the_trigger_fields(write_scene: WriteScene):
    path = write_scene(
        """
        version: 1
        states: {idle: {}, hold: {}}
        triggers:
          transfer: {description: call transferred, fields: {queue: which queue}}
        transitions:
          - {on: trigger.transfer, when: {queue: sales}, to: hold}
          - {on: transfer, when: {qeue: sales}, to: hold}
        """
    )
    assert at(lint(path), "SC205") == [(7, 27)]


# --- SC206 guard-value -----------------------------------------------------------------


def test_guard_value_the_field_never_takes(write_scene: WriteScene):
    path = write_scene(
        """
        version: 1
        states: {idle: {}, busy: {}}
        transitions:
          - {on: tool.ended, when: {status: failed}, to: idle}
          - on: tool.ended
            when:
              status: [done, canceled]
            to: idle
          - {on: speech.created, when: {user_initiated: "true"}, to: busy}
          - {on: agent.thinking, when: {old_state: listening}, to: busy}
          - {on: speech.created, when: {user_initiated: true, source: say}, to: busy}
          - {on: session.close, when: {reason: user_initiated}, to: idle}
        """
    )
    diags = lint(path)
    assert at(diags, "SC206") == [(4, 37), (7, 22), (9, 49)]
    failed, canceled, quoted = (d for d in diags if d.code == "SC206")
    assert failed.message == (
        "event 'tool.ended' never has status 'failed', so this transition never fires"
    )
    assert failed.hint == "'status' is one of: done, error, cancelled"
    assert canceled.message.endswith("did you mean 'cancelled'?")
    assert "never fires" not in canceled.message  # `done` still can
    assert quoted.hint == "write `true` or `false` without quotes"


def test_guard_value_agrees_with_the_runtime_and_livekit():
    """The table matches livekit-agents' types, and the runtime's guard comparison."""
    import typing

    from livekit.agents.voice import events as lk

    from soundscape.engine import machine
    from soundscape.scene.rules.sc206_guard_value import VALUES, _matches

    assert VALUES[("agent.idle", "old_state")] == typing.get_args(lk.AgentState)
    assert VALUES[("user.away", "old_state")] == typing.get_args(lk.UserState)
    status = typing.get_type_hints(lk.ToolCallEnded)["status"]
    assert VALUES[("tool.ended", "status")] == typing.get_args(status)
    assert set(VALUES[("session.close", "reason")]) == {r.value for r in lk.CloseReason}
    src = typing.get_type_hints(lk.SpeechCreatedEvent)["source"]
    assert VALUES[("speech.created", "source")] == typing.get_args(src)
    for allowed in VALUES.values():
        for guard in [*allowed, "nope", "True", "true", 1, 0, "1"]:
            runtime = any(machine._same(v, guard) for v in allowed)
            assert _matches(guard, allowed) == runtime, (allowed, guard)


# --- SC301 unreachable-state / SC302 no-exit-state ------------------------------------


def test_unreachable_state_is_reported_at_its_name(write_scene: WriteScene):
    path = write_scene(
        """
        version: 1
        follow_agent: false
        states:
          idle: {}
          ringing: {}
          orphan: {}
          lonely:
            after: {5s: {goto: idle}}
        transitions:
          - {on: trigger.ring, from: idle, to: ringing}
          - {on: trigger.ring, from: lonely, to: orphan}
          - {on: agent.idle, to: idle}
        triggers: {ring: the phone rings}
        """
    )
    diags = lint(path)
    assert at(diags, "SC301") == [(6, 3), (7, 3)]
    orphan, lonely = (d for d in diags if d.code == "SC301")
    assert "only 'lonely' leads to it" in orphan.message
    assert "no transition, `after` timer or agent event leads to it" in lonely.message


def test_follow_agent_makes_agent_named_states_reachable(write_scene: WriteScene):
    path = write_scene(
        """
        version: 1
        states: {idle: {}, thinking: {}, speaking: {}}
        """
    )
    assert at(lint(path), "SC301") == []
    assert at(lint(path), "SC302") == []


def test_state_without_way_out_is_reported(write_scene: WriteScene):
    path = write_scene(
        """
        version: 1
        follow_agent: false
        states:
          idle: {}
          hold: {}
          ended: {}
        transitions:
          - {on: trigger.transfer, from: idle, to: hold}
          - {on: session.close, to: ended}
        triggers: {transfer: the call is transferred}
        """
    )
    d = one(lint(path), "SC302")
    assert (d.pos.line, d.pos.col, d.severity) == (5, 3, "warning")
    assert "state 'hold' has no way out" in d.message


def test_a_self_transition_is_no_way_out(write_scene: WriteScene):
    path = write_scene(
        """
        version: 1
        follow_agent: false
        states:
          idle: {after: {1s: {goto: loop}}}
          loop: {after: {1s: {goto: loop}}}
        """
    )
    assert at(lint(path), "SC302") == [(5, 3)]


# --- SC303 instant-cycle ---------------------------------------------------------------

_CYCLE = """
version: 1
states:
  idle: {}
  a:
    after: {0s: {goto: b}}
  b:
    after:
      0ms: {goto: a}
transitions:
  - {on: agent.thinking, to: a}
"""


def test_instant_cycle_is_an_error_at_the_first_goto(write_scene: WriteScene):
    path = write_scene(_CYCLE)
    d = one(lint(path), "SC303")
    assert (d.pos.line, d.pos.col, d.severity) == (5, 24, "error")
    assert "a → b → a" in d.message


def test_loader_refuses_an_instant_cycle(write_scene: WriteScene):
    path = write_scene(_CYCLE)
    with pytest.raises(SceneError) as ei:
        load(path)
    assert [(x.pos.line, x.pos.col, x.code) for x in ei.value.diagnostics] == [(5, 24, "SC303")]


def test_instant_self_loop_and_timed_cycle(write_scene: WriteScene):
    path = write_scene(
        """
        version: 1
        states:
          idle: {after: {0s: {goto: idle}}}
          a: {after: {0s: {goto: b}}}
          b: {after: {2s: {goto: a}}}
        """
    )
    diags = lint(path)
    assert at(diags, "SC303") == [(3, 29)]
    assert "idle → idle" in one(diags, "SC303").message


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


# --- SC501 clipping-risk -----------------------------------------------------------


def test_clipping_risk_sums_layers_cues_and_scatter_per_state(
    write_scene: WriteScene, tmp_path: Path
):
    write_wav(tmp_path / "tone.wav", sine(440, 0.5, peak=0.5))  # -6 dBFS
    path = write_scene(
        """
        version: 1
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
    assert at(diags, "SC501") == [(8, 3), (11, 3)]
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
        master: {gain: %s}
        layers:
          a: {source: tone.wav}
          b: {source: tone.wav, gain: 0.5}
        """
    loud = write_scene(scene % "0 dB", "loud.yaml")
    tamed = write_scene(scene % "-6 dB", "tamed.yaml")
    assert at(lint(loud), "SC501") == [(3, 1)]
    assert at(lint(tamed), "SC501") == []


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


# --- suppression comments -------------------------------------------------------------


def test_comment_silences_a_rule_on_its_line_or_the_line_above(write_scene: WriteScene):
    path = write_scene(
        """
        version: 1
        sounds:
          a: builtin:hold-music  # soundscape: disable=SC503
          # soundscape: disable=unused-sound
          b: builtin:hold-music
          c: builtin:hold-music  # soundscape: disable=SC404
          d: builtin:hold-music
        layers: {bed: builtin:office-ambience}
        """
    )
    assert at(lint(path, assets=False), "SC503") == [(6, 3), (7, 3)]


def test_suppression_counts_lines_as_yaml_does(write_scene: WriteScene):
    # A NEL or LS inside a comment is not a line break for YAML positions: Python's
    # splitlines() would see one line more and miss the comment below it.
    path = write_scene(
        "version: 1\nname: x  # pasted\u2028\nsounds:\n"
        "  a: builtin:hold-music  # soundscape: disable=SC503\n"
        "  b: builtin:hold-music\n"
        "layers: {bed: builtin:office-ambience}\n"
    )
    assert at(lint(path, assets=False), "SC503") == [(5, 3)]


def test_disabled_rules_do_not_run(write_scene: WriteScene):
    path = write_scene("version: 1\nsounds: {a: builtin:hold-music}\nlayers: {b: a.wav}\n")
    assert at(lint(path, assets=False), "SC503") == [(2, 10)]
    assert at(lint(path, assets=False, disabled={"SC503"}), "SC503") == []
    assert at(lint(path, assets=False, disabled={"unused-sound"}), "SC503") == []


# --- clean scenes ------------------------------------------------------------------


def test_a_typical_scene_with_builtins_lints_clean(write_scene: WriteScene):
    path = write_scene(
        """
        version: 1
        sounds:
          office: builtin:office-ambience
          typing:
            variants: [builtin:keyboard-typing, builtin:keyboard-typing2]
            pick: shuffle
        layers:
          room: {sound: office, gain: 0.3, duck: -10 dB}
        states:
          idle: {}
          listening: {}
          thinking:
            cues: [{sound: typing, gain: 0.6, loop: true}]
          speaking: {}
        transitions:
          - {on: tool.started, when: {tool: [lookup, book]}, to: thinking}
        """
    )
    assert [str(d) for d in lint(path)] == []


def test_example_scenes_lint_clean():
    scenes = sorted((ROOT / "scenes").glob("*.yaml"))
    if not scenes:
        pytest.skip("scenes/ holds no example scenes yet (another part of the project adds them)")
    problems = [str(d) for s in scenes for d in lint_file(s) if d.severity in ("error", "warning")]
    assert problems == []


# --- docs -----------------------------------------------------------------------


def test_every_rule_has_a_docs_section_with_its_severity_example_fix_and_silence():
    doc = (ROOT / "docs" / "lint-rules.md").read_text(encoding="utf-8")
    sections = dict(re.findall(r"^## (SC\d{3} [a-z-]+)\n(.*?)(?=^## |\Z)", doc, re.M | re.S))
    assert sorted(sections) == sorted(f"{r.code} {r.name}" for r in ALL_RULES)
    for r in ALL_RULES:
        body = sections[f"{r.code} {r.name}"]
        assert f"**Severity:** {r.severity}" in body, r.code
        assert "```" in body and "**Fix:**" in body and "**Silence:**" in body, r.code


# --- robustness -------------------------------------------------------------------

_SEED_SCENE = """\
version: 1
follow_agent: false
sounds:
  bed: builtin:office-ambience
  tick: {variants: [builtin:keyboard-typing, {source: builtin:keyboard-typing2, weight: 2}], silence: 0.2}
layers:
  room: {sound: bed, gain: -12 dB, crossfade: 0s}
states:
  idle: {layers: {room: 0.3}}
  busy:
    cues: [{sound: tick, loop: true}]
    after: {0s: {goto: idle}, 5s: {play: tick}}
transitions:
  - {on: tool.started, when: {tool: x}, to: busy}
  - {on: trigger.ping, from: [busy], to: idle}
triggers: {ping: {fields: {who: someone}}}
scatter:
  s: {sound: tick, interval: [1s, 3s], states: [busy]}
"""


def test_mutated_scenes_never_crash_a_rule(tmp_path: Path):
    """Random edits of a scene using every rule's inputs: only diagnostics, inside the file."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    lines = _SEED_SCENE.splitlines()
    tokens = ["0s", "-1", "busy", "idle", "'*'", "{}", "[]", "null", "tick", "1e9", "x:", "🙂"]
    path = tmp_path / "m.yaml"

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        st.lists(
            st.tuples(
                st.integers(0, len(lines) - 1),
                st.sampled_from(["drop", "dup", "swap", "token"]),
                st.sampled_from(tokens),
                st.integers(0, 120),
            ),
            max_size=4,
        )
    )
    def check(edits: list[tuple[int, str, str, int]]) -> None:
        out = list(lines)
        for i, op, tok, col in edits:
            i %= len(out) or 1
            if not out:
                break
            if op == "drop":
                del out[i]
            elif op == "dup":
                out.insert(i, out[i])
            elif op == "swap":
                out[i], out[-1] = out[-1], out[i]
            else:
                c = min(col, len(out[i]))
                out[i] = out[i][:c] + tok + out[i][c:]
        text = "\n".join(out) + "\n"
        path.write_text(text, encoding="utf-8")
        n = len(text.splitlines())
        for d in lint_file(path, LintOptions(assets=False)):
            assert "internal error" not in d.message, d
            assert 1 <= d.pos.line <= n + 1 and d.pos.col >= 1, d

    check()


# --- the reading, schema and reference rules, through the linter -----------------------

_FIRST_RULES = [
    (
        "SC001",
        "version: 1\nlayers:\n  room: {source: builtin:office-ambience, gain: [1, }\n",
        3,
        53,
    ),
    ("SC002", "version: 1\nsounds:\n  a: builtin:hold-music\n  a: builtin:chime\n", 4, 3),
    ("SC004", "version: 1\nextends: missing/base.yaml\n", 2, 10),
    (
        "SC101",
        "version: 1\nlayers:\n  room: {source: builtin:office-ambience, fade_inn: 2s}\n",
        3,
        43,
    ),
    (
        "SC102",
        "version: 1\nlayers:\n  room: {source: builtin:office-ambience, fade_in: 2}\n",
        3,
        52,
    ),
    (
        "SC103",
        "version: 1\nlayers:\n  room: {source: builtin:office-ambience, gain: 9 dB}\n",
        3,
        49,
    ),
    ("SC104", "layers:\n  room: builtin:office-ambience\n", 1, 1),
    ("SC201", "version: 1\nlayers:\n  room: {sound: ofice}\n", 3, 17),
    (
        "SC202",
        "version: 1\nstates: {idle: {}}\ntransitions:\n  - {on: agent.idle, to: idel}\n",
        4,
        26,
    ),
    ("SC203", "version: 1\nstates:\n  idle: {layers: {rom: 0.5}}\n", 3, 19),
    (
        "SC204",
        "version: 1\nstates: {idle: {}}\ntransitions:\n  - {on: agent.thinkin, to: idle}\n",
        4,
        10,
    ),
]


@pytest.mark.parametrize(
    ("code", "text", "line", "col"), _FIRST_RULES, ids=[c[0] for c in _FIRST_RULES]
)
def test_reading_schema_and_reference_rules_fire_at_their_position(
    write_scene: WriteScene, code: str, text: str, line: int, col: int
):
    path = write_scene(text)
    diags = lint(path, assets=False)
    assert [(d.pos.line, d.pos.col) for d in diags if d.code == code] == [(line, col)], [
        str(d) for d in diags
    ]


def test_unreadable_scene_is_sc003(tmp_path: Path):
    (tmp_path / "folder.yaml").mkdir()
    (d,) = lint_file(tmp_path / "folder.yaml")
    assert (d.code, d.pos.line, d.pos.col) == ("SC003", 1, 1)
    assert "is a folder" in d.message
