"""`soundscape lint PATH...`: check scene files and report file:line:col diagnostics.

Exit status: 0 clean (infos allowed), 1 errors (or warnings with ``--strict``),
2 usage or I/O problems (a path that does not exist, an unknown rule).
"""

from __future__ import annotations

import argparse
import difflib
import json
import math
import os
import sys
from pathlib import Path
from typing import TextIO


def add_parser(p: argparse.ArgumentParser) -> None:
    p.epilog = (
        "Exit status: 0 clean, 1 errors (or warnings with --strict), 2 usage or I/O problems. "
        "Silence one finding with a comment on its line or the line above: "
        "'# soundscape: disable=SC301'. Rules: docs/lint-rules.md."
    )
    p.add_argument(
        "paths",
        nargs="*",
        type=Path,
        metavar="PATH",
        help="scene files (always linted) or folders: their *.yaml/*.yml files that look like "
        "scenes (a top-level 'version:' with scene keys such as 'layers:' or 'sounds:', or the "
        "scene.schema.json modeline); other YAML files are skipped and counted",
    )
    p.add_argument(
        "--all-yaml",
        action="store_true",
        help="in folders, lint every *.yaml/*.yml file, scene-like or not",
    )
    p.add_argument(
        "--format",
        choices=("text", "json", "github", "sarif"),
        default="text",
        help="output format (default: text)",
    )
    p.add_argument("--strict", action="store_true", help="exit 1 on warnings too")
    p.add_argument(
        "--no-assets",
        action="store_true",
        help="do not decode audio (skips missing/corrupt/silent files, seams and levels)",
    )
    p.add_argument(
        "--disable",
        action="append",
        default=[],
        metavar="RULE",
        help="switch off a rule by code or name (repeatable, or comma-separated)",
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="RULE.OPTION=VALUE",
        help="change a rule's threshold, e.g. --set bed-inaudible.max-lu=40 (repeatable; "
        "the options are listed with each rule in docs/lint-rules.md)",
    )
    p.add_argument(
        "--untrusted",
        action="store_true",
        help="lint as a scene you did not write: files only inside --asset-root, size limits",
    )
    p.add_argument(
        "--asset-root",
        action="append",
        type=Path,
        default=[],
        metavar="DIR",
        help="with --untrusted: a folder the scene may read audio from (repeatable)",
    )
    p.add_argument("--list-rules", action="store_true", help="print every rule and exit")
    p.add_argument(
        "--list-builtins", action="store_true", help="print the built-in clip names and exit"
    )
    p.add_argument(
        "--jobs",
        "-j",
        type=int,
        default=None,
        metavar="N",
        help="worker processes for many files (default: the CPU cores, at most 4; 1: none)",
    )
    p.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colored text output (auto: only on a terminal, and not when NO_COLOR is set)",
    )


def run(args: argparse.Namespace) -> int:
    out: TextIO = sys.stdout
    if args.list_rules:
        return _list_rules(args.format, out)
    if args.list_builtins:
        from ..scene.sources import builtin_names

        out.write("".join(f"builtin:{n}\n" for n in builtin_names()))
        return 0
    if not args.paths:
        return _usage("give at least one scene file or folder (e.g. `soundscape lint scenes/`)")

    from ..lint.runner import LintOptions, rule_by_id, scan

    disabled: set[str] = set()
    for item in args.disable:
        for ident in filter(None, (x.strip() for x in item.split(","))):
            rule = rule_by_id(ident)
            if rule is None:
                return _usage(f"unknown rule '{ident}'{_suggest(ident)} (see --list-rules)")
            disabled.add(rule.code)
    extra: dict[str, float] = {}
    for item in args.set:
        got = _option(item)
        if isinstance(got, str):
            return _usage(got)
        extra[got[0]] = got[1]
    missing = [p for p in args.paths if not p.exists()]
    if missing:
        return _usage("; ".join(f"'{p}' does not exist" for p in missing))
    files, skipped = scan(args.paths, all_yaml=args.all_yaml)
    if not files:
        where = ", ".join(str(p) for p in args.paths)
        if not skipped:
            return _usage(f"no *.yaml or *.yml scene files in {where}")
        k = len(skipped)
        return _usage(
            f"no scene files in {where} ({k} YAML file{'s' if k != 1 else ''} skipped: "
            f"{'they do' if k != 1 else 'it does'} not look like a scene; name "
            f"{'them' if k != 1 else 'it'} on the command line or pass --all-yaml to lint "
            f"{'them' if k != 1 else 'it'})"
        )

    from ..lint import formats
    from ..lint.runner import lint_files
    from ..scene.policy import TRUSTED, Policy

    policy = Policy.untrusted(args.asset_root) if args.untrusted else TRUSTED
    options = LintOptions(assets=not args.no_assets, disabled=disabled, extra=extra, policy=policy)
    diags = lint_files(files, options, jobs=args.jobs)  # None: as many as the cores
    report = formats.Report([str(f) for f in files], diags, skipped=[str(f) for f in skipped])
    out.write(formats.render(report, args.format, color=_color(args.color, out)))
    failing = {"error", "warning"} if args.strict else {"error"}
    return 1 if any(d.severity in failing for d in diags) else 0


def _option(item: str) -> tuple[str, float] | str:
    """``RULE.OPTION=VALUE`` → the `LintOptions.extra` key ("NAME.OPTION") and value, or
    what is wrong with it."""
    from ..lint.runner import rule_by_id

    key, eq, value = item.partition("=")
    ident, dot, option = key.strip().rpartition(".")
    if not eq or not dot:
        return f"--set takes RULE.OPTION=VALUE (e.g. bed-inaudible.max-lu=40), got '{item}'"
    rule = rule_by_id(ident)
    if rule is None:
        return f"unknown rule '{ident}'{_suggest(ident)} (see --list-rules)"
    if option not in rule.options:
        known = ", ".join(rule.options) or "none"
        return f"rule {rule.code} {rule.name} has no option '{option}' (its options: {known})"
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        return f"--set {key}: expected a number, got '{value.strip()}'"
    return f"{rule.name}.{option}", number


def _list_rules(fmt: str, out: TextIO) -> int:
    from ..scene.rules import ALL_RULES

    if fmt == "json":
        rows = [
            {"code": r.code, "name": r.name, "severity": r.severity, "summary": r.summary}
            for r in ALL_RULES
        ]
        out.write(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
        return 0
    width = max(len(r.name) for r in ALL_RULES)
    for r in ALL_RULES:
        out.write(f"{r.code}  {r.name:<{width}}  {r.severity:<7}  {r.summary}\n")
    return 0


def _suggest(ident: str) -> str:
    from ..scene.rules import ALL_RULES

    known = [r.code for r in ALL_RULES] + [r.name for r in ALL_RULES]
    close = difflib.get_close_matches(ident, known, n=1)
    return f"; did you mean '{close[0]}'?" if close else ""


def _usage(message: str) -> int:
    sys.stderr.write(f"soundscape lint: error: {message}\n")
    return 2


def _color(mode: str, stream: TextIO) -> bool:
    if mode != "auto":
        return mode == "always"
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())
