"""Run the rules over scene files and collect diagnostics (suppressions applied)."""

from __future__ import annotations

import difflib
import logging
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import Diagnostic, SceneError
from ..scene.diagnose import validate
from ..scene.merge import resolve
from ..scene.model import Scene
from ..scene.policy import TRUSTED, Policy
from ..scene.rules import ALL_RULES, BY_CODE, BY_NAME
from ..scene.rules.check import run_guarded, suppress
from ..scene.rules.rule import Context, Rule

SCENE_SUFFIXES = (".yaml", ".yml")
log = logging.getLogger("soundscape")


@dataclass
class LintOptions:
    assets: bool = True
    """Decode referenced audio (missing, corrupt, silent files, seams, levels)."""
    disabled: set[str] = field(default_factory=set)
    """Rule codes or names switched off for the whole run."""
    extra: dict[str, Any] = field(default_factory=dict)
    policy: Policy = TRUSTED
    """`Policy.untrusted(...)` lints a scene as one you did not write (`--untrusted`)."""


PARALLEL_FROM = 16
"""Below this many files one process is quicker than starting workers."""

_work: tuple[list[Path], LintOptions] | None = None  # what forked workers lint (inherited)


def lint_files(
    paths: Sequence[Path], options: LintOptions | None = None, *, jobs: int | None = 1
) -> list[Diagnostic]:
    """`lint_file` over many files, in order; on several cores, in forked worker processes.

    Parsing YAML in pure Python is most of the time, so 100 scenes take ~1.5 s on one core;
    ``jobs`` (``None``: the cores, at most 4; the CLI's default) splits them once there are
    `PARALLEL_FROM` or more. Workers are forked, so they start with everything imported
    (which is also why the default here is 1: forking a process that runs other threads,
    such as an agent's, is not safe); where fork is not available, or a worker fails, the
    files are linted here instead.
    """
    options = options or LintOptions()
    files = list(paths)
    if jobs is None:
        jobs = min(os.cpu_count() or 1, 4)
    jobs = min(jobs, len(files) // (PARALLEL_FROM // 2) or 1)
    if jobs > 1 and len(files) >= PARALLEL_FROM:
        parts = _in_workers(files, options, jobs)
        if parts is not None:
            return [d for part in parts for d in part]
    return [d for f in files for d in lint_file(f, options)]


def _in_workers(
    files: list[Path], options: LintOptions, jobs: int
) -> list[list[Diagnostic]] | None:
    global _work
    import multiprocessing as mp  # here: a one-file lint must not pay for importing it
    from concurrent.futures import ProcessPoolExecutor

    if "fork" not in mp.get_all_start_methods():
        return None
    _work = (files, options)
    try:
        with ProcessPoolExecutor(jobs, mp_context=mp.get_context("fork")) as pool:
            chunk = max(1, len(files) // (jobs * 4))
            return list(pool.map(_lint_index, range(len(files)), chunksize=chunk))
    except Exception as e:  # a broken pool must not cost the user their lint
        log.debug("lint: workers failed (%s); linting in this process", e)
        return None
    finally:
        _work = None


def _lint_index(i: int) -> list[Diagnostic]:
    assert _work is not None
    files, options = _work
    return lint_file(files[i], options)


def lint_file(path: Path, options: LintOptions | None = None) -> list[Diagnostic]:
    """All diagnostics for one scene file, sorted by position."""
    options = options or LintOptions()
    texts: dict[str, str] = {}
    try:
        merged = resolve(path, options.policy)
        texts = merged.texts
        scene = validate(merged)
    except SceneError as e:
        return _finish(e.diagnostics, texts or _read(path), options)
    scene._policy = options.policy
    ctx = Context(scene, merged, {**options.extra, "policy": options.policy})
    out: list[Diagnostic] = []
    for rule in ALL_RULES:
        if rule.check is None or _off(rule, options):
            continue
        if rule.phase == "assets" and not options.assets:
            continue
        out.extend(run_guarded(rule, ctx))
    return _finish(out, texts, options)


def _read(path: Path) -> dict[str, str]:
    try:
        return {str(path): path.read_text("utf-8", errors="replace")}
    except OSError:
        return {}


def _off(rule: Rule, options: LintOptions) -> bool:
    return rule.code in options.disabled or rule.name in options.disabled


def _finish(
    diags: Iterable[Diagnostic], texts: dict[str, str], options: LintOptions
) -> list[Diagnostic]:
    kept = [
        d
        for d in diags
        if not (d.code in options.disabled or (d.rule and d.rule in options.disabled))
    ]
    return sorted(suppress(kept, texts), key=lambda d: (d.pos, d.code))


_MODELINE_RE = re.compile(r"^#\s*yaml-language-server:\s*\$schema=\S*scene\.schema\.json\s*$")
# A key at the start of a line: the top level of a block mapping (quoted or plain).
_TOP_KEY_RE = re.compile(
    r"^(?:\"([^\"\n]*)\"|'([^'\n]*)'|([A-Za-z_][\w.-]*))[ \t]*:(?=[ \t]|$)", re.M
)
_GENERIC_KEYS = frozenset({"version", "name", "description"})  # other YAML files use them too
_SCENE_KEYS = frozenset(Scene.model_fields) - _GENERIC_KEYS
SNIFF_BYTES = 1_000_000
"""How much of a file `looks_like_scene` reads (the loader refuses larger scenes anyway)."""


def looks_like_scene(text: str) -> bool:
    """Whether YAML text is a scene, by a look at its text (no parsing): the
    ``# yaml-language-server: $schema=…scene.schema.json`` modeline in its first lines, or
    a top-level ``version:`` with at least one scene key (``sounds``, ``layers``,
    ``states``, ``transitions``, ``triggers``, ``scatter``, ``extends``, ``include``,
    ``master``, ``initial``, ``follow_agent``, or a near miss such as ``layer``) and no
    more other top-level keys than scene keys — so a docker-compose file's ``version`` and
    ``include`` do not make it a scene.
    """
    text = text.removeprefix("\ufeff")
    if any(_MODELINE_RE.match(line.strip()) for line in text.splitlines()[:10]):
        return True
    keys = {next(g for g in m.groups() if g is not None) for m in _TOP_KEY_RE.finditer(text)}
    if "version" not in keys:
        return False
    keys -= _GENERIC_KEYS
    # A near miss (`layer:`, `sound:`) counts: the linter is there to say "did you mean".
    scene = sum(1 for k in keys if k in _SCENE_KEYS or _near_scene_key(k))
    return scene > 0 and scene >= len(keys) - scene


def _near_scene_key(key: str) -> bool:
    return bool(difflib.get_close_matches(key, _SCENE_KEYS, n=1, cutoff=0.8))


def _sniff(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            head = f.read(SNIFF_BYTES)
    except OSError:
        return True  # cannot tell: lint it, and SC003 says why it cannot be read
    return looks_like_scene(head.decode("utf-8", errors="replace"))


def scan(paths: Iterable[Path], *, all_yaml: bool = False) -> tuple[list[Path], list[Path]]:
    """The files to lint, and the YAML files skipped in folders because they are not scenes.

    A file named directly is always linted. Inside a named folder, the ``*.yaml``/``*.yml``
    files that `looks_like_scene` accepts (every one with ``all_yaml``); hidden folders
    (``.git``, ``.venv``…) are skipped, and a file named twice is linted once.
    """
    out: list[Path] = []
    skipped: list[Path] = []
    for p in paths:
        if p.is_dir():
            for f in sorted(
                f
                for f in p.rglob("*")
                if f.suffix in SCENE_SUFFIXES
                and f.is_file()
                and not any(part.startswith(".") for part in f.relative_to(p).parts[:-1])
            ):
                (out if all_yaml or _sniff(f) else skipped).append(f)
        else:
            out.append(p)
    seen: set[Path] = set()
    unique = []
    for f in out:
        key = f.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(f)
    rest = {f.resolve(): f for f in skipped if f.resolve() not in seen}
    return unique, list(rest.values())


def find_scenes(paths: Iterable[Path], *, all_yaml: bool = False) -> list[Path]:
    """The files `scan` would lint."""
    return scan(paths, all_yaml=all_yaml)[0]


def rule_by_id(ident: str) -> Rule | None:
    return BY_CODE.get(ident.upper()) or BY_NAME.get(ident)
