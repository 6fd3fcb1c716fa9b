"""`soundscape schema`: print the JSON Schema of scene files (for editors' autocomplete)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", type=Path, help="write to this file instead of stdout")


def run(args: argparse.Namespace) -> int:
    from ..scene.model import schema

    text = json.dumps(schema(), indent=2) + "\n"
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0
