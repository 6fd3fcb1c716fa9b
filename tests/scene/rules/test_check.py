"""Running the rules (scene/rules/check.py): suppression comments; no rule crashes on any input."""

from __future__ import annotations

from pathlib import Path

from support.lint import WriteScene, at, lint

from soundscape.lint import LintOptions, lint_file

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
