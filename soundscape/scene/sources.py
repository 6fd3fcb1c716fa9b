"""Where a `source` string points: a file beside the scene, or a built-in clip.

Built-ins are the clips shipped inside livekit-agents (referenced where the
package installed them, never copied) and our own clips under ``resources/``.
Finding them must not import livekit-agents: the CLI starts fast.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

AUDIO_SUFFIXES = (".wav", ".ogg", ".oga", ".opus", ".mp3", ".flac", ".m4a", ".aac", ".webm", ".mp4")

# Scene name → file name inside livekit/agents/resources (see BuiltinAudioClip).
LIVEKIT_CLIPS = {
    "office-ambience": "office-ambience.ogg",
    "city-ambience": "city-ambience.ogg",
    "forest-ambience": "forest-ambience.ogg",
    "crowded-room": "crowded-room.ogg",
    "keyboard-typing": "keyboard-typing.ogg",
    "keyboard-typing2": "keyboard-typing2.ogg",
    "hold-music": "hold_music.ogg",
}


def resources_dir() -> Path:
    """Our own sound library: inside the wheel, or ``resources/`` in a source checkout."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "_resources", here.parent / "resources"):
        if candidate.is_dir():
            return candidate
    return here.parent / "resources"


def _livekit_resources() -> Path | None:
    # `livekit` is a namespace package: finding it executes nothing.
    spec = importlib.util.find_spec("livekit")
    for base in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(base) / "agents" / "resources"
        if candidate.is_dir():
            return candidate
    return None


@functools.cache
def builtin_catalog() -> dict[str, Path]:
    """Every ``builtin:NAME`` → its file."""
    out: dict[str, Path] = {}
    lk = _livekit_resources()
    if lk is not None:
        for name, fname in LIVEKIT_CLIPS.items():
            if (lk / fname).is_file():
                out[name] = lk / fname
    res = resources_dir()
    if res.is_dir():
        for f in sorted(res.iterdir()):
            if f.suffix.lower() in AUDIO_SUFFIXES and f.stem not in out:
                out[f.stem] = f
    return out


def builtin_names() -> list[str]:
    names = set(builtin_catalog()) | set(LIVEKIT_CLIPS)
    return sorted(names)


def resolve(source: str, base_dir: Path) -> Path:
    """The file a source string names (it may not exist; the caller checks)."""
    if source.startswith("builtin:"):
        name = source.removeprefix("builtin:")
        cat = builtin_catalog()
        if name in cat:
            return cat[name]
        return resources_dir() / name
    path = Path(source).expanduser()
    return path if path.is_absolute() else base_dir / path
