"""A scene made of distinct sine tones, one per layer/cue, for tests that listen."""

from __future__ import annotations

from pathlib import Path

from support.audio_checks import sine, write_wav

BED, THINK, TOOL, CHIME, OTHER = 220.0, 660.0, 990.0, 1320.0, 1760.0
BED_GAIN, AMP, DUCK = 0.3, 0.5, 0.25
THINK_FADE_OUT = 0.05
CUE = 0.25  # think/tool cues: gain 0.5 × AMP (bed + both cues stay under the ceiling)

# Both scenes play their tones as written (`levels: file`): tests check them in dBFS.
SCENE = """\
version: 1
name: tones
levels: file
sounds:
  bed: bed.wav
  think: think.wav
  tool: tool.wav
  chime: chime.wav
  other: other.wav
layers:
  bed:
    sound: bed
    gain: 0.3
    fade_in: 20ms
    fade_out: 100ms
    duck: {depth: 0.25, attack: 50ms, release: 100ms}
states:
  idle:
  listening:
  thinking:
    cues:
      - {sound: think, gain: 0.5, loop: true, fade_in: 10ms, fade_out: 50ms}
  speaking:
  hold:
transitions:
  - on: tool.started
    when: {tool: lookup}
    play: {sound: tool, gain: 0.5, loop: true, fade_out: 50ms}
  - on: trigger.order_confirmed
    play: chime
triggers:
  order_confirmed:
    description: The order went through; play a chime.
    llm: true
    fields:
      order: the order number
  quiet: Nothing the LLM may use.
"""

HOLD = """\
version: 1
name: hold
levels: file
sounds:
  music: other.wav
layers:
  music: {sound: music, gain: 0.5, fade_in: 10ms}
"""


def write_tone_scene(d: Path) -> Path:
    """Write the clips and both scenes (scene.yaml, hold.yaml) into ``d``; return scene.yaml."""
    for name, f, secs in (
        ("bed", BED, 2.0),
        ("think", THINK, 1.0),
        ("tool", TOOL, 1.0),
        ("chime", CHIME, 0.3),
        ("other", OTHER, 1.0),
    ):
        write_wav(d / f"{name}.wav", sine(f, secs, AMP))
    (d / "hold.yaml").write_text(HOLD)
    path = d / "scene.yaml"
    path.write_text(SCENE)
    return path
