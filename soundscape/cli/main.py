"""Entry point of `soundscape`: builds the argument parser, dispatches to a subcommand module.

Each subcommand module exposes ``add_parser(subparsers)`` and ``run(args) -> int``.
Nothing heavy (numpy, PyAV, livekit) is imported until a subcommand runs, so
`soundscape --help` starts fast.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from collections.abc import Sequence

# name → (module, one-line help). Modules are imported only when their command runs…
COMMANDS: dict[str, tuple[str, str]] = {
    "lint": ("soundscape.cli.lint", "check scene files: file:line:col diagnostics with rule codes"),
    "render": (
        "soundscape.cli.render",
        "render a scene offline under a scripted timeline to a WAV",
    ),
    "schema": ("soundscape.cli.schema", "print the JSON Schema of scene files"),
    "graph": ("soundscape.cli.graph", "draw a scene's states, transitions, timers and cues"),
    "demo": (
        "soundscape.cli.demo",
        "run a scripted agent call with a scene on a local LiveKit server",
    ),
    "new": ("soundscape.cli.new", "scaffold a new, commented scene file"),
    "preview": ("soundscape.cli.preview", "preview a scene live in the browser"),
    "cache": (
        "soundscape.cli.cache",
        "warm, show or clear the decoded-clip cache (e.g. in an image build)",
    ),
}


def _available() -> dict[str, tuple[str, str]]:
    out = {}
    for name, (mod, help_) in COMMANDS.items():
        if importlib.util.find_spec(mod) is not None:
            out[name] = (mod, help_)
    return out


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, tuple[str, str]]]:
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="soundscape",
        description="Declarative sound scenes for LiveKit voice agents.",
        epilog="Run 'soundscape COMMAND --help' for a command's options. Docs: docs/ in the repository.",
    )
    parser.add_argument("--version", action="version", version=f"soundscape {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    available = _available()
    for name, (_mod, help_) in available.items():
        # …but their options are needed for `soundscape CMD --help`, so parsers are added
        # lazily below, only for the command actually named.
        sub.add_parser(name, help=help_, add_help=False)
    return parser, available


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser, available = build_parser()
    if not argv or argv[0] not in available:
        args = parser.parse_args(argv)  # prints help/usage/errors and exits
        parser.print_help()
        return 2
    name = argv[0]
    module = importlib.import_module(available[name][0])
    cmd_parser = argparse.ArgumentParser(prog=f"soundscape {name}", description=available[name][1])
    module.add_parser(cmd_parser)
    args = cmd_parser.parse_args(argv[1:])
    try:
        return int(module.run(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
