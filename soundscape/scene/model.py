"""The validated scene model (scene language ``version: 1``).

Every class here is a frozen pydantic model; together they generate the JSON
Schema (`soundscape schema`). Shorthands a designer may write (a bare string
for a sound, a cue, a state override, a trigger) are expanded *before*
validation so that error locations always point at what was written.
Cross-references (sound names, states, events) are checked after validation
by the semantic rules in `soundscape.lint`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from .sources import AUDIO_SUFFIXES
from .units import (
    DURATION_PATTERN,
    DURATION_SPAN_SCHEMA,
    FILE_LEVEL,
    LEVEL_SCHEMA,
    Duration,
    DurationSpan,
    Level,
    LevelSpan,
    Loudness,
    LoudnessLevel,
    Probability,
    Span,
    VoiceLoudness,
    VoiceThreshold,
    db_to_gain,
    parse_duration,
    span_of,
)

NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")
_URL_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def _check_name(value: Any) -> str:
    if not isinstance(value, str) or not NAME_RE.match(value):
        raise PydanticCustomError(
            "name",
            "{v} is not a valid name: start with a letter, then letters, digits, '-', '_' or '.'"
            " (at most 64)",
            {"v": repr(value)},  # repr: invisible or control characters show as escapes
        )
    return value


Name = Annotated[
    str,
    BeforeValidator(_check_name),
    WithJsonSchema({"type": "string", "pattern": NAME_RE.pattern}),
]


def _check_source(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise PydanticCustomError(
            "source", "a source is a file path or 'builtin:NAME', got {v!r}", {"v": value}
        )
    if _URL_RE.match(value):
        raise PydanticCustomError(
            "source_url",
            "URLs are not sources ('{v}'); download the file next to the scene and use its path",
            {"v": value},
        )
    if value.startswith("builtin:"):
        from .sources import builtin_names  # local: scanning resources is lazy

        name = value.removeprefix("builtin:")
        if name not in builtin_names():
            import difflib

            close = difflib.get_close_matches(name, builtin_names(), n=1)
            sug = f"; did you mean 'builtin:{close[0]}'?" if close else ""
            raise PydanticCustomError(
                "builtin",
                "unknown built-in clip '{name}'{sug} (see `soundscape lint --list-builtins`)",
                {"name": name, "sug": sug},
            )
    return value


Source = Annotated[
    str,
    BeforeValidator(_check_source),
    WithJsonSchema(
        {
            "type": "string",
            "description": "A path relative to the scene file, or 'builtin:NAME'.",
            "examples": ["sounds/chime.ogg", "builtin:office-ambience"],
        }
    ),
]


def _freeze(value: Mapping[Any, Any]) -> FrozenDict:
    return FrozenDict(value)


class FrozenDict(dict[Any, Any]):
    """A dict that refuses changes, so a validated scene stays what was validated."""

    def _readonly(self, *_: Any, **__: Any) -> Any:
        raise TypeError("scene models are immutable")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _readonly

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(self.items()))


def _shorthand(key: str) -> Any:
    """Accept a bare scalar where a mapping with one obvious key is meant."""

    def expand(value: Any) -> Any:
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            return {key: value}
        return value

    return expand


Pan = Annotated[
    float, Field(ge=-1.0, le=1.0, description="Stereo position, -1 (left) to 1 (right).")
]


def _pan_span(value: Any) -> Any:
    if isinstance(value, list | tuple) and len(value) == 2:
        return Span(*value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Span(value, value)
    return value


def _check_pan_span(span: Span) -> Span:
    if not (-1.0 <= span.low <= span.high <= 1.0):
        raise PydanticCustomError("pan", "pan must be within -1 .. 1 with low <= high", {})
    return span


PanSpan = Annotated[
    Span,
    BeforeValidator(_pan_span),
    AfterValidator(_check_pan_span),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": -1, "maximum": 1},
                {
                    "type": "array",
                    "items": {"type": "number", "minimum": -1, "maximum": 1},
                    "minItems": 2,
                    "maxItems": 2,
                },
            ],
            "description": "Stereo position -1..1, or a random range [low, high].",
        }
    ),
]


def _plays_shorthand(value: Any) -> Any:
    if isinstance(value, str):
        looks_like_file = ":" in value or "/" in value or value.lower().endswith(AUDIO_SUFFIXES)
        return {"source" if looks_like_file else "sound": value}
    return value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Trim(_Model):
    """The part of a file that plays: from ``start`` to ``end`` (seconds into the file)."""

    start: Duration = Field(0.0, description="Skip this much at the start of the file.")
    end: Duration | None = Field(None, description="Stop reading the file here (default: its end).")

    @model_validator(mode="after")
    def _order(self) -> Trim:
        if self.end is not None and self.end <= self.start:
            raise PydanticCustomError("trim", "trim end must be after trim start", {})
        return self


StartAt = Annotated[
    Span | Literal["random"],
    BeforeValidator(lambda v: v if v == "random" else _start_span(v)),
    WithJsonSchema(
        {
            "anyOf": [
                {"const": "random"},
                DURATION_SPAN_SCHEMA,
            ],
            "description": "Where playback starts inside the (trimmed) clip: a duration, a "
            "range [low, high], or 'random' (anywhere; good for beds).",
        }
    ),
]


_start_span = span_of(parse_duration, "duration")


class Variant(_Model):
    """One file in a pool (or the single file of a sound)."""

    source: Source = Field(description="A file path relative to the scene, or 'builtin:NAME'.")
    weight: float = Field(
        1.0, ge=0.0, le=1e6, description="Relative chance of being picked; 0: never."
    )
    gain: Level = Field(1.0, description="Level of this file.")
    start: StartAt | None = Field(None, description="Where playback starts inside the clip.")
    trim: Trim | None = Field(None, description="Use only this part of the file.")

    @model_validator(mode="before")
    @classmethod
    def _expand(cls, value: Any) -> Any:
        return _shorthand("source")(value)


class Sound(_Model):
    """A named sound: one ``source``, or a pool of ``variants`` picked per play."""

    source: Source | None = Field(None, description="The file (for a single-file sound).")
    variants: tuple[Variant, ...] | None = Field(
        None, min_length=1, description="A pool: one of these plays each time the sound starts."
    )
    gain: Level = Field(1.0, description="Level of the sound (multiplies each variant's gain).")
    start: StartAt | None = Field(None, description="Where playback starts (default for variants).")
    trim: Trim | None = Field(None, description="Use only part of the file (default for variants).")
    pick: Literal["random", "shuffle", "sequence"] = Field(
        "random",
        description="random: weighted draw; shuffle: every variant once before any repeats; "
        "sequence: in order.",
    )
    avoid_repeat: int = Field(
        0, ge=0, description="Never pick one of the last N picked variants again (random pick)."
    )
    silence: Probability = Field(
        0.0, description="Chance that nothing plays when the sound starts."
    )
    from_code: bool = Field(
        False,
        description="Played from your agent's code (scape.play(name)), not by the scene: "
        "the linter does not report it as unused.",
    )

    @model_validator(mode="before")
    @classmethod
    def _expand(cls, value: Any) -> Any:
        return _shorthand("source")(value)

    @model_validator(mode="after")
    def _one_of(self) -> Sound:
        if (self.source is None) == (self.variants is None):
            raise PydanticCustomError(
                "sound",
                "a sound needs exactly one of 'source' (one file) or 'variants' (a pool)",
                {},
            )
        if self.variants is not None and self.avoid_repeat >= len(self.variants):
            raise PydanticCustomError(
                "avoid_repeat",
                "avoid_repeat is {n} but the pool has only {k} variants; it must be below {k}",
                {"n": self.avoid_repeat, "k": len(self.variants)},
            )
        return self

    def pool(self) -> tuple[Variant, ...]:
        """The variants, with sound-level start/trim as defaults; a single source is a pool of one."""
        if self.variants is None:
            assert self.source is not None
            return (Variant(source=self.source, start=self.start, trim=self.trim),)
        return tuple(
            v.model_copy(
                update={
                    "start": v.start if v.start is not None else self.start,
                    "trim": v.trim if v.trim is not None else self.trim,
                }
            )
            for v in self.variants
        )


DUCK_KEYS = ("speaking", "voice", "both")
"""What a duck listens to: the agent's speaking state, its voice signal, or either."""


