"""Render lint diagnostics as text (with source and caret), JSON, GitHub annotations or SARIF."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import Diagnostic
from ..scene.rules import ALL_RULES
from ..scene.rules.rule import Rule
from ..scene.yamlio import source_lines

FORMATS = ("text", "json", "github", "sarif")
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"

_SEVERITIES = ("error", "warning", "info")
_COLORS = {"error": "1;31", "warning": "1;33", "info": "1;36", "dim": "2", "bold": "1"}
# One token under the caret: a quoted string, or a run of plain characters.
_TOKEN_RE = re.compile(
    r"\"(?:[^\"\\]|\\.)*\"|'(?:[^']|'')*'|[^\s,\[\]{}#:]+(?::(?!\s|$)[^\s,\[\]{}#:]+)*"
)


@dataclass
class Report:
    """What one lint run found: the files checked and every diagnostic, in order."""

    files: list[str]
    diagnostics: list[Diagnostic]
    texts: dict[str, str] = field(default_factory=dict)
    """Known file contents, to show source lines (others are read from disk)."""
    skipped: list[str] = field(default_factory=list)
    """YAML files in the named folders that were not linted: they do not look like scenes."""

    def count(self, severity: str) -> int:
        return sum(1 for d in self.diagnostics if d.severity == severity)

    def line(self, file: str, line: int) -> str | None:
        if file not in self.texts:
            try:
                self.texts[file] = Path(file).read_text("utf-8-sig", errors="replace")
            except OSError:
                self.texts[file] = ""
        lines = source_lines(self.texts[file])
        return lines[line - 1] if 0 < line <= len(lines) else None


def render(report: Report, fmt: str, *, color: bool = False) -> str:
    """The whole report in one of `FORMATS`."""
    renderers: dict[str, Callable[[Report], str]] = {
        "text": lambda r: text(r, color=color),
        "json": to_json,
        "github": github,
        "sarif": sarif,
    }
    return renderers[fmt](report)


# --- text -------------------------------------------------------------------------


def text(report: Report, *, color: bool = False) -> str:
    """``file:line:col: severity: message [CODE]``, the source line, a caret, the hint; a count."""

    def paint(s: str, style: str) -> str:
        return f"\x1b[{_COLORS[style]}m{s}\x1b[0m" if color else s

    out: list[str] = []
    for d in report.diagnostics:
        out.append(
            f"{paint(_safe(f'{_rel(d.pos.file)}:{d.pos.line}:{d.pos.col}'), 'bold')}: "
            f"{paint(d.severity, d.severity)}: {_safe(d.message)} "
            f"{paint(f'[{d.code}]', 'dim')}"
        )
        src = report.line(d.pos.file, d.pos.line)
        if src is not None:
            src = _safe_line(src)
            num = str(d.pos.line)
            pad = " " * len(num)
            out.append(f"  {paint(num + ' |', 'dim')} {src}")
            out.append(f"  {paint(pad + ' |', 'dim')} {caret(src, d.pos.col, paint, d.severity)}")
        if d.hint:
            out.append(f"  {paint('hint', 'bold')}: {_safe(d.hint)}")
    out.append(summary(report))
    return "\n".join(out) + "\n"


def _safe(s: str) -> str:
    """Escape control characters so a hostile scene cannot drive the terminal."""
    return "".join(c if c.isprintable() or c == "\t" else repr(c)[1:-1] for c in s)


def _safe_line(s: str) -> str:
    """Like `_safe`, but one column per character so the caret still lines up."""
    return "".join(c if c.isprintable() or c == "\t" else "\ufffd" for c in s)


def caret(src: str, col: int, paint: Callable[[str, str], str], style: str) -> str:
    """Spaces up to ``col`` (keeping tabs so it lines up), then ``^~~~`` under the token there."""
    i = max(0, min(col - 1, len(src)))
    lead = "".join(c if c == "\t" else " " for c in src[:i])
    m = _TOKEN_RE.match(src, i)
    width = max(1, len(m.group(0)) if m else 1)
    return lead + paint("^" + "~" * (width - 1), style)


def summary(report: Report) -> str:
    n = len(report.files)
    files = f"{n} file{'s' if n != 1 else ''}"
    k = len(report.skipped)
    skipped = f" ({k} YAML file{'s' if k != 1 else ''} skipped: not scenes)" if k else ""
    counts = [(report.count(s), s) for s in _SEVERITIES]
    if not any(c for c, _ in counts):
        return f"{files} checked: no problems found{skipped}."
    parts = [f"{c} {s}{'s' if c != 1 else ''}" for c, s in counts if c]
    return f"{files} checked: " + ", ".join(parts) + f"{skipped}."


# --- json -------------------------------------------------------------------------


def to_json(report: Report) -> str:
    data = {
        "version": 1,
        "files": report.files,
        "skipped": report.skipped,
        "summary": {s: report.count(s) for s in _SEVERITIES},
        "diagnostics": [
            {
                "file": d.pos.file,
                "line": d.pos.line,
                "col": d.pos.col,
                "severity": d.severity,
                "code": d.code,
                "rule": d.rule or _rule_name(d.code),
                "message": d.message,
                "hint": d.hint,
            }
            for d in report.diagnostics
        ],
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


# --- GitHub Actions workflow commands --------------------------------------------

_GH_LEVEL = {"error": "error", "warning": "warning", "info": "notice"}


def _gh_data(s: str) -> str:
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_prop(s: str) -> str:
    return _gh_data(s).replace(":", "%3A").replace(",", "%2C")


def github(report: Report) -> str:
    """One ``::error file=…,line=…,col=…,title=CODE::message`` line per diagnostic."""
    out = []
    for d in report.diagnostics:
        msg = d.message + (f"\nhint: {d.hint}" if d.hint else "")
        out.append(
            f"::{_GH_LEVEL[d.severity]} file={_gh_prop(_rel(d.pos.file))},line={d.pos.line},"
            f"col={d.pos.col},title={_gh_prop(d.code)}::{_gh_data(msg)}"
        )
    return "".join(line + "\n" for line in out)


# --- SARIF 2.1.0 -------------------------------------------------------------------

_SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note"}


def sarif(report: Report, rules: Sequence[Rule] = ALL_RULES) -> str:
    from .. import __version__

    index = {r.code: i for i, r in enumerate(rules)}
    results: list[dict[str, Any]] = []
    for d in report.diagnostics:
        text = d.message + (f" (hint: {d.hint})" if d.hint else "")
        res: dict[str, Any] = {
            "ruleId": d.code,
            "level": _SARIF_LEVEL[d.severity],
            "message": {"text": text},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": _uri(d.pos.file)},
                        "region": {"startLine": d.pos.line, "startColumn": d.pos.col},
                    }
                }
            ],
        }
        if d.code in index:
            res["ruleIndex"] = index[d.code]
        results.append(res)
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "soundscape",
                        "version": __version__,
                        "rules": [
                            {
                                "id": r.code,
                                "name": r.name,
                                "shortDescription": {"text": r.summary},
                                "help": {"text": f"See docs/lint-rules.md, section {r.code}."},
                                "defaultConfiguration": {"level": _SARIF_LEVEL[r.severity]},
                            }
                            for r in rules
                        ],
                    }
                },
                "columnKind": "unicodeCodePoints",
                "artifacts": [{"location": {"uri": _uri(f)}} for f in report.files],
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


def _rel(file: str) -> str:
    """A path relative to the working directory when it lies inside it (as CI tools expect)."""
    try:
        rel = os.path.relpath(file)
    except ValueError:  # another drive on Windows
        return file
    return file if rel.startswith("..") else rel


def _uri(file: str) -> str:
    rel = _rel(file)
    if os.path.isabs(rel):
        return Path(rel).as_uri()
    return Path(rel).as_posix()


def _rule_name(code: str) -> str | None:
    for r in ALL_RULES:
        if r.code == code:
            return r.name
    return None
