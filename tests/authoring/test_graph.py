"""`soundscape graph`: every state, transition, guard, timer and cue is in the diagram."""

from __future__ import annotations

import html
import re
import shutil

import pytest
from support.paths import ROOT

from soundscape.cli.main import main

SCENE = """\
version: 1
follow_agent: false
sounds:
  bed: builtin:room-tone
  click: builtin:notification
  pulse: builtin:thinking-pulse
  ok: builtin:success
layers:
  room: bed
triggers:
  hold-on: the caller is put on hold
states:
  idle:
  on-hold.music:
    cues: [{sound: pulse, loop: true}]
    layers: {room: -12 dB}
    after:
      8s: {play: click}
      30s: {goto: idle, play: ok}
transitions:
  - {on: trigger.hold-on, from: idle, to: on-hold.music, play: click}
  - {on: tool.ended, when: {status: [done, error]}, to: idle}
"""


def _edges(text: str) -> dict[tuple[str, str], str]:
    """(source id, dest id) → label from mermaid `a --> b: label` lines."""
    return {(m[1], m[2]): m[3] for m in re.finditer(r"^\s*(\S+) --> (\S+): (.*)$", text, re.M)}


def _ids(text: str) -> dict[str, str]:
    return {m[1]: m[2] for m in re.finditer(r'state "([^"]+)" as (\S+)', text)}


def test_mermaid_has_every_state_transition_guard_timer_and_cue(write_scene, capsys):
    path = write_scene(SCENE)
    assert main(["graph", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# scene\n\n```mermaid\n") and out.rstrip().endswith("```")
    ids = _ids(out)
    assert set(ids) == {"idle", "on-hold.music"}
    idle, hold = ids["idle"], ids["on-hold.music"]
    assert f"[*] --> {idle}" in out
    # A diagram of the scene, not of a running instance: no state is styled as the current one.
    assert re.findall(r"Class \S+ (\S+)", out) == ["s_default", "s_default"]
    edges = _edges(out)
    # A bare `from`-less transition leaves every state; from its target it is internal.
    assert edges[(idle, hold)] == "trigger.hold-on ▶ click"
    assert edges[(hold, idle)] == "tool.ended [status=done|error] | after 30s ▶ ok"
    assert edges[(idle, idle)] == "tool.ended [status=done|error] [internal]"
    assert edges[(hold, hold)] == "after 8s ▶ click [internal]"
    note = out[out.index(f"note right of {hold}") :]
    assert "▶ pulse (loop)" in note and "♫ room -12 dB" in note


def test_follow_agent_moves_are_drawn(write_scene, capsys):
    path = write_scene(
        """\
        version: 1
        states:
          idle:
          thinking:
            cues: [builtin:thinking-pulse]
        """
    )
    assert main(["graph", str(path), "-o", str(path.with_suffix(".mmd"))]) == 0
    text = path.with_suffix(".mmd").read_text(encoding="utf-8")
    assert text.startswith('---\ntitle: "scene"\n---\nstateDiagram-v2')
    edges = _edges(text)
    ids = _ids(text)
    assert edges[(ids["idle"], ids["thinking"])] == "agent.thinking"
    assert edges[(ids["thinking"], ids["idle"])] == "agent.idle"
    assert "▶ thinking-pulse" not in text and "builtin:thinking-pulse" in text


def test_examples_graph_every_declared_state(capsys):
    for name in ("office", "call-center", "showcase"):
        assert main(["graph", str(ROOT / "scenes" / f"{name}.yaml")]) == 0
        out = capsys.readouterr().out
        from soundscape.scene import load

        assert set(_ids(out)) == set(load(ROOT / "scenes" / f"{name}.yaml").state_names)


def test_dot_file_names_every_state_and_edge(write_scene, capsys):
    path = write_scene(SCENE)
    out = path.with_suffix(".dot")
    assert main(["graph", str(path), "-o", str(out)]) == 0
    dot = out.read_text(encoding="utf-8")
    assert dot.startswith('digraph "scene" {')
    assert 'label="on-hold.music\\n▶ pulse (loop)\\n♫ room -12 dB"' in dot
    assert '[label="after 8s ▶ click", style=dashed]' in dot
    assert '[label="tool.ended [status=done|error]"]' in dot


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz (dot) is not installed")
@pytest.mark.parametrize("suffix", [".svg", ".png"])
def test_image_via_graphviz(write_scene, capsys, suffix):
    path = write_scene(SCENE)
    out = path.with_suffix(suffix)
    assert main(["graph", str(path), "-o", str(out)]) == 0
    assert capsys.readouterr().out == f"wrote {out}\n"
    data = out.read_bytes()
    if suffix == ".png":
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
    else:
        text = html.unescape(data.decode())
        assert "<svg" in text and "on-hold.music" in text and "trigger.hold-on" in text


def test_image_without_graphviz_says_what_to_install(write_scene, capsys, monkeypatch):
    path = write_scene(SCENE)
    monkeypatch.setenv("PATH", str(path.parent))  # no `dot` anywhere on it
    out = path.with_suffix(".png")
    assert main(["graph", str(path), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "Graphviz is not installed" in err and "apt-get install graphviz" in err
    assert "-o scene.md" in err
    assert not out.exists()


def test_unknown_suffix_and_bad_scene(write_scene, capsys):
    path = write_scene(SCENE)
    assert main(["graph", str(path), "-o", str(path.with_suffix(".jpg"))]) == 2
    assert "cannot tell the format of" in capsys.readouterr().err
    bad = write_scene("version: 1\nstates:\n  idle: {cues: [nope]}\n", "bad.yaml")
    assert main(["graph", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{bad}:3:17: error:") and "nope" in err
