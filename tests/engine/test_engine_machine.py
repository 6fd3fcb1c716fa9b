"""The scene state machine: transition order, from/when guards, follow_agent, timers, internal moves."""

from __future__ import annotations

import numpy as np
import pytest
from support.audio_checks import dc, onset, scene_engine, sine, tone_level

R = 48000
CLIPS = {
    "a.wav": sine(500, 3.0, 0.3),
    "b.wav": sine(900, 3.0, 0.3),
    "c.wav": sine(1300, 3.0, 0.3),
    "one.wav": dc(0.25, 0.5),
}

SCENE = """
version: 1
sounds:
  a: a.wav
  b: b.wav
  c: c.wav
  one: one.wav
triggers:
  ding: A bell
states:
  idle: {}
  thinking:
    cues: [{sound: a, loop: true}]
  working:
    cues: [{sound: b, loop: true}]
  lookup:
    cues: [{sound: c, loop: true}]
  speaking: {}
transitions:
  - {on: tool.started, when: {tool: lookup}, to: lookup}
  - {on: tool.started, from: thinking, to: working}
  - {on: tool.started, to: idle}
  - {on: agent.speaking, from: lookup, to: working}
  - {on: ding, play: one}
"""


def _states(events):
    return [(e.name, e.at) for e in events if e.kind == "state"]


def test_follow_agent_moves_to_the_state_of_the_same_name() -> None:
    ev: list = []
    eng = scene_engine(SCENE, CLIPS, events=ev)
    eng.post("agent.thinking", at=1000)
    out = eng.render(R)
    assert eng.state == "thinking"
    assert _states(ev) == [("idle", 0), ("thinking", 1000)]
    # The loop's first sample is a zero crossing of the tone; the next is audible.
    assert np.all(out[:1000] == 0.0) and out[1001, 0] != 0.0
    assert tone_level(out[4800:], 500) == pytest.approx(0.3, abs=0.01)


def test_agent_event_without_a_matching_state_changes_nothing() -> None:
    eng = scene_engine(SCENE, CLIPS)
    eng.post("agent.listening")
    eng.render(480)
    assert eng.state == "idle"