def _duck_shorthand(value: Any) -> Any:
    if value is True:
        return {}
    if isinstance(value, str) and value.strip() in DUCK_KEYS:
        return {"by": value.strip()}
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return {"depth": value}
    return value


MAX_HOLD_SECONDS = 5.0
"""A longer hold keeps the bed down through real pauses: surely a typo for milliseconds."""


class Duck(_Model):
    """Lower this voice while the agent speaks (its speaking state, its voice signal, or either)."""

    by: Literal["speaking", "voice", "both"] = Field(
        "speaking",
        description="What ducks: 'speaking' (the agent's speaking state), 'voice' (the voice "
        "signal itself, sample-accurately) or 'both' (ducked while either says so).",
    )
    depth: Level = Field(db_to_gain(-12.0), description="Level while ducked, relative ('-12 dB').")
    attack: Duration = Field(0.08, description="How fast the level goes down when speech starts.")
    release: Duration = Field(0.6, description="How fast it comes back after speech ends.")
    threshold: VoiceThreshold = Field(
        db_to_gain(-40.0),
        description="With by voice/both: the voice level (RMS over 10 ms, dBFS) from which "
        "the voice counts as present.",
        json_schema_extra={"default": "-40 dBFS"},  # as written, not the linear value kept
    )
    hold: Duration = Field(
        0.25,
        description="With by voice/both: how long the duck stays down after the voice falls "
        "under the threshold, so it does not pump between words.",
    )

    @field_validator("threshold", "hold")
    @classmethod
    def _voice_only(cls, value: float, info: ValidationInfo) -> float:
        if info.data.get("by", "speaking") == "speaking":
            raise PydanticCustomError(
                "duck_by",
                "{key} sets how the voice signal ducks, but this duck follows the speaking "
                "state; add 'by: voice' (or 'by: both')",
                {"key": info.field_name},
            )
        if info.field_name == "hold" and value > MAX_HOLD_SECONDS:
            raise PydanticCustomError(
                "hold_range",
                f"a hold of {value:g} s keeps the bed down through real pauses; at most"
                f" {MAX_HOLD_SECONDS:g}s (the usual is 150ms to 400ms)",
            )
        return value


