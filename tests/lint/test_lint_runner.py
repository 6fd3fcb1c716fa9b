"""The linter runs every rule but those disabled, and a well-made scene lints clean."""

from __future__ import annotations

import pytest
from support.lint import WriteScene, at, lint
from support.paths import ROOT

from soundscape.lint import lint_file


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
          room: {sound: office, duck: -10 dB}
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
