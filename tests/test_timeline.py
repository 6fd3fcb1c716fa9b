"""Timelines: parsing, positions of errors, and the built-in conversation."""

from __future__ import annotations

import pytest

from soundscape.errors import SceneError
from soundscape.scene import loads
from soundscape.timeline import default_timeline, load_timeline


def test_list_timeline_sorted_with_fields(write_scene):
    path = write_scene(
        """
        - {at: 2s, event: agent.speaking}
        - {at: 500ms, event: tool.started, fields: {tool: lookup}}
        """,
        "t.yaml",
    )
    tl = load_timeline(path)
    assert [(c.at, c.event) for c in tl.events] == [(0.5, "tool.started"), (2.0, "agent.speaking")]
    assert tl.events[0].fields == {"tool": "lookup"}
    assert tl.duration == pytest.approx(5.0)


def test_mapping_timeline_with_duration_and_trigger(write_scene):
    scene = loads("version: 1\ntriggers: {ding: Ring the bell}\n")
    path = write_scene("duration: 12s\nevents:\n  - {at: 1s, event: ding}\n", "t.yaml")
    tl = load_timeline(path, scene)
    assert tl.duration == 12.0 and tl.events[0].event == "trigger.ding"


def test_unknown_event_has_position_and_suggestion(write_scene):
    path = write_scene("- {at: 1s, event: agent.thinkng}\n", "t.yaml")
    with pytest.raises(SceneError) as ei:
        load_timeline(path)
    (d,) = ei.value.diagnostics
    assert (d.pos.line, d.pos.col) == (1, 19)
    assert "did you mean 'agent.thinking'" in d.message


def test_bad_time_is_reported_at_its_value(write_scene):
    path = write_scene("- {at: 1s, event: agent.idle}\n- {at: soon, event: agent.idle}\n", "t.yaml")
    with pytest.raises(SceneError) as ei:
        load_timeline(path)
    (d,) = ei.value.diagnostics
    assert (d.pos.line, d.pos.col) == (2, 8)
    assert "duration" in d.message


def test_default_conversation_covers_every_agent_state_and_fires_triggers():
    scene = loads("version: 1\ntriggers: {transfer: x, resume: y}\n")
    tl = default_timeline(scene)
    names = [c.event for c in tl.events]
    for ev in ("agent.listening", "agent.thinking", "agent.speaking", "tool.started", "user.away"):
        assert ev in names
    assert names[-2:] == ["trigger.transfer", "trigger.resume"]
    assert all(a.at <= b.at for a, b in zip(tl.events, tl.events[1:], strict=False))
    assert tl.duration > tl.events[-1].at