DuckSpec = Annotated[Duck | None, BeforeValidator(_duck_shorthand)]


class _Plays(_Model):
    """Fields shared by everything that plays a sound: which sound, how loud, where."""

    sound: Name | None = Field(None, description="Name of a sound under `sounds`.")
    source: Source | None = Field(None, description="Or a file / 'builtin:NAME' directly.")
    level: LoudnessLevel | None = Field(
        None,
        description="Loudness to play at: '-45 LUFS', 'voice -24 LU' (under the agent's voice) "
        "or 'file' (as the file is). Default: the scene's `levels` for its kind.",
    )
    gain: Level = Field(1.0, description="Trim on top of `level` ('-3 dB', 0.5).")
    pan: Pan = Field(0.0)
    curve: Literal["equal-power", "linear"] = Field(
        "equal-power", description="Fade law for this voice's fades and ramps."
    )
    duck: DuckSpec = Field(
        None,
        description="Duck under the agent's voice: true, a depth, 'voice' (keyed by the voice "
        "signal), or a mapping.",
    )

    @model_validator(mode="before")
    @classmethod
    def _expand(cls, value: Any) -> Any:
        return _plays_shorthand(value)

    @model_validator(mode="after")
    def _what(self) -> Any:
        if (self.sound is None) == (self.source is None):
            raise PydanticCustomError(
                "plays",
                "say what to play with exactly one of 'sound' (a name) or 'source' (a file)",
                {},
            )
        return self


