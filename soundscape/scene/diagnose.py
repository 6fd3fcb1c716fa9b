"""Validation: the merged tree through the pydantic models, each error turned into a
`Diagnostic` at the file, line and column that wrote the value, with a hint."""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from ..errors import Diagnostic, Pos, SceneError
from .merge import Merged
from .model import Scene
from .yamlio import PathKey, kind_name


def validate(merged: Merged) -> Scene:
    """Validate merged data into a `Scene`, mapping pydantic errors to positions."""
    try:
        scene = Scene.model_validate(merged.data)
    except ValidationError as e:
        raise SceneError(_diagnostics(e, merged)) from None
    scene._file = merged.file
    scene._positions = merged
    return scene


def _data_path(loc: tuple[Any, ...], data: Any) -> tuple[PathKey, list[str]]:
    """Split a pydantic ``loc`` into the path inside our data and the leftover tags."""
    path: list[str | int] = []
    rest: list[str] = []
    node = data
    for item in loc:
        if (isinstance(node, dict) and isinstance(item, str) and item in node) or (
            isinstance(node, list) and isinstance(item, int) and 0 <= item < len(node)
        ):
            path.append(item)
            node = node[item]  # type: ignore[index]
        else:
            rest.append(str(item))
    return tuple(path), rest


def _diagnostics(err: ValidationError, merged: Merged) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    seen: set[tuple[Pos, str]] = set()
    for e in err.errors(include_url=False):
        loc = tuple(e["loc"])
        path, rest = _data_path(loc, merged.data)
        etype = e["type"]
        where = _dotted(path)
        hint: str | None = None
        code = "SC102"
        if etype == "extra_forbidden":
            key = str(loc[-1])
            parent = path[:-1] if path and path[-1] == key else path
            pos = merged.pos((*parent, key), key=True)
            known = _known_keys(parent)
            close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
            msg = f"unknown key '{key}'" + (f" in {_dotted(parent)}" if parent else "")
            if close:
                msg += f"; did you mean '{close[0]}'?"
            hint = "allowed here: " + ", ".join(known) if known else None
            code = "SC101"
        elif etype == "missing":
            key = str(loc[-1])
            pos = merged.pos(path, key=True)
            msg = f"missing required key '{key}'" + (f" in {where}" if where else "")
            code = "SC104"
        else:
            on_key = "[key]" in rest
            pos = merged.pos(path, key=on_key)
            msg = _message(e, merged, path)
            if (path and not on_key) or on_key:
                msg = f"{where}: {msg}" if where else msg
            if (
                etype.endswith("_range")
                or etype.startswith(("greater", "less"))
                or etype in ("too_short", "too_long", "avoid_repeat")
            ):
                code = "SC103"
        if (pos, msg) in seen:
            continue
        seen.add((pos, msg))
        out.append(Diagnostic(pos, msg, code=code, hint=hint))
    out.sort(key=lambda d: (d.pos.file != merged.file, d.pos))
    return out


def _message(e: Any, merged: Merged, path: PathKey) -> str:
    etype, msg, given = e["type"], e["msg"], e.get("input")
    if etype == "literal_error":
        expected = e.get("ctx", {}).get("expected", "")
        options = [o.strip().strip("'") for o in expected.replace(" or ", ", ").split(",")]
        close = difflib.get_close_matches(str(given), options, n=1)
        out = f"expected {expected}, got {given!r}"
        return out + (f"; did you mean '{close[0]}'?" if close else "")
    if etype in ("model_type", "dict_type", "model_attributes_type"):
        return f"expected a mapping, got a {kind_name(given)}"
    if etype in ("tuple_type", "list_type"):
        return f"expected a list, got a {kind_name(given)}"
    if etype in ("string_type",):
        return f"expected text, got a {kind_name(given)}"
    if etype in ("bool_type", "bool_parsing"):
        return f"expected true or false, got {given!r}"
    if etype in ("int_type", "int_parsing", "int_from_float"):
        return f"expected a whole number, got {given!r}"
    if etype in ("float_type", "float_parsing", "finite_number"):
        return f"expected a number, got {given!r}"
    if etype == "union_tag_invalid" or etype.startswith("union"):
        return f"unexpected value {given!r}"
    if etype.startswith(("greater", "less")):
        return msg.replace("Input should be", "must be") + f", got {given!r}"
    return msg.removeprefix("Value error, ")


def _dotted(path: PathKey) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def _known_keys(path: PathKey) -> list[str]:
    """The keys a mapping at ``path`` may hold, walking the model's annotations."""
    tp: Any = Scene
    for item in path:
        tp = _descend(tp, item)
        if tp is None:
            return []
    tp = _unwrap(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [f.alias or n for n, f in tp.model_fields.items()]
    return []


def _unwrap(tp: Any) -> Any:
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            models = [
                a for a in typing.get_args(tp) if isinstance(a, type) and issubclass(a, BaseModel)
            ]
            containers = [
                a for a in typing.get_args(tp) if typing.get_origin(a) in (dict, tuple, list)
            ]
            tp = (models or containers or [None])[0]
        else:
            return tp


def _descend(tp: Any, item: str | int) -> Any:
    tp = _unwrap(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        for n, f in tp.model_fields.items():
            if item in (n, f.alias):
                return f.annotation
        return None
    origin = typing.get_origin(tp)
    if origin is dict:
        return typing.get_args(tp)[1]
    if origin in (tuple, list):
        return typing.get_args(tp)[0]
    return None
