"""Shared by the asset rules: where each source is written, and what its audio looks like.

Decoding is the slow part of linting, so each file is decoded once per process
(`soundscape.audio.load_clip` keeps the samples) and the few numbers the rules
need are cached per (file, mtime, size, trim): linting a hundred scenes that
share a handful of clips decodes each clip once. They are also kept on disk
(`soundscape.audio.facts`), so the next run needs neither numpy nor the samples.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar, cast

from ...audio import facts
from ...errors import AssetError
from .. import sources as scene_sources
from .. import walk
from ..model import Trim, Variant, _Plays
from ..policy import TRUSTED, Policy
from ..yamlio import PathKey
from .rule import Context

RATE = 48_000
"""The engine's rate: seams and steps are measured in its samples."""

Problem = Literal["missing", "undecodable", "empty"]


@dataclass(frozen=True)
class SourceRef:
    """One source string as written in the scene, and the file it names."""

    path: PathKey
    """Where the source string is written (for the diagnostic's position)."""
    source: str
    file: Path
    trim: Trim | None


@dataclass(frozen=True)
class Analysis:
    """What the asset rules need to know about one (trimmed) clip."""

    problem: Problem | None = None
    reason: str = ""
    frames: int = 0
    peak: float = 0.0
    """Largest absolute sample over all channels (1.0 = 0 dBFS)."""
    seam_jump: float = 0.0
    """Largest per-channel step from the last sample back to the first (the loop seam)."""
    typical_step: float = 0.0
    """99.9th percentile of the material's own sample-to-sample steps (all channels)."""

    @property
    def ok(self) -> bool:
        return self.problem is None


def shown(source: str) -> str:
    """A source string safe to print: control characters escaped, long ones shortened."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in source)
    return text if len(text) <= 120 else text[:80] + "…" + text[-30:]


def source_path(ctx: Context, path: PathKey) -> PathKey:
    """Where a source is written: the value itself in shorthand form, else its `source` key."""
    return path if isinstance(ctx.merged.data_at(path), str) else (*path, "source")


def allowed(ctx: Context, source: str) -> bool:
    """May the asset rules look at this file? Not when an untrusted scene may not read it:
    SC601 says so, and the file must not be opened, stat-ed or sniffed on the scene's behalf."""
    policy: Policy = ctx.options.get("policy", TRUSTED)
    return policy.source_problem(source, ctx.scene.base_dir) is None


def sound_sources(ctx: Context) -> Iterator[tuple[str, int, Variant, SourceRef]]:
    """Every variant of every defined sound: (sound name, variant index, variant, where)."""
    for name, sound in ctx.scene.sounds.items():
        for i, v in enumerate(sound.pool()):
            if not allowed(ctx, v.source):
                continue
            at: PathKey = (
                ("sounds", name) if sound.variants is None else ("sounds", name, "variants", i)
            )
            yield name, i, v, _ref(ctx, source_path(ctx, at), v.source, v.trim)


def direct_sources(ctx: Context) -> Iterator[tuple[PathKey, _Plays, SourceRef]]:
    """Every layer, cue or scatter that names a file with `source:` instead of a sound."""
    for path, p in walk.plays(ctx.scene):
        if p.source is not None and allowed(ctx, p.source):
            yield path, p, _ref(ctx, source_path(ctx, path), p.source, None)


def all_sources(ctx: Context) -> list[SourceRef]:
    """Every source string written in the scene (used or not), where it is written."""
    return [r for *_, r in sound_sources(ctx)] + [r for *_, r in direct_sources(ctx)]


def played_variants(ctx: Context, p: _Plays) -> list[tuple[float, SourceRef]]:
    """What a play item may play: (gain relative to the play item's own gain, source)."""
    if p.source is not None:
        return [(1.0, _ref(ctx, (), p.source, None))] if allowed(ctx, p.source) else []
    sound = ctx.scene.sounds.get(p.sound or "")
    if sound is None:
        return []
    return [
        (sound.gain * v.gain, _ref(ctx, (), v.source, v.trim))
        for v in sound.pool()
        if v.weight > 0 and allowed(ctx, v.source)  # weight 0: never played
    ]


def _ref(ctx: Context, path: PathKey, source: str, trim: Trim | None) -> SourceRef:
    return SourceRef(path, source, scene_sources.resolve(source, ctx.scene.base_dir), trim)


# --- analysis ----------------------------------------------------------------------

_cache: dict[tuple[int, int, int, int, float, float | None], Analysis] = {}
_lock = threading.Lock()


def analyze(ref: SourceRef) -> Analysis:
    """Decode (once per process) and measure the clip a source names."""
    file = ref.file
    try:
        st = file.stat()
    except FileNotFoundError:
        return Analysis("missing", "file not found")
    except (OSError, ValueError) as e:  # ValueError: a NUL byte in the path
        return Analysis("undecodable", f"cannot read: {getattr(e, 'strerror', None) or e}")
    trim_start = ref.trim.start if ref.trim else 0.0
    trim_end = ref.trim.end if ref.trim else None
    key = (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size, trim_start, trim_end)
    with _lock:
        hit = _cache.get(key)
    if hit is None:
        hit = _stored(file, (trim_start, trim_end))
    if hit is None:
        hit = _measure(file, trim_start, trim_end)
        facts.store(file, "assets", (trim_start, trim_end), dataclasses.asdict(hit))
    with _lock:
        _cache[key] = hit
    return hit


