"""SC2xx: names (undefined sounds, states, layers; unknown events; guard fields and values)."""

from __future__ import annotations

import pytest
from support.lint import WriteScene, at, fires_at, lint, one

_CASES = [
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


@pytest.mark.parametrize(("code", "text", "line", "col"), _CASES, ids=[c[0] for c in _CASES])
def test_reference_rules_fire_at_their_position(
    write_scene: WriteScene, code: str, text: str, line: int, col: int
):
    fires_at(write_scene, code, text, line, col)


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
