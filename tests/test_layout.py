"""The package's layout holds: data flows one way through the stages, and nothing circles.

Every module under soundscape/ is parsed (nothing is imported), and every import of one of our
modules — at module level and inside functions — is checked against the stage order of
docs/architecture.md:

    errors/_lazy → audio → scene → engine → runtime | offline → lint → authoring → demo → cli

A module may import its own stage or an earlier one; runtime and offline not each other;
testing/ (scripted stand-ins) nothing of ours but errors; the root __init__/__main__ are the
public facade and may import anything. Module-level imports must not form a cycle.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from support.paths import ROOT

STAGES = (
    ("errors", "_lazy"),
    ("audio",),
    ("scene",),
    ("engine",),
    ("runtime", "offline"),
    ("lint",),
    ("authoring",),
    ("demo",),
    ("cli",),
)
STAGE = {part: i for i, parts in enumerate(STAGES) for part in parts}
FACADE = {"__init__", "__main__"}
LOOSE_ALLOWED = {"__init__.py", "__main__.py", "_lazy.py", "errors.py"}

# Module-level cycles known to be on their way out, each named with who removes it. An entry
# that no longer cycles fails the test, so this list only shrinks.
KNOWN_CYCLES: set[frozenset[str]] = set()


@dataclass(frozen=True)
class Import:
    src: str  # the importing module
    dst: str  # the module imported (`from pkg import mod` resolved to pkg.mod)
    where: str  # file:line
    top: bool  # runs when the module is imported (not in a function, not TYPE_CHECKING-only)
    names: tuple[str, ...] = ()  # what `from X import ...` took from X itself


def modules(pkg: Path) -> dict[str, Path]:
    """Dotted name → file, for every module of the package at ``pkg``."""
    out = {}
    for path in sorted(pkg.rglob("*.py")):
        parts = path.relative_to(pkg.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING"
    )


def _walk(body: list[ast.stmt], top: bool) -> list[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import statement under ``body``, with whether it runs at import time."""
    found: list[tuple[ast.Import | ast.ImportFrom, bool]] = []
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append((node, top))
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found += _walk(node.body, False)
        elif isinstance(node, ast.If) and _type_checking(node):
            found += _walk(node.body, False)
            found += _walk(node.orelse, top)
        else:
            for field in ("body", "orelse", "finalbody"):
                sub = getattr(node, field, None)
                if isinstance(sub, list):
                    found += _walk([s for s in sub if isinstance(s, ast.stmt)], top)
            if isinstance(node, ast.Try | ast.TryStar):
                for h in node.handlers:
                    found += _walk(h.body, top)
    return found


def imports(pkg: Path) -> list[Import]:
    """Every import, anywhere in the package at ``pkg``, of one of its own modules."""
    mods = modules(pkg)
    root = pkg.name
    out = []
    for name, path in mods.items():
        here = name if _is_package(path) else name.rpartition(".")[0]
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node, top in _walk(tree.body, True):
            where = f"{path.relative_to(pkg.parent)}:{node.lineno}"
            names: tuple[str, ...] = ()
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                if node.level:
                    base = here.split(".")
                    base = base[: len(base) - node.level + 1]
                    mod = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    mod = node.module or ""
                targets = [
                    f"{mod}.{a.name}" if f"{mod}.{a.name}" in mods else mod for a in node.names
                ]
                names = tuple(a.name for a in node.names if f"{mod}.{a.name}" not in mods)
            for t in targets:
                while t and t not in mods and "." in t:
                    t = t.rpartition(".")[0]  # `import a.b.c` of a name inside a.b
                if t in mods and (t == root or t.startswith(root + ".")) and t != name:
                    imp = Import(name, t, where, top, names)
                    if imp not in out:  # `from .a import x, y`: one import of a
                        out.append(imp)
    return out


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def stage_violations(pkg: Path) -> list[str]:
    bad = []
    for imp in imports(pkg):
        src, dst = _part(imp.src), _part(imp.dst)
        if src == dst or src in FACADE:
            continue
        if src == "testing":
            if dst != "errors":
                bad.append(f"{imp.where}: testing/ imports {imp.dst} (only errors is allowed)")
            continue
        if dst == "testing":
            continue  # stand-ins that depend on nothing of ours: anyone may use them
        if dst in FACADE and imp.names and set(imp.names) <= {"__version__"}:
            continue  # the version is the package's own, not a name re-exported from a stage
        if dst in FACADE:
            bad.append(f"{imp.where}: {imp.src} imports the public facade {imp.dst}")
            continue
        if src not in STAGE or dst not in STAGE:
            unknown = src if src not in STAGE else dst
            bad.append(f"{imp.where}: '{unknown}' has no stage: add it to STAGES")
            continue
        if {src, dst} == {"runtime", "offline"}:
            bad.append(f"{imp.where}: {imp.src} imports {imp.dst} (runtime and offline are apart)")
        elif STAGE[dst] > STAGE[src]:
            bad.append(f"{imp.where}: {imp.src} ({src}) imports {imp.dst} ({dst}), a later stage")
    return bad


