"""Timelines: parsing, positions of errors, and the built-in conversation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from soundscape.errors import SceneError
from soundscape.offline.timeline import default_timeline, load_timeline
from soundscape.scene import loads


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


def test_events_at_the_same_time_keep_the_order_written(write_scene):
    # tool.ended must reach a `from: thinking` transition before agent.speaking moves on.
    path = write_scene(
        """
        - {at: 2s, event: tool.ended, fields: {status: done}}
        - {at: 2s, event: agent.speaking}
        - {at: 1s, event: user.listening}
        - {at: 1s, event: agent.thinking}
        """,
        "t.yaml",
    )
    assert [(c.at, c.event) for c in load_timeline(path).events] == [
        (1.0, "user.listening"),
        (1.0, "agent.thinking"),
        (2.0, "tool.ended"),
        (2.0, "agent.speaking"),
    ]


# --- the documented format (docs/authoring.md) ---------------------------------------

ROOT = Path(__file__).resolve().parents[2]


def _doc_examples() -> list[str]:
    """Every YAML block of the timeline-file section of docs/authoring.md."""
    doc = (ROOT / "docs" / "authoring.md").read_text(encoding="utf-8")
    start = doc.index("### The timeline file")
    section = doc[start : doc.index("\n## ", start)]
    return re.findall(r"```yaml\n(.*?)```", section, re.S)


def test_the_documented_timeline_parses_and_plays_as_described(tmp_path):
    from soundscape.offline.render import render
    from soundscape.scene import load

    examples = _doc_examples()
    assert len(examples) >= 2  # the full example and the short list form
    scene = load(ROOT / "scenes" / "hold.yaml")
    full = tmp_path / "transfer-call.yaml"
    full.write_text(examples[0], encoding="utf-8")
    tl = load_timeline(full, scene)
    assert tl.duration == 20.0
    assert [(c.at, c.event) for c in tl.events] == [
        (0.0, "agent.listening"),
        (1.5, "user.speaking"),
        (4.0, "user.listening"),
        (4.2, "agent.thinking"),
        (5.0, "tool.started"),
        (8.0, "tool.ended"),
        (8.0, "agent.speaking"),
        (11.0, "trigger.transfer"),
        (17.0, "trigger.resume"),
    ]
    assert tl.events[5].fields == {"tool": "find_person", "call_id": "call_1", "status": "done"}
    # What the docs say it does with scenes/hold.yaml: the states it moves through.
    result = render(scene, tl, seed=0, rate=8000)
    assert [(round(t, 1), s) for t, s in result.states] == [
        (0.0, "listening"),
        (4.2, "thinking"),
        (8.0, "speaking"),
        (11.0, "on_hold"),
        (17.0, "listening"),
    ]
    for i, text in enumerate(examples[1:], 1):
        path = tmp_path / f"example{i}.yaml"
        path.write_text(text, encoding="utf-8")
        assert load_timeline(path, scene).events, f"example {i} of the docs has no events"


def test_the_documented_errors_are_what_render_prints(tmp_path, capsys):
    from soundscape.cli.main import main

    doc = (ROOT / "docs" / "authoring.md").read_text(encoding="utf-8")
    start = doc.index("A mistake is reported like a scene's")
    shown = re.search(r"```\n(.*?)```", doc[start:], re.S)
    assert shown is not None
    expected = shown.group(1).splitlines()
    example = _doc_examples()[0]
    for mistake, line in zip(
        [example.replace("trigger.resume", "trigger.resme"), example.replace("at: 5s ", "at: 5 ")],
        expected,
        strict=True,
    ):
        path = tmp_path / "transfer-call.yaml"
        path.write_text(mistake, encoding="utf-8")
        out = tmp_path / "x.wav"
        code = main(["render", str(ROOT / "scenes" / "hold.yaml"), "--timeline", str(path),
                     "-o", str(out)])  # fmt: skip
        assert code == 1 and not out.exists()
        assert capsys.readouterr().err.strip() == f"{tmp_path}/{line}"
