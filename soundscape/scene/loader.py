"""YAML file → validated, immutable `Scene`, with every error at file:line:col.

Steps: read and parse (positions kept), resolve ``extends``/``include``
(merged with each value's own file position), rewrite relative sources from
other files so they stay relative to the file that wrote them, validate with
the pydantic models, then run the semantic rules that make a scene unplayable
(undefined names, unknown events, instant cycles).
"""

from __future__ import annotations

import difflib
import os
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from ..errors import Diagnostic, Pos, SceneError
from .model import Scene
from .policy import TRUSTED, Policy
from .yamlio import Document, PathKey, load_document, parse

MAX_EXTENDS_DEPTH = 16


@dataclass
class Merged:
    """The raw data of a scene after extends/include, with positions across files."""

    file: str
    data: dict[str, Any]
    values: dict[PathKey, Pos] = field(default_factory=dict)
    keys: dict[PathKey, Pos] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)

    def data_at(self, path: PathKey) -> Any:
        """The raw value written at ``path`` (None if absent)."""
        node: Any = self.data
        for p in path:
            if (isinstance(node, dict) and p in node) or (
                isinstance(node, list) and isinstance(p, int) and p < len(node)
            ):
                node = node[p]  # type: ignore[index]
            else:
                return None
        return node

    def pos(self, path: PathKey, *, key: bool = False) -> Pos:
        """Position of ``path`` (its key when ``key``), else of its nearest ancestor."""
        p = tuple(path)
        while True:
            if key and p in self.keys:
                return self.keys[p]
            if p in self.values:
                return self.values[p]
            if p in self.keys:
                return self.keys[p]
            if not p:
                return Pos(self.file, 1, 1)
            p = p[:-1]


def load(path: str | os.PathLike[str], *, policy: Policy | None = None) -> Scene:
    """Load and validate a scene file; raise `SceneError` listing every problem found.

    ``policy``: `Policy.untrusted(asset_roots=[...])` for scenes you did not write.
    """
    scene, _ = load_with_positions(path, policy=policy)
    return scene


def loads(text: str, file: str = "<string>", *, policy: Policy | None = None) -> Scene:
    """Load a scene from YAML text (relative paths resolve from the cwd)."""
    policy = policy or TRUSTED
    doc = parse(text, file)
    base = Path(file).resolve().parent if file[0] != "<" else Path.cwd()
    merged = _merge_tree(doc, base, [], policy)
    return _finish(merged, policy)


def load_with_positions(
    path: str | os.PathLike[str], *, policy: Policy | None = None
) -> tuple[Scene, Merged]:
    policy = policy or TRUSTED
    merged = resolve(Path(path), policy)
    return _finish(merged, policy), merged


def resolve(path: Path, policy: Policy | None = None) -> Merged:
    """Parse a file and everything it extends or includes into one `Merged` tree."""
    doc = load_document(path)
    return _merge_tree(doc, path.resolve().parent, [str(path.resolve())], policy or TRUSTED)


def _finish(merged: Merged, policy: Policy) -> Scene:
    scene = validate(merged)
    scene._policy = policy
    from ..lint.runner import semantic_errors  # the rules live with the linter

    errors = semantic_errors(scene, merged, policy)
    if errors:
        raise SceneError(errors)
    return scene


# --- extends / include -------------------------------------------------------------


def _merge_tree(doc: Document, base_dir: Path, chain: list[str], policy: Policy) -> Merged:
    if not isinstance(doc.data, dict):
        raise SceneError(
            [
                Diagnostic(
                    doc.values.get((), Pos(doc.file)),
                    "a scene file must be a mapping (keys like 'version:', 'layers:'), "
                    f"not a {_kind(doc.data)}",
                    code="SC102",
                )
            ]
        )
    own = Merged(
        doc.file, doc.data, dict(doc.values), dict(doc.keys), [doc.file], {doc.file: doc.text}
    )
    parents: list[Merged] = []
    for key in ("extends", "include"):
        raw = doc.data.get(key)
        if raw is None:
            continue
        items = [raw] if isinstance(raw, str) else raw
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            continue  # the model reports the wrong type with its position
        if key == "extends" and not isinstance(raw, str):
            continue
        for i, rel in enumerate(items):
            at = (key,) if isinstance(raw, str) else (key, i)
            parents.append(
                _load_parent(doc, base_dir, rel, at, chain, policy, fragment=key == "include")
            )
    if not parents:
        return own
    result = parents[0]
    for p in parents[1:]:
        result = _overlay(result, p)
    out = _overlay(result, own)
    out.file = doc.file
    for key in ("extends", "include"):
        if key in doc.data:
            out.data[key] = doc.data[key]
    return out