def test_when_guard_matches_event_fields_and_wins_by_order() -> None:
    eng = scene_engine(SCENE, CLIPS)
    eng.post("agent.thinking")
    eng.post("tool.started", {"tool": "lookup"}, at=100)
    out = eng.render(R)
    assert eng.state == "lookup"
    assert tone_level(out[R // 2 :], 1300) == pytest.approx(0.3, abs=0.01)
    assert tone_level(out[R // 2 :], 500) < 0.01


def test_from_restricts_and_first_match_in_declared_order_wins() -> None:
    eng = scene_engine(SCENE, CLIPS)
    eng.post("agent.thinking")
    eng.post("tool.started", {"tool": "other"}, at=10)
    eng.render(480)
    assert eng.state == "working"  # second transition: from thinking
    eng.post("tool.started", {"tool": "other"})
    eng.render(480)
    assert eng.state == "idle"  # from working only the catch-all matches


def test_declared_transition_runs_before_follow_agent_default() -> None:
    eng = scene_engine(SCENE, CLIPS)
    eng.post("tool.started", {"tool": "lookup"})
    eng.post("agent.speaking", at=10)
    eng.render(480)
    assert eng.state == "working"  # declared from lookup, not follow_agent's speaking
    eng.post("agent.speaking")
    eng.render(480)
    assert eng.state == "speaking"  # from working only follow_agent matches


def test_play_only_transition_keeps_state_and_its_cues() -> None:
    ev: list = []
    eng = scene_engine(SCENE, CLIPS, events=ev)
    eng.post("agent.thinking")
    eng.post("trigger.ding", at=R // 2)
    out = eng.render(R)
    assert eng.state == "thinking"
    assert [e.name for e in ev if e.kind == "trigger"] == ["ding"]
    # The thinking loop never stopped: no state event after the first entry.
    assert _states(ev) == [("idle", 0), ("thinking", 0)]
    assert tone_level(out[R // 2 + 2400 :], 500) == pytest.approx(0.3, abs=0.01)
    # The one-shot (DC 0.25) is added on top at exactly the trigger sample.
    assert out[R // 2 - 1, 0] == pytest.approx(_a(R // 2 - 1), abs=1e-5)
    assert out[R // 2 + 1000, 0] == pytest.approx(_a(R // 2 + 1000) + 0.25, abs=1e-4)


def _a(n: int) -> float:
    return float(CLIPS["a.wav"][n % CLIPS["a.wav"].shape[0], 0])


def test_bare_trigger_name_is_accepted() -> None:
    ev: list = []
    eng = scene_engine(SCENE, CLIPS, events=ev)
    eng.post("ding")
    eng.render(480)
    assert [e.name for e in ev if e.kind == "trigger"] == ["ding"]


def test_transition_to_current_state_does_not_reenter() -> None:
    ev: list = []
    eng = scene_engine(SCENE, CLIPS, events=ev)
    eng.post("agent.thinking")
    eng.post("agent.thinking", at=R // 2)
    out = eng.render(R)
    assert _states(ev) == [("idle", 0), ("thinking", 0)]
    starts = [e for e in ev if e.kind == "voice.start"]
    assert len(starts) == 1
    # The loop continues through the repeated event without a dip.
    assert np.abs(out[R // 2 - 100 : R // 2 + 100, 0]).max() == pytest.approx(0.3, abs=0.01)


TIMERS = """
version: 1
sounds:
  one: one.wav
states:
  idle: {}
  thinking:
    after:
      250ms: {play: one}
      2s: {goto: idle}
  speaking: {}
"""


def test_after_timer_fires_at_the_exact_sample_and_goto_moves() -> None:
    ev: list = []
    eng = scene_engine(TIMERS, CLIPS, events=ev)
    eng.post("agent.thinking", at=333)
    out = eng.render(3 * R)
    assert onset(out) == 333 + 12000
    assert ("idle", 333 + 2 * R) in _states(ev)
    assert eng.state == "idle"


def test_after_timers_are_cancelled_on_exit() -> None:
    ev: list = []
    eng = scene_engine(TIMERS, CLIPS, events=ev)
    eng.post("agent.thinking", at=0)
    eng.post("agent.speaking", at=11999)
    out = eng.render(3 * R)
    assert onset(out) is None
    assert eng.state == "speaking"
    assert _states(ev)[-1] == ("speaking", 11999)


def test_reentering_restarts_timers_from_the_new_entry() -> None:
    eng = scene_engine(TIMERS, CLIPS)
    eng.post("agent.thinking", at=0)
    eng.post("agent.speaking", at=6000)
    eng.post("agent.thinking", at=10000)
    out = eng.render(R)
    assert onset(out) == 10000 + 12000


def test_goto_cycle_with_zero_delay_does_not_hang() -> None:
    scene = """
    version: 1
    states:
      a: {after: {0s: {goto: b}}}
      b: {after: {1ms: {goto: a}}}
    """
    eng = scene_engine(scene, {})
    eng.render(R // 10)
    assert eng.state in ("a", "b")


def test_when_with_a_list_matches_any_of_its_values() -> None:
    scene = """
    version: 1
    states:
      idle: {}
      busy: {}
    transitions:
      - {on: tool.started, when: {tool: [lookup, search]}, to: busy}
      - {on: tool.ended, to: idle}
    """
    eng = scene_engine(scene, {})
    for tool, expected in (("search", "busy"), ("weather", "idle"), ("lookup", "busy")):
        eng.post("tool.ended")
        eng.post("tool.started", {"tool": tool})
        eng.render(10)
        assert eng.state == expected, tool
    eng.post("tool.ended")
    eng.post("tool.started", {})  # the field is missing: the guard fails
    eng.render(10)
    assert eng.state == "idle"


class _Host:
    """Records what the machine asks of its host (the engine, normally)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def enter_state(self, name: str, event: str | None) -> None:
        self.calls.append(("enter", name))

    def exit_state(self, name: str) -> None:
        self.calls.append(("exit", name))

    def transition_play(self, spec) -> None:
        self.calls.append(("play", spec.sound))


def test_scene_machine_drives_its_host_in_order() -> None:
    from support.audio_checks import scene_plan

    from soundscape.engine.machine import SceneMachine

    host = _Host()
    m = SceneMachine(scene_plan(SCENE, CLIPS), host)
    assert m.state == "idle"
    assert m.fire("agent.thinking") is True
    assert m.fire("tool.started", {"tool": "lookup"}) is True
    assert m.fire("ding") is False  # bare names are the engine's job to normalise
    assert m.fire("trigger.ding") is True
    assert m.fire("agent.listening") is False  # no such state, no declared transition
    m.goto("idle")
    m.goto("idle")  # already there: nothing runs
    assert host.calls == [
        ("exit", "idle"),
        ("enter", "thinking"),
        ("exit", "thinking"),
        ("enter", "lookup"),
        ("play", "one"),
        ("exit", "lookup"),
        ("enter", "idle"),
    ]
    m.set_state("working")  # restore: no callbacks
    assert m.state == "working" and len(host.calls) == 7