class Layer(_Plays):
    """A bed that loops for the whole scene, with a crossfaded seam."""

    fade_in: Duration = Field(1.0, description="Fade in when the scene starts.")
    fade_out: Duration = Field(1.0, description="Fade out when the scene stops.")
    crossfade: Duration = Field(0.5, description="Crossfade at the loop seam.")
    ramp: Duration = Field(0.8, description="Default time for per-state level changes.")


class Cue(_Plays):
    """A sound started by a state, a timer, an event or `play()`."""

    loop: bool = Field(False, description="Loop until stopped (crossfaded seam).")
    delay: DurationSpan = Field(
        Span(0.0, 0.0), description="Wait this long (or a random time) first."
    )
    fade_in: Duration = Field(0.0, description="Fade in (a few ms are always applied).")
    fade_out: Duration = Field(0.15, description="Fade out when stopped.")
    crossfade: Duration = Field(0.1, description="Crossfade at the loop seam (loop: true).")
    on_exit: Literal["stop", "ring"] | None = Field(
        None,
        description="When its state ends: stop (with fade_out) or let it ring to its end. "
        "Default: state cues and timer plays stop; a one-shot played by a transition rings "
        "(it answers an event, not a state); a loop always stops.",
    )

    @model_validator(mode="after")
    def _ring(self) -> Cue:
        if self.loop and self.on_exit == "ring":
            raise PydanticCustomError(
                "ring_loop",
                "a looping cue never ends, so it cannot ring out; use on_exit: stop",
                {},
            )
        return self


class Action(_Model):
    """What a timer does: play a cue, move to a state, or both."""

    play: Cue | None = Field(None, description="Play this cue (a sound name or a cue mapping).")
    goto: Name | None = Field(None, description="Move to this state.")

    @model_validator(mode="after")
    def _some(self) -> Action:
        if self.play is None and self.goto is None:
            raise PydanticCustomError("action", "an action needs 'play', 'goto' or both", {})
        return self


class LayerLevel(_Model):
    """A layer's level while in a state."""

    gain: Level = Field(description="Level of the layer in this state.")
    ramp: Duration | None = Field(None, description="Ramp time (default: the layer's `ramp`).")

    @model_validator(mode="before")
    @classmethod
    def _expand(cls, value: Any) -> Any:
        return _shorthand("gain")(value)


DurationKey = Annotated[
    float,
    BeforeValidator(parse_duration),
    WithJsonSchema({"type": "string", "pattern": DURATION_PATTERN}),
]


class State(_Model):
    """A scene state: cues while in it, timers, and layer levels."""

    description: str | None = None
    cues: tuple[Cue, ...] = Field((), description="Cues started on entry.")
    after: Annotated[dict[DurationKey, Action], AfterValidator(_freeze)] = Field(
        default_factory=FrozenDict, description="Timed actions: `8s: {play: still-working}`."
    )
    layers: Annotated[dict[Name, LayerLevel], AfterValidator(_freeze)] = Field(
        default_factory=FrozenDict, description="Layer levels while in this state."
    )

    @model_validator(mode="before")
    @classmethod
    def _empty(cls, value: Any) -> Any:
        return {} if value is None else value


Scalar = str | int | float | bool


def _one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


class Transition(_Model):
    """On an event (optionally only from some states and when fields match): move and/or play."""

    on: str = Field(
        description="Event name, e.g. 'agent.thinking', 'tool.started', 'trigger.NAME'."
    )
    from_: Annotated[tuple[str, ...], BeforeValidator(_one_or_many)] = Field(
        ("*",), alias="from", description="Only from these states ('*' = any)."
    )
    to: Name | None = Field(None, description="Move to this state (omit to stay).")
    when: Annotated[dict[str, Scalar | tuple[Scalar, ...]], AfterValidator(_freeze)] = Field(
        default_factory=FrozenDict,
        description="Guard: event fields must equal these values (a list means any of them).",
    )
    play: Cue | None = Field(None, description="Play this cue when the transition fires.")