def _load_parent(
    doc: Document,
    base_dir: Path,
    rel: str,
    at: PathKey,
    chain: list[str],
    policy: Policy,
    *,
    fragment: bool,
) -> Merged:
    pos = doc.values.get(at, Pos(doc.file))
    what, verb = ("included", "include") if fragment else ("extended", "extend")
    # Untrusted: found without touching anything outside the roots (see `Policy.confined`).
    confined = (
        None if policy.trusted or Path(rel).is_absolute() else policy.confined(base_dir / rel)
    )
    target = (base_dir / rel).resolve() if policy.trusted else confined
    if target is None:
        raise SceneError(
            [
                Diagnostic(
                    pos,
                    f"an untrusted scene may only {verb} files inside the asset roots; "
                    f"'{rel}' is outside",
                    code="SC004",
                    hint="copy the file into an asset root, or load the scene as trusted",
                )
            ]
        )
    if str(target) in chain:
        cycle = " → ".join(Path(c).name for c in [*chain, str(target)])
        raise SceneError(
            [
                Diagnostic(
                    pos,
                    f"circular extends/include: {cycle}",
                    code="SC004",
                    hint="remove one link of the cycle",
                )
            ]
        )
    if len(chain) > MAX_EXTENDS_DEPTH:
        raise SceneError(
            [
                Diagnostic(
                    pos, f"extends/include nested deeper than {MAX_EXTENDS_DEPTH}", code="SC004"
                )
            ]
        )
    if not target.is_file():
        raise SceneError(
            [
                Diagnostic(
                    pos,
                    f"{what} file '{rel}' not found (looked at {target})",
                    code="SC004",
                    hint="paths are relative to the file that names them",
                )
            ]
        )
    try:
        parent_doc = load_document(target)
    except SceneError as e:
        raise SceneError(
            [
                *e.diagnostics,
                Diagnostic(pos, f"in the file {what} here", code="SC004", severity="info"),
            ]
        ) from None
    merged = _merge_tree(parent_doc, target.parent, [*chain, str(target)], policy)
    _rebase_sources(merged, Path(doc.file).resolve().parent, target.parent)
    for key in ("extends", "include", "version") if fragment else ("extends", "include"):
        merged.data.pop(key, None)
    return merged


# Lists under these keys are concatenated (child first) instead of replaced.
_CONCAT = {("transitions",)}


def _overlay(base: Merged, top: Merged) -> Merged:
    """``top`` over ``base``: mappings merge key by key, other values are replaced."""
    out = Merged(top.file, {}, files=[*base.files, *top.files], texts={**base.texts, **top.texts})

    def walk(b: Any, t: Any, path: PathKey) -> Any:
        if isinstance(b, dict) and isinstance(t, dict):
            res = {}
            for k in [*b, *(k for k in t if k not in b)]:
                if k in t:
                    res[k] = (
                        walk(b.get(k), t[k], (*path, k)) if k in b else copy(top, t[k], (*path, k))
                    )
                    if (*path, k) in top.keys:
                        out.keys[(*path, k)] = top.keys[(*path, k)]
                else:
                    res[k] = copy(base, b[k], (*path, k))
                    if (*path, k) in base.keys:
                        out.keys[(*path, k)] = base.keys[(*path, k)]
            _set_pos(out, top, path, path)
            return res
        if path in _CONCAT and isinstance(b, list) and isinstance(t, list):
            res_list = [copy(top, v, (*path, i), (*path, i)) for i, v in enumerate(t)]
            n = len(t)
            res_list += [copy(base, v, (*path, i), (*path, n + i)) for i, v in enumerate(b)]
            _set_pos(out, top, path, path)
            return res_list
        return copy(top, t, path)

    def copy(src: Merged, value: Any, path: PathKey, dest: PathKey | None = None) -> Any:
        dest = path if dest is None else dest
        _set_pos(out, src, path, dest)
        if isinstance(value, dict):
            for k, v in value.items():
                if (*path, k) in src.keys:
                    out.keys[(*dest, k)] = src.keys[(*path, k)]
                copy(src, v, (*path, k), (*dest, k))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                copy(src, v, (*path, i), (*dest, i))
        return value

    out.data = walk(base.data, top.data, ())
    return out


def _set_pos(out: Merged, src: Merged, path: PathKey, dest: PathKey) -> None:
    if path in src.values:
        out.values[dest] = src.values[path]


def _rebase_sources(merged: Merged, main_dir: Path, file_dir: Path) -> None:
    """Rewrite relative file sources of another file so they resolve from ``main_dir``."""
    if main_dir == file_dir:
        return

    def fix(value: Any) -> Any:
        if isinstance(value, str) and not value.startswith("builtin:") and "://" not in value:
            p = Path(value).expanduser()
            if not p.is_absolute():
                return os.path.relpath(file_dir / p, main_dir)
        return value

    def walk(node: Any, path: PathKey) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                sub = (*path, k)
                if k == "source" or (len(path) == 1 and path[0] == "sounds" and isinstance(v, str)):
                    node[k] = fix(v)
                elif k == "variants" and isinstance(v, list):
                    node[k] = [fix(x) if isinstance(x, str) else x for x in v]
                    walk(node[k], sub)
                else:
                    walk(v, sub)
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, (*path, i))

    walk(merged.data, ())


# --- validation ----------------------------------------------------------------------


def validate(merged: Merged) -> Scene:
    """Validate merged data into a `Scene`, mapping pydantic errors to positions."""
    try:
        scene = Scene.model_validate(merged.data)
    except ValidationError as e:
        raise SceneError(_diagnostics(e, merged)) from None
    scene._file = merged.file
    scene._positions = merged
    return scene


def _kind(value: Any) -> str:
    return {
        dict: "mapping",
        list: "list",
        str: "string",
        int: "number",
        float: "number",
        bool: "boolean",
        type(None): "null (empty value)",
    }.get(type(value), type(value).__name__)


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
        return f"expected a mapping, got a {_kind(given)}"
    if etype in ("tuple_type", "list_type"):
        return f"expected a list, got a {_kind(given)}"
    if etype in ("string_type",):
        return f"expected text, got a {_kind(given)}"
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
