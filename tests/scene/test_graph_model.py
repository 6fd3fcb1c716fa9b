"""`soundscape.scene.graph`: the one state graph, which the diagram draws and the rules check."""

from __future__ import annotations

import textwrap

from soundscape.authoring.graph import edge_label, scene_graph
from soundscape.scene import loads
from soundscape.scene.graph import state_graph
from soundscape.scene.model import Scene

HOLD = """\
version: 1
follow_agent: false
sounds:
  click: builtin:notification
triggers:
  hold-on: the caller is put on hold
states:
  idle:
  hold:
    after:
      8s: {play: click}
      30s: {goto: idle}
  stuck:
transitions:
  - {on: hold-on, from: idle, to: hold, play: click}
  - {on: tool.ended, when: {status: [done, error]}, to: idle}
"""


def _moves(text: str) -> set[tuple[str, str, str | None]]:
    g = state_graph(loads(textwrap.dedent(text)))
    return {(e.source, e.dest or "", e.event) for e in g.moves()}


def test_edges_carry_event_guard_delay_and_cue():
    g = state_graph(loads(HOLD))
    assert g.states == ("idle", "hold", "stuck") and g.initial == "idle"
    hold_on = next(e for e in g.edges if e.kind == "event" and e.source == "idle" and e.moves)
    # A bare trigger name is the event the machine matches: trigger.NAME.
    assert (hold_on.event, hold_on.dest, hold_on.play and hold_on.play.sound) == (
        "trigger.hold-on",
        "hold",
        "click",
    )
    ended = [e for e in g.edges if e.event == "tool.ended"]
    # A `from`-less transition leaves every state; from its own target it stays (internal).
    assert [(e.source, e.dest) for e in ended] == [
        ("idle", None),
        ("hold", "idle"),
        ("stuck", "idle"),
    ]
    assert dict(ended[0].guard or {}) == {"status": ("done", "error")}
    timers = [(e.delay, e.dest, e.play is not None) for e in g.edges if e.kind == "timer"]
    assert timers == [(8.0, None, True), (30.0, "idle", False)]


def test_reachable_follows_only_moves_from_the_initial_state():
    g = state_graph(loads(HOLD))
    # `stuck` is left by tool.ended but nothing leads to it.
    assert g.reachable() == {"idle", "hold"}


def test_follow_agent_moves_reach_agent_states_and_nothing_else():
    moves = _moves(
        """\
        version: 1
        states:
          idle:
          thinking:
          on-hold:
        """
    )
    assert ("idle", "thinking", "agent.thinking") in moves
    assert ("on-hold", "idle", "agent.idle") in moves
    assert not any(dest == "on-hold" for _, dest, _ in moves)


def test_instant_moves_include_a_timer_back_to_its_own_state():
    # SC303 refuses these when loading; the model is what it reads to find them.
    scene = Scene.model_validate(
        {
            "version": 1,
            "follow_agent": False,
            "states": {
                "a": {"after": {"0s": {"goto": "b"}}},
                "b": {"after": {"0s": {"goto": "b"}, "2s": {"goto": "a"}}},
            },
        }
    )
    assert state_graph(scene).instant() == {"a": "b", "b": "b"}


def test_a_state_the_scene_does_not_declare_has_no_edge():
    # Such a scene does not load (SC202); the linter still reads its graph.
    scene = Scene.model_validate(
        {
            "version": 1,
            "follow_agent": False,
            "states": {"idle": {"after": {"5s": {"goto": "nowhere"}}}, "busy": None},
            "transitions": [{"on": "tool.started", "to": "nowhere"}],
        }
    )
    g = state_graph(scene)
    assert g.edges == ()
    assert g.reachable() == {"idle"}


def test_the_diagram_draws_the_graph_the_rules_read():
    scene = loads(HOLD)
    drawn = scene_graph(scene)
    assert drawn.edges == state_graph(scene).edges
    assert [edge_label(e) for e in drawn.edges if e.source == "hold"] == [
        "tool.ended [status=done|error]",
        "after 8s ▶ click",
        "after 30s",
    ]
