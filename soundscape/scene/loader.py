"""YAML file → validated, immutable `Scene`, with every error at file:line:col.

Steps: read and parse (positions kept, yamlio.py), resolve ``extends``/``include``
(merge.py), validate with the pydantic models (diagnose.py), then run the rules that make
a scene unplayable — undefined names, unknown events, instant cycles (rules/check.py).
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import SceneError
from .diagnose import validate
from .merge import Merged, merge_tree, resolve
from .model import Scene
from .policy import TRUSTED, Policy
from .rules.check import semantic_errors
from .yamlio import parse


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
    merged = merge_tree(doc, base, [], policy)
    return _finish(merged, policy)


def load_with_positions(
    path: str | os.PathLike[str], *, policy: Policy | None = None
) -> tuple[Scene, Merged]:
    policy = policy or TRUSTED
    merged = resolve(Path(path), policy)
    return _finish(merged, policy), merged


def _finish(merged: Merged, policy: Policy) -> Scene:
    scene = validate(merged)
    scene._policy = policy
    errors = semantic_errors(scene, merged, policy)
    if errors:
        raise SceneError(errors)
    return scene
