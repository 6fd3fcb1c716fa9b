"""Prewarming a job process: what a call's `start()` would otherwise do on its event loop.

livekit-agents runs each call in a process of its own, taken from a pool of idle processes
that were set up with the worker's ``setup_fnc`` before any call arrived. Doing the slow
once-per-process work there — importing the runtime (pydantic models, numpy, the engine,
the state machine), reading and validating each scene, decoding its clips (into the shared
disk cache, so the pool's other processes map them) and running the engine once — leaves a
job's ``Soundscape(path)`` and ``start()`` with nothing heavy to do.

What was prewarmed is kept per process, keyed by the scene file and checked against the
files' size and mtime on every use, so an edited scene is loaded afresh, never stale.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

from ..engine import Engine, Plan, compile_scene
from ..engine.plan import Loader
from ..scene.model import Scene
from ..scene.policy import TRUSTED, Policy
from .reload import Stamp, file_stamp

log = logging.getLogger("soundscape")

_scenes: dict[str, tuple[Stamp, Scene]] = {}
_plans: dict[tuple[int, int, int], tuple[Scene, Plan]] = {}


def _key(path: str | os.PathLike[str]) -> str:
    return str(Path(path).resolve())


def prewarmed_scene(path: str | os.PathLike[str], policy: Policy) -> Scene | None:
    """The scene prewarmed from ``path``, if its files are unchanged since (trusted only)."""
    if not policy.trusted:
        return None  # an untrusted scene is loaded under its own policy, every time
    got = _scenes.get(_key(path))
    if got is None:
        return None
    stamp, scene = got
    return scene if file_stamp(scene.files) == stamp else None


def prewarmed_plan(scene: Scene, rate: int, channels: int) -> Plan | None:
    """The plan compiled for this very ``scene`` object at ``rate``/``channels``, if any."""
    got = _plans.get((id(scene), rate, channels))
    # The id is only a key while the scene it was taken from is alive and the same object.
    return got[1] if got is not None and got[0] is scene else None


def load_scene(scene: Scene | str | os.PathLike[str], policy: Policy) -> Scene:
    """``scene`` as a `Scene` under ``policy``: the prewarmed one if its files are unchanged,
    else loaded now (a bad scene raises `SceneError`)."""
    if isinstance(scene, Scene):
        if not policy.trusted and scene.policy.trusted:
            raise ValueError("this Scene was loaded as trusted; load it with the untrusted policy")
        return scene
    warm = prewarmed_scene(scene, policy)
    if warm is not None:
        return warm
    from ..scene import load

    return load(scene, policy=policy)


def warm_plan(scene: Scene, rate: int, channels: int, loader: Loader | None) -> Plan | None:
    """``scene``'s plan from `prewarm()` at this format — never with a loader of its own
    (an untrusted policy's, which re-checks every file as it opens it)."""
    return None if loader is not None else prewarmed_plan(scene, rate, channels)


def plan_for(scene: Scene, rate: int, channels: int, loader: Loader | None) -> Plan:
    """``scene``'s plan: prewarmed, or compiled now (decoding its clips: call it off the loop)."""
    return warm_plan(scene, rate, channels, loader) or compile_scene(
        scene, rate, channels, loader=loader
    )


def _warm_engine(plan: Plan) -> None:
    """Run the code paths of a call's first seconds once: render, snapshot and restore, a
    state change and a one-shot (first calls into numpy and the machine cost milliseconds)."""
    eng = Engine(plan, seed=0)
    n = plan.rate // 10
    eng.render(n)
    snap = eng.snapshot()
    for state in ("listening", "thinking", "speaking", "idle"):
        eng.post(f"agent.{state}", {})
        eng.render(n)
    if plan.sounds:
        eng.play(next(iter(plan.sounds)))
        eng.render(n)
    eng.restore(snap)
    eng.render(n)


def _warm_agents() -> None:
    """livekit-agents' own first-use costs at a call's first speech, which land on the job's
    event loop right when the agent starts speaking — and so delay the scene's reaction to
    that very state. The transcription synchronizer builds its hyphenator (~20–110 ms) on its
    first word; without this, a call's first `speaking` was heard 130–230 ms late, every
    later one 10 ms."""
    try:
        from livekit.agents.tokenize import basic
        from livekit.agents.voice.transcription import synchronizer  # noqa: F401
    except Exception:  # another livekit-agents: nothing of ours depends on it
        log.debug("soundscape: livekit-agents' speech path not prewarmed", exc_info=True)
        return
    basic.hyphenate_word("soundscape")


def prewarm(
    proc: Any = None,
    *scenes: str | os.PathLike[str] | Scene,
    rate: int = 48000,
    channels: int = 1,
) -> None:
    """Get a job process ready for calls that play ``scenes``; call it from ``setup_fnc``::

        def prewarm(proc: JobProcess) -> None:
            soundscape.prewarm(proc, "scenes/office.yaml")

        server = AgentServer(setup_fnc=prewarm)

    ``rate``/``channels`` must be those the job's `Soundscape` uses (48 kHz mono by default).
    A bad scene raises `SceneError` here, in the worker's log, before any call is taken.
    ``proc.userdata["soundscape"]`` maps each scene's path to its loaded `Scene`.
    """
    t0 = time.perf_counter()
    # What a call imports on first use: play()'s argument handling and source lookup.
    from ..scene import (
        load,
        sources,  # noqa: F401
    )
    from .compat import normalize_play  # noqa: F401

    loaded: dict[str, Scene] = {}
    for path in scenes:
        if isinstance(path, Scene):  # already loaded: its plan is kept for that object
            scene = path
        else:
            scene = load(path, policy=TRUSTED)
            stamp = file_stamp(scene.files)
            if None not in stamp:  # a file that cannot be stat-ed could not be checked later
                _scenes[_key(path)] = (stamp, scene)
        plan = compile_scene(scene, rate, channels)
        _plans[(id(scene), rate, channels)] = (scene, plan)
        _warm_engine(plan)
        loaded[scene.file if isinstance(path, Scene) else str(path)] = scene
    _warm_agents()
    userdata = getattr(proc, "userdata", None)
    if isinstance(userdata, dict):
        userdata.setdefault("soundscape", {}).update(loaded)
    log.debug(
        "soundscape: prewarmed %d scene(s) in %.0f ms",
        len(scenes),
        1e3 * (time.perf_counter() - t0),
    )
