"""Walks over a scene that rules and the compiler share: where things play, where names are used."""

from __future__ import annotations

from collections.abc import Iterator

from .model import Cue, Scene, _Plays
from .yamlio import PathKey


def plays(scene: Scene) -> Iterator[tuple[PathKey, _Plays]]:
    """Every layer, cue, timed play, transition play and scatter, with its path."""
    for name, layer in scene.layers.items():
        yield ("layers", name), layer
    for sname, state in scene.states.items():
        for i, cue in enumerate(state.cues):
            yield ("states", sname, "cues", i), cue
        for key, action in state.after.items():
            if action.play is not None:
                yield ("states", sname, "after", _after_key(scene, sname, key), "play"), action.play
    for i, tr in enumerate(scene.transitions):
        if tr.play is not None:
            yield ("transitions", i, "play"), tr.play
    for name, sc in scene.scatter.items():
        yield ("scatter", name), sc


def cues(scene: Scene) -> Iterator[tuple[PathKey, Cue]]:
    for path, p in plays(scene):
        if isinstance(p, Cue):
            yield path, p


def _after_key(scene: Scene, state: str, seconds: float) -> str:
    """The key as written (e.g. '8s') for a parsed `after` duration, for positions."""
    merged = scene._positions
    raw = merged.data.get("states", {}).get(state, {}).get("after", {}) if merged else {}
    from .units import parse_duration

    for k in raw:
        try:
            if parse_duration(k) == seconds:
                return str(k)
        except Exception:
            continue
    return f"{seconds:g}s"


def state_refs(scene: Scene) -> Iterator[tuple[PathKey, str]]:
    """Every place a state is named (except declarations), with its path."""
    if scene.initial is not None:
        yield ("initial",), scene.initial
    for i, tr in enumerate(scene.transitions):
        for j, s in enumerate(tr.from_):
            if s != "*":
                yield (
                    (
                        ("transitions", i, "from", j)
                        if _from_is_list(scene, i)
                        else ("transitions", i, "from")
                    ),
                    s,
                )
        if tr.to is not None:
            yield ("transitions", i, "to"), tr.to
    for sname, state in scene.states.items():
        for key, action in state.after.items():
            if action.goto is not None:
                yield ("states", sname, "after", _after_key(scene, sname, key), "goto"), action.goto
    for name, sc in scene.scatter.items():
        for j, s in enumerate(sc.states or ()):
            yield ("scatter", name, "states", j), s


def _from_is_list(scene: Scene, i: int) -> bool:
    merged = scene._positions
    if not merged:
        return True
    try:
        return isinstance(merged.data["transitions"][i]["from"], list)
    except (KeyError, IndexError, TypeError):
        return True