def _stored(file: Path, trim: tuple[float, float | None]) -> Analysis | None:
    """The analysis a previous run stored, if it is for this very file (see `lint.facts`)."""
    value = facts.load(file, "assets", trim)
    try:
        return Analysis(**value) if isinstance(value, dict) else None
    except TypeError:  # a record of another shape: measure again
        return None


def _measure(file: Path, trim_start: float, trim_end: float | None) -> Analysis:
    import numpy as np

    from ...audio import load_clip

    if not file.is_file():
        return Analysis("undecodable", "not a regular file")
    if file.stat().st_size == 0:
        return Analysis("empty", "the file is empty (0 bytes)")
    try:
        # Stereo: a mono file is duplicated at its own level and a stereo one keeps each
        # channel's peak, so levels are measured as written; and a cached clip needs no PyAV.
        clip = load_clip(file, RATE, 2)
    except AssetError as e:
        if "zero length" in e.reason:
            return Analysis("empty", "it decodes to no audio (zero length)")
        # PyAV's messages repeat the path and an errno; the diagnostic already names the file.
        reason = re.sub(r"\[Errno -?\d+\] ", "", e.reason).replace(f": '{file}'", "")
        return Analysis("undecodable", reason)
    x = clip.samples
    a = min(round(trim_start * RATE), x.shape[0])
    b = x.shape[0] if trim_end is None else min(round(trim_end * RATE), x.shape[0])
    x = x[a:b]
    if x.shape[0] == 0:
        return Analysis(
            "empty",
            f"its trim starts at {trim_start:g} s but the file is only {clip.duration:.2f} s long",
        )
    peak = float(np.abs(x).max())
    if x.shape[0] < 2:
        return Analysis(frames=int(x.shape[0]), peak=peak)
    steps = np.diff(x, axis=0).ravel()  # every channel's steps, pooled
    np.abs(steps, out=steps)
    k = int(0.999 * (steps.size - 1))
    typical = float(np.partition(steps, k)[k])
    seam = float(np.abs(x[0] - x[-1]).max())
    return Analysis(frames=int(x.shape[0]), peak=peak, seam_jump=seam, typical_step=typical)


# --- loudness ----------------------------------------------------------------------

LOUDNESS_KIND = f"loudness@{RATE}x1"
"""The engine's record of a clip at its rate in mono (`Plan.loudness_of`): lint and engine
share one measurement per clip."""
RANGE_KIND = f"loudness-range@{RATE}x1"

T = TypeVar("T")
_loud_cache: dict[tuple[str, int, int, int, int, float, float | None], Any] = {}


class _Unreadable(Exception):
    pass


def loudness(ref: SourceRef) -> float | None:
    """Integrated loudness (LUFS) of the clip as the engine reads it (mono, trimmed); None
    when it cannot be read (SC401-SC403 say why)."""
    return _cached(ref, LOUDNESS_KIND, _integrated)


def loudness_range(ref: SourceRef) -> tuple[float, float] | None:
    """The (10th, 95th) percentile of the clip's short-term loudness played as a loop (LUFS);
    None when unreadable, silent or shorter than one 3 s window."""
    return _cached(ref, RANGE_KIND, _range)


def _cached(
    ref: SourceRef, kind: str, fn: Callable[[Path, tuple[float, float | None]], T]
) -> T | None:
    try:
        st = ref.file.stat()
    except (OSError, ValueError):
        return None
    trim = (ref.trim.start, ref.trim.end) if ref.trim else (0.0, None)
    key = (kind, st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size, *trim)
    with _lock:
        if key in _loud_cache:
            return cast("T | None", _loud_cache[key])
    try:
        value: T | None = fn(ref.file, trim)
    except _Unreadable:
        value = None
    with _lock:
        _loud_cache[key] = value
    return value


def _integrated(file: Path, trim: tuple[float, float | None]) -> float:
    # A stored record needs neither numpy nor a decode (`measured` itself imports numpy).
    stored = facts.load(file, LOUDNESS_KIND, trim)
    if isinstance(stored, int | float) and not isinstance(stored, bool):
        return float(stored)
    from ...audio.loudness import measured

    return measured(file, LOUDNESS_KIND, trim, lambda: _mono(file, trim), RATE)


def _range(file: Path, trim: tuple[float, float | None]) -> tuple[float, float] | None:
    stored = facts.load(file, RANGE_KIND, trim)
    if isinstance(stored, dict) and "range" in stored:
        r = stored["range"]
        return None if r is None else (float(r[0]), float(r[1]))
    from ...audio.loudness import loop_loudness_range

    got = loop_loudness_range(_mono(file, trim), RATE)
    facts.store(file, RANGE_KIND, trim, {"range": None if got is None else list(got)})
    return got


def _mono(file: Path, trim: tuple[float, float | None]) -> Any:
    """The clip as the engine holds it (`engine.plan._variant`): mono at `RATE`, trimmed."""
    from ...audio import load_clip

    try:
        x = load_clip(file, RATE, 1).samples
    except (AssetError, OSError):
        raise _Unreadable from None
    if x.shape[0] == 0:
        raise _Unreadable
    a = min(round(trim[0] * RATE), x.shape[0] - 1)
    b = x.shape[0] if trim[1] is None else round(trim[1] * RATE)
    return x[a : max(a + 1, b)]
