"""Units of the scene language: levels, durations, probabilities and ranges.

Values are parsed once, at validation, into plain floats: levels become linear
gain factors, durations become seconds. A *range* is a ``(low, high)`` pair
from which the engine draws uniformly; a fixed value is the range ``(v, v)``.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, NamedTuple

from pydantic import BeforeValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

MAX_GAIN_DB = 6.0
"""Above this a level is almost surely a typo (and a clipping risk)."""

_LEVEL_RE = re.compile(r"^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+|inf))\s*dB\s*$", re.IGNORECASE)
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|sec|min)\s*$")
_PERCENT_RE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*%\s*$")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "sec": 1.0, "min": 60.0}


class Span(NamedTuple):
    """A closed interval the engine draws from uniformly; ``low == high`` is a fixed value."""

    low: float
    high: float

    @property
    def fixed(self) -> bool:
        return self.low == self.high


def db_to_gain(db: float) -> float:
    return 0.0 if db == -math.inf else 10.0 ** (db / 20.0)


def gain_to_db(gain: float) -> float:
    return -math.inf if gain <= 0 else 20.0 * math.log10(gain)


def _err(kind: str, msg: str, **ctx: Any) -> PydanticCustomError:
    # Format here: pydantic's own templating knows no format specs like {v:.1f}.
    return PydanticCustomError(kind, msg.format(**ctx))


def parse_level(value: Any) -> float:
    """``-18 dB``, ``+3dB``, ``-inf dB`` or a linear factor like ``0.3`` → linear gain."""
    if isinstance(value, bool):
        raise _err("level", "expected a level like '-18 dB' or 0.3, got a boolean")
    if isinstance(value, int | float):
        if not math.isfinite(value) or value < 0:
            raise _err("level", "a linear level must be a finite number >= 0, got {v}", v=value)
        gain = float(value)
    elif isinstance(value, str):
        m = _LEVEL_RE.match(value)
        if not m:
            raise _err(
                "level",
                "expected a level like '-18 dB' or a linear factor like 0.3, got '{v}'",
                v=value,
            )
        db = float(m.group(1))
        if math.isnan(db) or db == math.inf:
            raise _err("level", "'{v}' is not a usable level", v=value)
        gain = db_to_gain(db)
    else:
        raise _err(
            "level", "expected a level like '-18 dB' or 0.3, got {t}", t=type(value).__name__
        )
    if gain > db_to_gain(MAX_GAIN_DB) + 1e-9:
        raise _err(
            "level_range",
            "level {db:.1f} dB is above the +{mx:.0f} dB maximum; levels are relative to the "
            "file, so lower it (e.g. '-6 dB') and leave headroom for the mix",
            db=gain_to_db(gain),
            mx=MAX_GAIN_DB,
        )
    return gain


LOUDNESS_RANGE = (-70.0, 0.0)
"""Absolute targets outside this are no sound (below BS.1770's gate) or beyond full scale."""
VOICE_OFFSET_RANGE = (-50.0, 10.0)
"""Voice-relative targets outside this are surely typos (50 LU under a voice is silence)."""

_LUFS_RE = re.compile(r"^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+))\s*LUFS\s*$", re.IGNORECASE)
_VOICE_RE = re.compile(r"^\s*voice\s*(?:([+-])\s*(\d+(?:\.\d*)?|\.\d+)\s*LU)?\s*$", re.IGNORECASE)
_LU_RE = re.compile(r"^\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)\s*LU\s*$", re.IGNORECASE)


class Loudness(NamedTuple):
    """A level given as loudness: what a voice is normalised to before its `gain` trims it.

    ``kind`` is ``"lufs"`` (``value``: integrated loudness, BS.1770), ``"voice"`` (``value``:
    LU relative to the scene's voice reference) or ``"file"`` (the clip as it is: no
    normalisation; ``value`` is 0).
    """

    kind: str
    value: float = 0.0

    def __str__(self) -> str:
        if self.kind == "file":
            return "file"
        if self.kind == "voice":
            return "voice" if self.value == 0 else f"voice {self.value:+g} LU"
        return f"{self.value:g} LUFS"

    def lufs(self, voice: float) -> float | None:
        """The target in LUFS for a voice reference of ``voice`` LUFS; None for ``file``."""
        if self.kind == "file":
            return None
        return self.value + (voice if self.kind == "voice" else 0.0)


FILE_LEVEL = Loudness("file")

MAX_NORM_DB = 40.0
"""The most a `level` raises a clip: 40 dB under its target, a clip is mostly noise floor."""


def parse_loudness(value: Any) -> Loudness:
    """``-45 LUFS``, ``voice -24 LU``, ``voice`` or ``file`` → a `Loudness`."""
    if isinstance(value, Loudness):
        return value
    if not isinstance(value, str):
        raise _err(
            "loudness",
            "level is a loudness like '-45 LUFS', 'voice -24 LU' or 'file', got {v!r}; "
            "a plain number or dB value is a trim: write it as `gain`",
            v=value,
        )
    text = value.strip()
    if text.lower() == "file":
        return FILE_LEVEL
    m = _LUFS_RE.match(text)
    if m:
        lufs = float(m.group(1))
        lo, hi = LOUDNESS_RANGE
        if not lo <= lufs <= hi:
            raise _err(
                "loudness_range",
                "{v:g} LUFS is outside {lo:g} to {hi:g} LUFS; a bed is typically -40 to "
                "-50 LUFS and a voice about -20 LUFS",
                v=lufs,
                lo=lo,
                hi=hi,
            )
        return Loudness("lufs", lufs)
    m = _VOICE_RE.match(text)
    if m:
        off = 0.0 if m.group(2) is None else float(m.group(2)) * (-1 if m.group(1) == "-" else 1)
        lo, hi = VOICE_OFFSET_RANGE
        if not lo <= off <= hi:
            raise _err(
                "loudness_range",
                "'{v}' is outside voice {lo:+g} LU to voice {hi:+g} LU; beds sit about "
                "25 LU under the voice ('voice -25 LU')",
                v=text,
                lo=lo,
                hi=hi,
            )
        return Loudness("voice", off)
    if _LU_RE.match(text):
        raise _err(
            "loudness",
            "'{v}' needs its reference: write 'voice {v}' (LU under the agent's voice) or "
            "an absolute loudness like '-45 LUFS'",
            v=text,
        )
    if _LEVEL_RE.match(text):
        raise _err(
            "loudness",
            "'{v}' is a gain, not a loudness: write it as `gain: {v}` (a trim), or give "
            "`level` as '-45 LUFS' or 'voice -24 LU'",
            v=text,
        )
    raise _err(
        "loudness",
        "expected a loudness like '-45 LUFS', 'voice -24 LU' or 'file', got '{v}'",
        v=text,
    )


def parse_voice_loudness(value: Any) -> float | str:
    """A scene's voice reference: ``-20 LUFS`` → -20.0, or ``auto``."""
    if isinstance(value, str) and value.strip().lower() == "auto":
        return "auto"
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise _err("loudness", "write the voice's loudness with its unit: '{v} LUFS'", v=value)
    got = parse_loudness(value)
    if got.kind != "lufs":
        raise _err(
            "loudness",
            "the voice reference is an absolute loudness like '-20 LUFS', or 'auto' to "
            "measure the agent's speech; got '{v}'",
            v=value,
        )
    return got.value


THRESHOLD_RANGE_DB = (-80.0, 0.0)
"""A voice threshold below -80 dBFS is the noise floor; above 0 dBFS no RMS reaches it."""
_DBFS_RE = re.compile(r"^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+))\s*dB(?:FS)?\s*$", re.IGNORECASE)


def parse_threshold(value: Any) -> float:
    """``-40 dBFS`` (or ``-40 dB``): a voice level → its linear RMS amplitude."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _err(
            "threshold",
            "expected a voice level like '-40 dBFS', got {t}",
            t="a boolean" if isinstance(value, bool) else type(value).__name__,
        )
    if isinstance(value, int | float):
        raise _err(
            "threshold_unit", "a threshold needs its unit: write '{v:g} dBFS', not {v:g}", v=value
        )
    m = _DBFS_RE.match(value)
    if not m:
        raise _err(
            "threshold",
            "expected a voice level like '-40 dBFS' (the RMS of the voice over 10 ms), got '{v}'",
            v=value,
        )
    db = float(m.group(1))
    lo, hi = THRESHOLD_RANGE_DB
    if not lo <= db <= hi:
        raise _err(
            "threshold_range",
            "a voice threshold must be between {lo:g} and {hi:g} dBFS, got {v}",
            lo=lo,
            hi=hi,
            v=value.strip(),
        )
    return db_to_gain(db)


def parse_duration(value: Any) -> float:
    """``250ms``, ``2s``, ``1.5 s``, ``2min`` or the bare number ``0`` → seconds."""
    if isinstance(value, bool):
        raise _err("duration", "expected a duration like '250ms' or '2s', got a boolean")
    if isinstance(value, int | float):
        if value == 0:
            return 0.0
        if value < 0:
            raise _err("duration_range", "a duration cannot be negative, got {v}", v=value)
        raise _err(
            "duration_unit",
            "a duration needs a unit: write '{v}s' or '{v}ms', not {v}",
            v=value,
        )
    if isinstance(value, str):
        m = _DURATION_RE.match(value)
        if m:
            return float(m.group(1)) * _DURATION_UNITS[m.group(2)]
        if value.strip().startswith("-"):
            raise _err("duration_range", "a duration cannot be negative, got '{v}'", v=value)
        raise _err(
            "duration",
            "expected a duration like '250ms', '2s' or '1.5 s', got '{v}'",
            v=value,
        )
    raise _err(
        "duration", "expected a duration like '250ms' or '2s', got {t}", t=type(value).__name__
    )


def parse_probability(value: Any) -> float:
    """``0.25`` or ``25%`` → a probability in [0, 1]."""
    if isinstance(value, bool):
        raise _err("probability", "expected a probability like 0.25 or '25%', got a boolean")
    if isinstance(value, str):
        m = _PERCENT_RE.match(value)
        if not m:
            raise _err(
                "probability", "expected a probability like 0.25 or '25%', got '{v}'", v=value
            )
        value = float(m.group(1)) / 100.0
    if not isinstance(value, int | float) or not math.isfinite(value):
        raise _err("probability", "expected a probability like 0.25 or '25%', got {v!r}", v=value)
    if not 0.0 <= value <= 1.0:
        raise _err(
            "probability_range",
            "a probability must be between 0 and 1 (0% to 100%), got {v}",
            v=value,
        )
    return float(value)


def span_of(parse: Any, what: str) -> Any:
    def parse_span(value: Any) -> Span:
        if isinstance(value, Span):  # already parsed (a model built from another model)
            return value
        if isinstance(value, list | tuple):
            if len(value) != 2:
                raise _err(
                    "range",
                    "a random range is a list of two {what}s, [low, high]; got {n} items",
                    what=what,
                    n=len(value),
                )
            low, high = parse(value[0]), parse(value[1])
            if low > high:
                raise _err("range_order", "range [low, high] has low above high; swap them")
            return Span(low, high)
        v = parse(value)
        return Span(v, v)

    return parse_span


def _schema(pattern: str, description: str, examples: list[Any], *, number: bool) -> dict[str, Any]:
    one: dict[str, Any] = {"type": "string", "pattern": pattern}
    if number:
        one = {"anyOf": [one, {"type": "number", "minimum": 0}]}
    return {"description": description, "examples": examples, **one}


LEVEL_SCHEMA = _schema(
    r"^\s*[+-]?(\d+(\.\d*)?|\.\d+|inf)\s*[dD][bB]\s*$",
    "A level: decibels ('-18 dB', '-inf dB') or a linear factor (0.3).",
    ["-18 dB", 0.3],
    number=True,
)
LOUDNESS_SCHEMA = {
    "type": "string",
    "pattern": r"^\s*([+-]?(\d+(\.\d*)?|\.\d+)\s*[lL][uU][fF][sS]|[vV][oO][iI][cC][eE]"
    r"(\s*[+-]\s*(\d+(\.\d*)?|\.\d+)\s*[lL][uU])?|[fF][iI][lL][eE])\s*$",
    "description": "A loudness (BS.1770 integrated, as decoded): '-45 LUFS', relative to the "
    "agent's voice 'voice -24 LU', or 'file' (the clip's own level).",
    "examples": ["voice -25 LU", "-45 LUFS", "file"],
}
VOICE_LOUDNESS_SCHEMA = {
    "anyOf": [
        {"const": "auto"},
        {"type": "string", "pattern": r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)\s*[lL][uU][fF][sS]\s*$"},
    ],
    "description": "The agent voice's loudness: '-20 LUFS', or 'auto' (measured live).",
}
DURATION_PATTERN = r"^\s*(\d+(\.\d*)?|\.\d+)\s*(ms|s|sec|min)\s*$"
_DURATION_SCHEMA = _schema(
    DURATION_PATTERN,
    "A duration with a unit: '250ms', '2s', '1.5 s', '2min' (or 0).",
    ["250ms", "2s"],
    number=True,
)
_PROB_SCHEMA = _schema(
    r"^\s*(\d+(\.\d*)?|\.\d+)\s*%\s*$",
    "A probability: 0.25 or '25%'.",
    [0.25, "25%"],
    number=True,
)


def _span_schema(one: dict[str, Any], what: str) -> dict[str, Any]:
    return {
        "anyOf": [one, {"type": "array", "items": one, "minItems": 2, "maxItems": 2}],
        "description": f"A {what}, or a random range [low, high].",
    }


Level = Annotated[float, BeforeValidator(parse_level), WithJsonSchema(LEVEL_SCHEMA)]
LoudnessLevel = Annotated[
    Loudness, BeforeValidator(parse_loudness), WithJsonSchema(LOUDNESS_SCHEMA)
]
VoiceLoudness = Annotated[
    float | str, BeforeValidator(parse_voice_loudness), WithJsonSchema(VOICE_LOUDNESS_SCHEMA)
]
Duration = Annotated[float, BeforeValidator(parse_duration), WithJsonSchema(_DURATION_SCHEMA)]
THRESHOLD_SCHEMA = {
    "type": "string",
    "pattern": r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)\s*[dD][bB]([fF][sS])?\s*$",
    "description": "A voice level in dBFS (RMS over 10 ms; a full-scale sine is -3 dBFS), "
    "from -80 to 0: '-40 dBFS'.",
    "examples": ["-40 dBFS"],
}
VoiceThreshold = Annotated[
    float, BeforeValidator(parse_threshold), WithJsonSchema(THRESHOLD_SCHEMA)
]
Probability = Annotated[float, BeforeValidator(parse_probability), WithJsonSchema(_PROB_SCHEMA)]
LevelSpan = Annotated[
    Span,
    BeforeValidator(span_of(parse_level, "level")),
    WithJsonSchema(_span_schema(LEVEL_SCHEMA, "level")),
]
DURATION_SPAN_SCHEMA = _span_schema(_DURATION_SCHEMA, "duration")
DurationSpan = Annotated[
    Span,
    BeforeValidator(span_of(parse_duration, "duration")),
    WithJsonSchema(DURATION_SPAN_SCHEMA),
]