class Trigger(_Model):
    """A custom event the application (or the LLM) can fire: `trigger.NAME`."""

    description: str = Field(
        "", description="What it means; the LLM sees this as the tool description."
    )
    llm: bool = Field(False, description="Offer this trigger to the LLM as a function tool.")
    fields: Annotated[dict[Name, str], AfterValidator(_freeze)] = Field(
        default_factory=FrozenDict, description="Fields the trigger carries: name → description."
    )

    @model_validator(mode="before")
    @classmethod
    def _expand(cls, value: Any) -> Any:
        return {} if value is None else _shorthand("description")(value)


class Scatter(_Plays):
    """Random one-shots at random intervals, like a phone ringing now and then."""

    interval: DurationSpan = Field(description="Time between spawns: a range [min, max].")
    gain: LevelSpan = Field(
        Span(1.0, 1.0), description="Trim on top of `level`, or a random range [low, high]."
    )  # type: ignore[assignment]
    pan: PanSpan = Field(Span(0.0, 0.0), description="Stereo position or a random range.")  # type: ignore[assignment]
    max_voices: int = Field(1, ge=1, le=16, description="At most this many playing at once.")
    states: tuple[Name, ...] | None = Field(
        None, description="Only in these states (default: all)."
    )

    @model_validator(mode="after")
    def _interval(self) -> Scatter:
        if self.interval.high <= 0:
            raise PydanticCustomError("interval", "a scatter interval must be above 0", {})
        return self


class Master(_Model):
    """The output bus."""

    gain: Level = Field(1.0, description="Level of the whole scene.")
    ceiling: Level = Field(
        db_to_gain(-1.0), description="Limiter ceiling; output never exceeds it."
    )
    max_voices: int = Field(
        32, ge=1, le=256, description="Voice cap; the oldest cue is stolen beyond it."
    )


def _levels_shorthand(value: Any) -> Any:
    if isinstance(value, str):
        return {"layer": value, "cue": value, "scatter": value}
    return value


class Levels(_Model):
    """The `level` of every layer, cue and scatter that gives none (and of `play()`: cue)."""

    layer: LoudnessLevel = Field(
        Loudness("voice", -25.0), description="Beds: heard, and well out of the voice's way."
    )
    cue: LoudnessLevel = Field(
        Loudness("voice", -15.0), description="Cues and one-shots: clear, never over the voice."
    )
    scatter: LoudnessLevel = Field(
        Loudness("voice", -20.0), description="Scattered one-shots: part of the room."
    )

    @model_validator(mode="before")
    @classmethod
    def _expand(cls, value: Any) -> Any:
        return _levels_shorthand(value)

    def of(self, p: _Plays) -> Loudness:
        """The level ``p`` plays at: its own, or this default for its kind."""
        if p.level is not None:
            return p.level
        if isinstance(p, Layer):
            return self.layer
        return self.scatter if isinstance(p, Scatter) else self.cue


LEVELS_FILE = Levels(layer=FILE_LEVEL, cue=FILE_LEVEL, scatter=FILE_LEVEL)


class VoiceRef(_Model):
    """How loud the agent's voice is at the caller: what `voice -N LU` levels are under."""

    loudness: VoiceLoudness = Field(
        -20.0,
        description="The voice's loudness ('-20 LUFS', the usual TTS level), or 'auto': "
        "measured live from the agent's speech, with voice-relative levels following it.",
    )
    start: VoiceLoudness = Field(
        -20.0, description="With 'auto': the loudness assumed until speech has been heard."
    )
    glide: Duration = Field(
        1.5, description="With 'auto': how long levels take to follow a change of the voice."
    )

    @model_validator(mode="before")
    @classmethod
    def _expand(cls, value: Any) -> Any:
        return {"loudness": value} if isinstance(value, str | int | float) else value

    @model_validator(mode="after")
    def _start_fixed(self) -> VoiceRef:
        if self.start == "auto":
            raise PydanticCustomError(
                "loudness", "voice.start is a loudness like '-20 LUFS', not 'auto'", {}
            )
        return self

    @property
    def auto(self) -> bool:
        return self.loudness == "auto"

    @property
    def reference(self) -> float:
        """The loudness voice-relative levels are computed for before anything is measured."""
        return float(self.start if self.loudness == "auto" else self.loudness)


