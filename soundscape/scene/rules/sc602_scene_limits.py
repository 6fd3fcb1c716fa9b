"""An untrusted scene is bigger than its policy allows (sounds, layers, states, voices…)."""

from __future__ import annotations

from collections.abc import Iterator

from ..policy import TRUSTED
from .rule import Context, Finding

CODE = "SC602"
NAME = "scene-limits"
SEVERITY = "error"
PHASE = "model"
SUMMARY = "An untrusted scene has more sounds, layers, states, cues, timers or voices than allowed."


def check(ctx: Context) -> Iterator[Finding]:
    policy = ctx.options.get("policy", TRUSTED)
    if policy.trusted:
        return
    s = ctx.scene
    tops = [
        ("sounds", len(s.sounds), policy.max_sounds),
        ("layers", len(s.layers), policy.max_layers),
        ("states", len(s.states), policy.max_states),
        ("transitions", len(s.transitions), policy.max_transitions),
        ("triggers", len(s.triggers), policy.max_triggers),
        ("scatter", len(s.scatter), policy.max_scatter),
    ]
    for key, n, limit in tops:
        if n > limit:
            yield ctx.at(
                (key,), f"{n} {key}; an untrusted scene may have at most {limit}", key=True
            )
    if s.master.max_voices > policy.max_voices:
        yield ctx.at(("master", "max_voices"),
                     f"max_voices {s.master.max_voices} is above the allowed {policy.max_voices}")  # fmt: skip
    for name, snd in s.sounds.items():
        if snd.variants and len(snd.variants) > policy.max_variants:
            yield ctx.at(("sounds", name, "variants"),
                         f"{len(snd.variants)} variants; at most {policy.max_variants} allowed")  # fmt: skip
    for name, st in s.states.items():
        if len(st.cues) > policy.max_cues_per_state:
            yield ctx.at(("states", name, "cues"),
                         f"{len(st.cues)} cues; at most {policy.max_cues_per_state} per state")  # fmt: skip
        if len(st.after) > policy.max_timers_per_state:
            yield ctx.at(("states", name, "after"),
                         f"{len(st.after)} timers; at most {policy.max_timers_per_state} per state")  # fmt: skip
