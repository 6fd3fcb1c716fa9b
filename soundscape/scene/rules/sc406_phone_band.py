"""A bed whose energy lies mostly outside the telephone band vanishes on a phone line."""

from __future__ import annotations

import threading
from collections.abc import Iterator

from ...audio import facts
from ...errors import AssetError
from ..units import gain_to_db
from . import _assets
from .rule import Context, Finding

# The telephone band (soundscape.audio.phone.BAND), kept here so linting imports no numpy.
PHONE_BAND = (300.0, 3400.0)

CODE = "SC406"
NAME = "phone-band"
SEVERITY = "info"
PHASE = "assets"
SUMMARY = (
    "A layer keeps less than 20% of its energy inside the telephone band (300-3400 Hz): "
    "on a phone call it all but vanishes."
)

THRESHOLD = 0.20
"""Below this share (a loss of 7 dB or more) a bed no longer reads as the same sound."""
SECONDS = 60.0
"""Only the first minute of a clip is measured: enough for a bed's spectrum."""

_cache: dict[tuple[int, int, int, int, float, float | None], float | None] = {}
_lock = threading.Lock()


def check(ctx: Context) -> Iterator[Finding]:
    for name, layer in ctx.scene.layers.items():
        shares = []
        for _gain, ref in _assets.played_variants(ctx, layer):
            share = _share(ref)
            if share is not None:
                shares.append(share)
        if not shares:
            continue  # missing or broken files: the SC40x rules say why
        share = sum(shares) / len(shares)
        if share >= THRESHOLD:
            continue
        loss = -gain_to_db(max(share, 1e-6) ** 0.5)
        yield ctx.at(
            ("layers", name),
            f"layer '{name}' keeps only {share:.0%} of its energy inside the telephone band "
            f"({PHONE_BAND[0]:g}-{PHONE_BAND[1]:g} Hz): on a phone line it drops by {loss:.0f} dB and "
            "all but vanishes",
            key=True,
            hint="for a phone agent pick a bed with midrange texture (room tone, murmur, "
            "pink rather than brown noise); hear it with `soundscape render --phone`",
        )


def _share(ref: _assets.SourceRef) -> float | None:
    """The clip's in-band energy share (cached per file version and trim); None if unreadable."""
    try:
        st = ref.file.stat()
    except (OSError, ValueError):
        return None
    trim_start = ref.trim.start if ref.trim else 0.0
    trim_end = ref.trim.end if ref.trim else None
    key = (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size, trim_start, trim_end)
    with _lock:
        if key in _cache:
            return _cache[key]
    stored = facts.load(ref.file, "phone-band", (trim_start, trim_end))
    if isinstance(stored, dict) and "share" in stored:
        value = stored["share"]
    else:
        value = _measure(ref, trim_start, trim_end)
        facts.store(ref.file, "phone-band", (trim_start, trim_end), {"share": value})
    with _lock:
        _cache[key] = value
    return value


def _measure(ref: _assets.SourceRef, trim_start: float, trim_end: float | None) -> float | None:
    from ...audio import load_clip

    rate = _assets.RATE
    try:
        x = load_clip(ref.file, rate, 1).samples
    except (AssetError, OSError):
        return None
    a = min(round(trim_start * rate), x.shape[0])
    b = x.shape[0] if trim_end is None else min(round(trim_end * rate), x.shape[0])
    x = x[a:b][: round(SECONDS * rate)]
    if x.shape[0] == 0:
        return None
    from ...audio.phone import band_share  # local: numpy only when a file is analysed

    return band_share(x, rate)