class Scene(_Model):
    """A sound scene: sounds, layers, states, transitions, triggers and scatter."""

    version: Literal[1] = Field(description="Scene language version; always 1.")
    name: str | None = None
    description: str | None = None
    extends: str | None = Field(
        None, description="Build on this scene file (path relative to this one)."
    )
    include: Annotated[tuple[str, ...], BeforeValidator(_one_or_many)] = Field(
        (), description="Merge these fragment files (sounds, triggers, …) first."
    )
    initial: Name | None = Field(
        None, description="The state a scene starts in (default: the first)."
    )
    follow_agent: bool = Field(
        True,
        description="agent.X events move to the state named X when no declared transition matches.",
    )
    master: Master = Field(default_factory=Master)
    voice: VoiceRef = Field(default_factory=VoiceRef)
    levels: Levels = Field(default_factory=Levels)
    sounds: Annotated[dict[Name, Sound], AfterValidator(_freeze)] = Field(
        default_factory=FrozenDict
    )
    layers: Annotated[dict[Name, Layer], AfterValidator(_freeze)] = Field(
        default_factory=FrozenDict
    )
    states: Annotated[dict[Name, State], AfterValidator(_freeze)] = Field(
        default_factory=FrozenDict
    )
    transitions: tuple[Transition, ...] = ()
    triggers: Annotated[dict[Name, Trigger], AfterValidator(_freeze)] = Field(
        default_factory=FrozenDict
    )
    scatter: Annotated[dict[Name, Scatter], AfterValidator(_freeze)] = Field(
        default_factory=FrozenDict
    )

    _file: str = PrivateAttr("<memory>")
    _positions: Any = PrivateAttr(None)
    _policy: Any = PrivateAttr(None)

    @property
    def policy(self) -> Any:
        """The `Policy` the scene was loaded under (trusted unless said otherwise)."""
        from .policy import TRUSTED

        return self._policy or TRUSTED

    @property
    def file(self) -> str:
        """The scene file this model was loaded from."""
        return self._file

    @property
    def base_dir(self) -> Path:
        return Path(self._file).parent if self._file != "<memory>" else Path.cwd()

    @property
    def files(self) -> list[Path]:
        """The scene's file and every file it extends or includes (what to watch for edits)."""
        names = getattr(self._positions, "files", None) or [self._file]
        return [Path(n) for n in dict.fromkeys([self._file, *names]) if not n.startswith("<")]

    @property
    def initial_state(self) -> str:
        """The state the scene starts in; a scene with no states has one implicit `idle`."""
        if self.initial:
            return self.initial
        return next(iter(self.states), "idle")

    @property
    def state_names(self) -> tuple[str, ...]:
        return tuple(self.states) or ("idle",)


def schema() -> dict[str, Any]:
    """The JSON Schema of a scene file."""
    out = Scene.model_json_schema(by_alias=True, mode="validation")
    out["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    out["title"] = "soundscape scene"
    # Shorthands are expanded before validation, so the generated schema lacks them.
    text = {"type": "string"}
    short = {
        "Sound": text,
        "Variant": text,
        "Layer": text,
        "Cue": text,
        "LayerLevel": LEVEL_SCHEMA,
        "Trigger": {"type": ["string", "null"]},
        "Duck": {"anyOf": [{"type": "boolean"}, {"enum": list(DUCK_KEYS)}, LEVEL_SCHEMA]},
        "VoiceRef": {"type": "string"},
        "Levels": {"type": "string"},
        "State": {"type": "null"},
    }
    defs = out["$defs"]
    for name, alt in short.items():
        full = defs[name]
        defs[name] = {
            "anyOf": [alt, {k: v for k, v in full.items() if k != "description"}],
            "description": full.get("description", ""),
        }
    return out


__all__ = [
    "Action",
    "Cue",
    "Duck",
    "Layer",
    "LayerLevel",
    "Levels",
    "Master",
    "Scatter",
    "Scene",
    "Sound",
    "State",
    "Transition",
    "Trigger",
    "Trim",
    "Variant",
    "VoiceRef",
    "schema",
]
