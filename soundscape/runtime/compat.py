"""BackgroundAudioPlayer compatibility: its configurations as scenes, its play() arguments.

`from_background_audio(ambient_sound=..., thinking_sound=...)` builds the scene that sounds
like a `BackgroundAudioPlayer` made with the same arguments: the ambient sound loops as a
layer, the thinking sound plays once as a cue of a ``thinking`` state and stops when the
agent leaves it. A list of `AudioConfig` becomes a pool: ``probability`` is the weight and
a total below 1 leaves that much chance of silence, as BackgroundAudioPlayer does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..scene.model import Scene

# BuiltinAudioClip values (file names) → our builtin names.
_BUILTIN_FILES = {
    "city-ambience.ogg": "city-ambience",
    "forest-ambience.ogg": "forest-ambience",
    "office-ambience.ogg": "office-ambience",
    "crowded-room.ogg": "crowded-room",
    "keyboard-typing.ogg": "keyboard-typing",
    "keyboard-typing2.ogg": "keyboard-typing2",
    "hold_music.ogg": "hold-music",
}


def _is_iterator(x: Any) -> bool:
    return hasattr(x, "__anext__")


def _is_config(x: Any) -> bool:
    # AudioConfig is a NamedTuple; duck-typed so importing livekit-agents is not needed here.
    return isinstance(x, tuple) and hasattr(x, "_fields") and "probability" in x._fields


def source_string(source: Any) -> str:
    """A BuiltinAudioClip, ``'builtin:NAME'`` or a path → a scene source string."""
    value = getattr(source, "value", None)
    if isinstance(value, str) and value in _BUILTIN_FILES:
        return f"builtin:{_BUILTIN_FILES[value]}"
    if isinstance(source, str | bytes) or hasattr(source, "__fspath__"):
        return str(source if not isinstance(source, bytes) else source.decode())
    raise TypeError(
        f"cannot use {type(source).__name__} as a sound: give a file path, 'builtin:NAME', "
        "a BuiltinAudioClip or an AudioConfig"
    )


def pick(configs: Sequence[Any], rnd: Any = None) -> Any | None:
    """BackgroundAudioPlayer's choice from a list of AudioConfig (None: silence)."""
    import random

    r = rnd or random
    total = sum(max(c.probability, 0.0) for c in configs)
    if total <= 0 or (total < 1.0 and r.random() > total):
        return None
    x = r.random() * min(total, 1.0)
    norm = max(total, 1.0)
    acc = 0.0
    for c in configs:
        if c.probability <= 0:
            continue
        acc += c.probability / norm
        if x <= acc:
            return c
    return configs[-1]


def literal_volume(what: Any) -> bool:
    """Whether ``what`` is one of BackgroundAudioPlayer's own inputs (an `AudioConfig`, a
    list of them, a `BuiltinAudioClip`), whose ``volume`` is a gain on the file as it is."""
    if isinstance(what, list) or _is_config(what):
        return True
    value = getattr(what, "value", None)
    return isinstance(value, str) and value in _BUILTIN_FILES


def normalize_play(what: Any) -> tuple[Any, float, float, float] | None:
    """play()'s argument → (source string or async iterator, volume, fade_in, fade_out)."""
    if isinstance(what, list):
        what = pick(what)
        if what is None:
            return None
    if _is_config(what):
        src = what.source if _is_iterator(what.source) else source_string(what.source)
        return src, float(what.volume), float(what.fade_in), float(what.fade_out)
    if _is_iterator(what):
        return what, 1.0, 0.0, 0.0
    return source_string(what), 1.0, 0.0, 0.0


def _sound(spec: Any, role: str) -> dict[str, Any]:
    items = spec if isinstance(spec, list) else [spec]
    variants: list[dict[str, Any]] = []
    total = 0.0
    for item in items:
        cfg = item if _is_config(item) else None
        src = cfg.source if cfg is not None else item
        if _is_iterator(src):
            raise ValueError(
                f"an async iterator cannot be the {role} sound of a scene (a scene must be able "
                "to replay it); play it with `scape.play(iterator)` instead"
            )
        prob = float(cfg.probability) if cfg is not None else 1.0
        if prob <= 0:
            continue
        total += prob
        variants.append(
            {
                "source": source_string(src),
                "gain": float(cfg.volume) if cfg is not None else 1.0,
                "weight": prob,
            }
        )
    if not variants:
        raise ValueError(f"the {role} sound has no entry with a probability above 0")
    sound: dict[str, Any] = {"variants": variants}
    if isinstance(spec, list) and total < 1.0:
        sound["silence"] = round(1.0 - total, 6)
    return sound


def _fades(spec: Any) -> tuple[float, float]:
    first = spec[0] if isinstance(spec, list) and spec else spec
    if _is_config(first):
        return float(first.fade_in), float(first.fade_out)
    return 0.0, 0.0


def _s(seconds: float) -> str:
    return f"{seconds:g}s"


def from_background_audio(
    *, ambient_sound: Any = None, thinking_sound: Any = None, name: str = "background-audio"
) -> Scene:
    """The scene equivalent of ``BackgroundAudioPlayer(ambient_sound=..., thinking_sound=...)``.

    Each argument takes what BackgroundAudioPlayer takes: a path, a `BuiltinAudioClip`, an
    `AudioConfig`, or a list of `AudioConfig` (volume → gain, probability → weight, and a
    total probability below 1 → that much chance of silence).

    The volumes are BackgroundAudioPlayer's literal ones: the scene says ``levels: file``
    (every sound as its file is) with ``gain: <volume>`` on each variant, so it sounds as
    the player does. Those are file-relative levels and often far under the voice (the
    built-in office ambience at 0.3 is about 45 LU under it): ``soundscape lint`` on the
    scene reports each level as its distance under the voice, and a scene written with
    ``level:`` targets or the scene defaults is the audible alternative.
    """
    data: dict[str, Any] = {
        "version": 1,
        "levels": "file",
        "name": name,
        "description": "Built by soundscape.runtime.compat.from_background_audio",
        "initial": "idle",
        "sounds": {},
        "layers": {},
        "states": {"idle": None, "listening": None, "thinking": None, "speaking": None},
    }
    if ambient_sound is not None:
        data["sounds"]["ambient"] = _sound(ambient_sound, "ambient")
        fi, fo = _fades(ambient_sound)
        data["layers"]["ambient"] = {"sound": "ambient", "fade_in": _s(fi), "fade_out": _s(fo)}
    if thinking_sound is not None:
        data["sounds"]["thinking"] = _sound(thinking_sound, "thinking")
        fi, fo = _fades(thinking_sound)
        data["states"]["thinking"] = {
            "cues": [{"sound": "thinking", "fade_in": _s(fi), "fade_out": _s(fo)}]
        }
    return Scene.model_validate(data)