def cycles(pkg: Path) -> list[tuple[frozenset[str], list[Import]]]:
    """Strongly connected components (more than one module) of the module-level imports."""
    edges: dict[str, list[Import]] = {}
    for imp in imports(pkg):
        if imp.top:
            edges.setdefault(imp.src, []).append(imp)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[frozenset[str]] = []

    def visit(v: str) -> None:  # Tarjan
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for e in edges.get(v, []):
            if e.dst not in index:
                visit(e.dst)
                low[v] = min(low[v], low[e.dst])
            elif e.dst in on:
                low[v] = min(low[v], index[e.dst])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(frozenset(comp))

    for v in sorted(modules(pkg)):
        if v not in index:
            visit(v)
    return [(c, [e for m in sorted(c) for e in edges.get(m, []) if e.dst in c]) for c in found]


def loose_modules(pkg: Path) -> list[str]:
    return sorted(
        str(p.relative_to(pkg.parent)) for p in pkg.glob("*.py") if p.name not in LOOSE_ALLOWED
    )


# ---------------------------------------------------------------------------- the package

PKG = ROOT / "soundscape"


def test_imports_only_go_to_the_same_or_an_earlier_stage():
    bad = stage_violations(PKG)
    assert not bad, "imports against the stage order:\n" + "\n".join(bad)


def test_no_cycles_among_module_level_imports():
    found = {c: e for c, e in cycles(PKG)}
    gone = KNOWN_CYCLES - set(found)
    assert not gone, f"no longer a cycle, remove from KNOWN_CYCLES: {sorted(map(sorted, gone))}"
    new = {c: e for c, e in found.items() if c not in KNOWN_CYCLES}
    report = [
        " <-> ".join(sorted(c)) + "\n" + "\n".join(f"  {e.where}: imports {e.dst}" for e in es)
        for c, es in new.items()
    ]
    assert not new, "module-level import cycles:\n" + "\n".join(report)


def test_no_loose_modules_at_the_top_of_the_package():
    loose = loose_modules(PKG)
    assert not loose, (
        "modules belong in the package of their stage (see docs/architecture.md): "
        + ", ".join(loose)
    )


# ------------------------------------------------------------ the checks catch what they should


def _tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = root / "soundscape" / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    return root / "soundscape"


def test_a_backward_import_is_named_with_its_file_and_line(tmp_path):
    pkg = _tree(
        tmp_path,
        {
            "__init__.py": "from .engine import core\n",
            "audio/__init__.py": "",
            "audio/mix.py": "import math\n\n\ndef f():\n    from ..engine.core import X\n",
            "engine/__init__.py": "",
            "engine/core.py": "from ..audio import mix\nX = 1\n",
            "runtime/__init__.py": "from ..offline import render\n",
            "offline/__init__.py": "",
            "offline/render.py": "",
            "testing/__init__.py": "from ..audio import mix\n",
        },
    )
    assert stage_violations(pkg) == [
        "soundscape/audio/mix.py:5: soundscape.audio.mix (audio) imports "
        "soundscape.engine.core (engine), a later stage",
        "soundscape/runtime/__init__.py:1: soundscape.runtime imports "
        "soundscape.offline.render (runtime and offline are apart)",
        "soundscape/testing/__init__.py:1: testing/ imports soundscape.audio.mix "
        "(only errors is allowed)",
    ]


def test_a_module_level_cycle_is_found_and_a_function_local_one_is_not(tmp_path):
    pkg = _tree(
        tmp_path,
        {
            "__init__.py": "",
            "scene/__init__.py": "",
            "scene/a.py": "from . import b\n",
            "scene/b.py": "from .a import thing\n",
            "scene/c.py": "from .d import x\n",
            "scene/d.py": "def f():\n    from . import c\n",
            "scene/e.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import f\n",
            "scene/f.py": "from . import e\n",
            "loose.py": "",
        },
    )
    [(members, edges)] = cycles(pkg)
    assert members == {"soundscape.scene.a", "soundscape.scene.b"}
    assert sorted(e.where for e in edges) == ["soundscape/scene/a.py:1", "soundscape/scene/b.py:1"]
    assert loose_modules(pkg) == ["soundscape/loose.py"]
