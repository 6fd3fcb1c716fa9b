"""`soundscape new`: scaffold a commented scene file that lints clean."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(p: argparse.ArgumentParser) -> None:
    from ..authoring.scaffold import templates

    p.add_argument("name", help="the scene's name (letters, digits, '-', '_', '.')")
    p.add_argument(
        "--from",
        dest="template",
        default="basic",
        choices=templates(),
        help="start from this template (default: basic)",
    )
    p.add_argument(
        "-o",
        "--output",
        help="file, or folder (an existing one, or ending in '/'), to write (default: ./NAME.yaml)",
    )
    p.add_argument("--force", action="store_true", help="overwrite an existing file")


def run(args: argparse.Namespace) -> int:
    from ..authoring.scaffold import scaffold
    from ..errors import ScaffoldError

    raw: str = args.output or f"{args.name}.yaml"
    out = Path(raw)
    if raw.endswith(("/", "\\")) or out.is_dir():
        out = out / f"{args.name}.yaml"
    try:
        written = scaffold(args.name, out, args.template, force=args.force)
    except ScaffoldError as e:
        print(f"soundscape new: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"soundscape new: cannot write {out}: {e.strerror or e}", file=sys.stderr)
        return 2
    print(f"wrote {written.scene} (from the '{args.template}' template)")
    if written.schema is not None:
        print(f"wrote {written.schema} (the JSON Schema your editor validates against)")
    print(f"next: soundscape lint {out}  ·  soundscape preview {out}")
    return 0
