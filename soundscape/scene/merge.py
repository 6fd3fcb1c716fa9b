"""``extends`` and ``include``: a scene file and the files it names, merged into one tree.

Each value keeps the position of the file that wrote it (so an error in an included file
points there), and relative sources from other files are rewritten to stay relative to
the file that wrote them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import Diagnostic, Pos, SceneError
from .policy import TRUSTED, Policy
from .yamlio import Document, PathKey, kind_name, load_document

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


def resolve(path: Path, policy: Policy | None = None) -> Merged:
    """Parse a file and everything it extends or includes into one `Merged` tree."""
    doc = load_document(path)
    return merge_tree(doc, path.resolve().parent, [str(path.resolve())], policy or TRUSTED)


def merge_tree(doc: Document, base_dir: Path, chain: list[str], policy: Policy) -> Merged:
    if not isinstance(doc.data, dict):
        raise SceneError(
            [
                Diagnostic(
                    doc.values.get((), Pos(doc.file)),
                    "a scene file must be a mapping (keys like 'version:', 'layers:'), "
                    f"not a {kind_name(doc.data)}",
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
    merged = merge_tree(parent_doc, target.parent, [*chain, str(target)], policy)
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
