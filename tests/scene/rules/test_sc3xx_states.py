"""SC3xx: the state graph (unreachable states, states without a way out, instant cycles)."""

from __future__ import annotations

import pytest
from support.lint import WriteScene, at, lint, one

from soundscape.errors import SceneError
from soundscape.scene import load

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
